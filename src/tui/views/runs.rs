//! The home screen: every run with state, progress, losses, speed and ETA; the selected run's loss
//! curves, newest sample and events.

use super::super::app::App;
use super::super::preview::Previews;
use super::super::series::prepare;
use super::super::widgets::chart::{magnitude, Curve, LossChart};
use super::super::widgets::list::Selectable;
use super::{block, image_or_note, wrap};
use crate::run::list::UserState;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{ListItem, Paragraph};
use ratatui::Frame;

fn state_color(s: UserState) -> Color {
    match s {
        UserState::Running => Color::Green,
        UserState::Paused => Color::Yellow,
        UserState::Finished => Color::Cyan,
        UserState::Crashed | UserState::Failed | UserState::Cancelled => Color::Red,
        UserState::Queued | UserState::Requeued => Color::Blue,
        UserState::Timeout | UserState::Preempted => Color::LightRed,
        UserState::Stopped => Color::Gray,
    }
}

fn eta(secs: f64) -> String {
    let s = secs as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s / 60 % 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

pub fn draw(app: &App, previews: &mut Previews, f: &mut Frame, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(48), Constraint::Percentage(52)]).areas(area);
    let [list_area, events_area] =
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(left);
    let [chart_area, image_area] =
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(right);

    let items: Vec<ListItem> = app
        .runs
        .iter()
        .map(|r| {
            let pct = if r.total_steps > 0 {
                100 * r.step / r.total_steps.max(1)
            } else {
                0
            };
            let series = app.series.get(&r.path);
            let speed = series.and_then(|s| s.speed());
            let tail = match (speed, r.state) {
                (Some(v), UserState::Running) if v > 0.0 => format!(
                    "{v:.2} st/s ETA {}",
                    eta(r.total_steps.saturating_sub(r.step) as f64 / v)
                ),
                _ => format!("{} ago", crate::run::clock::ago(r.updated)),
            };
            let mut names: Vec<&String> = r.losses.keys().filter(|k| !k.contains('/')).collect();
            crate::human::loss_order(&mut names);
            let losses: Vec<String> = names
                .iter()
                .map(|k| {
                    format!(
                        "{k}={}",
                        crate::human::loss(r.losses[k.as_str()].as_f64().unwrap_or(f64::NAN))
                    )
                })
                .collect();
            let state = if r.detail.is_empty() || r.state == UserState::Running {
                r.state.to_string()
            } else {
                format!("{} ({})", r.state, r.detail)
            };
            let mut lines = vec![Line::from(vec![
                Span::styled(
                    format!("{state:<8} "),
                    Style::default().fg(state_color(r.state)),
                ),
                Span::raw(format!("{} ({})", r.id, r.kind)),
            ])];
            if let Some(tag) = &r.sweep {
                lines.push(Line::from(Span::styled(
                    format!(
                        "  ├ sweep task {}: {}",
                        tag.index,
                        crate::launch::sweep::label(&tag.values)
                    ),
                    Style::default().fg(Color::Blue),
                )));
            }
            let progress = if r.not_started() {
                // a queued status knows no schedule: its steps are counted when it starts
                "  queued: steps -".to_string()
            } else {
                format!(
                    "  {}/{} {pct:>3}% {}{}",
                    r.step,
                    r.total_steps,
                    bar(pct, 10),
                    r.scale
                        .as_ref()
                        .map(|sc| format!(" {sc}"))
                        .unwrap_or_default()
                )
            };
            let width = list_area.width.saturating_sub(2) as usize;
            lines.extend(pack(progress, &losses, width).into_iter().map(Line::from));
            lines.push(Line::from(format!("  {tail}")));
            // a live CUDA run's GPU as its trainer sampled it (NVML), next to its images per
            // second, so a launch-bound run shows as such
            if r.alive() {
                if let Some(gpu) = r.gpu_text() {
                    lines.push(Line::from(Span::styled(
                        format!("  {gpu}"),
                        Style::default().fg(Color::Magenta),
                    )));
                }
            }
            ListItem::new(lines)
        })
        .collect();
    let title = if app.runs.is_empty() {
        "runs — none yet: press 2, pick a preset, Enter".to_string()
    } else {
        format!("runs ({})", app.runs.len())
    };
    f.render_widget(
        Selectable {
            title: &title,
            items,
            selected: Some(app.runs_tab.sel),
        },
        list_area,
    );

    let ev: Vec<Line> = app
        .events
        .iter()
        .rev()
        .take(events_area.height.saturating_sub(2) as usize)
        .rev()
        .map(|(t, k, m)| Line::from(format!("{} {k}: {m}", crate::run::clock::ago(*t))))
        .collect();
    f.render_widget(Paragraph::new(ev).block(block("events")), events_area);

    if let Some(id) = &app.runs_tab.compare {
        draw_compare(app, id, previews, f, chart_area, image_area);
        return;
    }
    // a video preset's newest temporal error, under the chart (wrapped, never cut)
    let flicker: Vec<Line> = app
        .events
        .iter()
        .rev()
        .find(|(_, k, _)| k == "temporal")
        .map(|(_, _, m)| wrap(&format!("flicker: {m}"), chart_area.width as usize))
        .unwrap_or_default()
        .into_iter()
        .map(Line::from)
        .collect();
    let rows = flicker.len() as u16;
    let chart_area = if rows > 0 && chart_area.height > rows + 4 {
        let [chart, line] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(rows)]).areas(chart_area);
        f.render_widget(Paragraph::new(flicker), line);
        chart
    } else {
        chart_area
    };
    draw_chart(app, f, chart_area);
    image_or_note(previews, f, image_area, "newest sample", app.sample());
}

/// One loss over all the sweep's runs (log scale, EMA as toggled), and their newest samples side by
/// side, each labelled with its grid values.
fn draw_compare(
    app: &App,
    id: &str,
    previews: &mut Previews,
    f: &mut Frame,
    chart: Rect,
    images: Rect,
) {
    let runs = app.sweep_runs(id);
    let loss = app.compare_loss_name();
    let width = chart.width.saturating_sub(10) as usize;
    let data: Vec<(String, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|r| {
            let name = r
                .sweep
                .as_ref()
                .map(|t| crate::launch::sweep::label(&t.values))
                .unwrap_or_default();
            let pts = match (&loss, app.series.get(&r.path)) {
                (Some(l), Some(s)) => s
                    .curves
                    .get(l)
                    .map(|c| prepare(c, app.runs_tab.view, width))
                    .unwrap_or_default(),
                _ => vec![],
            };
            (name, pts)
        })
        .collect();
    let title = format!(
        "sweep {id}: {}{}{} ([ ] loss, v back)",
        loss.as_deref().unwrap_or("no losses yet"),
        if app.runs_tab.view.log { " log10" } else { "" },
        if app.runs_tab.view.ema { " EMA" } else { "" },
    );
    let curves: Vec<Curve> = data
        .into_iter()
        .enumerate()
        .map(|(i, (n, pts))| (i, n, pts))
        .collect();
    f.render_widget(
        LossChart {
            curves: &curves,
            title,
            log: app.runs_tab.view.log,
            legend_pct: 70,
            sizes: None,
        },
        chart,
    );
    if runs.is_empty() {
        return;
    }
    let cells =
        Layout::horizontal(vec![Constraint::Ratio(1, runs.len() as u32); runs.len()]).split(images);
    for (r, area) in runs.iter().zip(cells.iter()) {
        let name = r
            .sweep
            .as_ref()
            .map(|t| crate::launch::sweep::label(&t.values))
            .unwrap_or_default();
        image_or_note(previews, f, *area, &name, app.sample_of(&r.path));
    }
}

/// A line with words added while they fit, then as many further lines as the rest need: every
/// loss is shown, in order.
fn pack(first: String, words: &[String], width: usize) -> Vec<String> {
    let mut lines = vec![first];
    for w in words {
        let last = lines.last_mut().expect("one line at least");
        if last.chars().count() + 1 + w.chars().count() > width && !last.trim().is_empty() {
            lines.push(" ".into());
        }
        let last = lines.last_mut().expect("one line at least");
        last.push(' ');
        last.push_str(w);
    }
    lines
}

fn bar(pct: u64, width: usize) -> String {
    let full = (pct as usize * width / 100).min(width);
    format!("[{}{}]", "#".repeat(full), ".".repeat(width - full))
}

fn draw_chart(app: &App, f: &mut Frame, area: Rect) {
    let Some(run) = app.selected_run() else {
        f.render_widget(Paragraph::new("").block(block("losses")), area);
        return;
    };
    let names = app.series_names();
    let width = area.width.saturating_sub(10) as usize;
    let shown: Vec<(usize, &String)> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !app.runs_tab.hidden.contains(*n))
        .collect();
    let flags = format!(
        "losses{}{}{}",
        if app.runs_tab.view.log { " log10" } else { "" },
        if app.runs_tab.view.ema { " EMA" } else { "" },
        if app.runs_tab.view.recent {
            " recent"
        } else {
            " all"
        }
    );
    let (curves, sizes): (Vec<Curve>, Vec<Option<f64>>) = match app.series.get(&run.path) {
        Some(s) => shown
            .iter()
            .map(|(i, n)| {
                let raw = &s.curves[*n];
                (
                    (
                        *i,
                        format!("F{} {n}", i + 1),
                        prepare(raw, app.runs_tab.view, width),
                    ),
                    magnitude(raw),
                )
            })
            .unzip(),
        None => (vec![], vec![]),
    };
    f.render_widget(
        LossChart {
            curves: &curves,
            title: flags,
            log: app.runs_tab.view.log,
            legend_pct: 60,
            sizes: Some(sizes),
        },
        area,
    );
}
