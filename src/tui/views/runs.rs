//! The home screen: every run with state, progress, losses, speed and ETA; the selected run's loss
//! curves, newest sample and events.

use super::super::app::App;
use super::super::preview::Previews;
use super::super::series::prepare;
use super::{block, image_or_note};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Chart, Dataset, GraphType, List, ListItem, ListState, Paragraph,
};
use ratatui::Frame;

const COLORS: [Color; 9] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::Green,
    Color::Red,
    Color::Blue,
    Color::LightCyan,
    Color::LightMagenta,
    Color::White,
];

fn state_color(s: &str) -> Color {
    match s {
        "running" => Color::Green,
        "paused" => Color::Yellow,
        "finished" => Color::Cyan,
        "crashed" | "failed" | "cancelled" => Color::Red,
        "queued" | "requeued" => Color::Blue,
        "timeout" | "preempted" => Color::LightRed,
        _ => Color::Gray,
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
            let tail = match (speed, r.state.as_str()) {
                (Some(v), "running") if v > 0.0 => format!(
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
            let state = if r.detail.is_empty() || r.state == "running" {
                r.state.to_string()
            } else {
                format!("{} ({})", r.state, r.detail)
            };
            let mut lines = vec![Line::from(vec![
                Span::styled(
                    format!("{state:<8} "),
                    Style::default().fg(state_color(r.state.as_str())),
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
    let mut state =
        ListState::default().with_selected((!app.runs.is_empty()).then_some(app.run_sel));
    let title = if app.runs.is_empty() {
        "runs — none yet: press 2, pick a preset, Enter".to_string()
    } else {
        format!("runs ({})", app.runs.len())
    };
    f.render_stateful_widget(
        List::new(items)
            .block(block(&title))
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
        list_area,
        &mut state,
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

    if let Some(id) = &app.compare {
        draw_compare(app, id, previews, f, chart_area, image_area);
        return;
    }
    draw_chart(app, f, chart_area);
    let sample = app.newest_sample();
    image_or_note(previews, f, image_area, "newest sample", sample.as_deref());
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
                    .map(|c| prepare(c, app.view, width))
                    .unwrap_or_default(),
                _ => vec![],
            };
            (name, pts)
        })
        .collect();
    let title = format!(
        "sweep {id}: {}{}{} ([ ] loss, v back)",
        loss.as_deref().unwrap_or("no losses yet"),
        if app.view.log { " log10" } else { "" },
        if app.view.ema { " EMA" } else { "" },
    );
    let curves: Vec<Curve> = data
        .into_iter()
        .enumerate()
        .map(|(i, (n, pts))| (i, n, pts))
        .collect();
    let c = curves_chart(&curves, Line::from(title), app.view.log, None, 70);
    f.render_widget(c, chart);
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
        let sample = super::super::load::newest_sample_of(&r.path);
        image_or_note(previews, f, *area, &name, sample.as_deref());
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

/// A loss series as drawn: its index (F-key), name and points.
type Curve = (usize, String, Vec<(f64, f64)>);

fn draw_chart(app: &App, f: &mut Frame, area: Rect) {
    let Some(run) = app.selected_run() else {
        f.render_widget(Paragraph::new("").block(block("losses")), area);
        return;
    };
    let names = app.series_names();
    let width = area.width.saturating_sub(10) as usize;
    let series = app.series.get(&run.path);
    let shown: Vec<(usize, &String)> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !app.hidden.contains(*n))
        .collect();
    let flags = format!(
        "losses{}{}{}",
        if app.view.log { " log10" } else { "" },
        if app.view.ema { " EMA" } else { "" },
        if app.view.recent { " recent" } else { " all" }
    );
    let Some(s) = series else {
        f.render_widget(
            curves_chart(&[], Line::from(flags), app.view.log, None, 60),
            area,
        );
        return;
    };
    // losses of very different sizes (style transfer's style ~1e9 next to content ~1e6 and tv)
    // each get a panel with their own axis; losses of one size share one
    let most = (area.height / 6).max(1) as usize;
    let groups = by_magnitude(
        &shown
            .iter()
            .map(|(_, n)| magnitude(&s.curves[*n]))
            .collect::<Vec<_>>(),
        most,
    );
    let curves: Vec<Curve> = shown
        .iter()
        .map(|(i, n)| {
            (
                *i,
                format!("F{} {n}", i + 1),
                prepare(&s.curves[*n], app.view, width),
            )
        })
        .collect();
    let x = x_bounds(&curves);
    if groups.len() <= 1 {
        f.render_widget(
            curves_chart(&curves, Line::from(flags), app.view.log, x, 60),
            area,
        );
        return;
    }
    let panels = Layout::vertical(vec![
        Constraint::Ratio(1, groups.len() as u32);
        groups.len()
    ])
    .split(area);
    for (k, (g, panel)) in groups.iter().zip(panels.iter()).enumerate() {
        // the names go in the panel's title, in their colours: a legend does not fit a small panel
        let mut title = vec![Span::raw(if k == 0 {
            format!("{flags}:")
        } else {
            String::new()
        })];
        let mine: Vec<Curve> = g
            .iter()
            .map(|&j| {
                let (i, name, pts) = &curves[j];
                title.push(Span::styled(
                    format!(" {name}"),
                    Style::default().fg(COLORS[i % COLORS.len()]),
                ));
                (*i, String::new(), pts.clone())
            })
            .collect();
        f.render_widget(
            curves_chart(&mine, Line::from(title), app.view.log, x, 60),
            *panel,
        );
    }
}

/// A curve's typical size: log10 of the median of its non-zero values (None: all zero).
fn magnitude(points: &[(f64, f64)]) -> Option<f64> {
    let mut v: Vec<f64> = points
        .iter()
        .map(|p| p.1.abs())
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2].log10())
}

/// Curves (by their sizes) grouped so that each group's sizes lie within 100× of one another,
/// the largest first, at most `most` groups (the smallest share the last); curves of no size
/// join the first group.
fn by_magnitude(sizes: &[Option<f64>], most: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i].is_some()).collect();
    order.sort_by(|&a, &b| sizes[b].unwrap_or(0.0).total_cmp(&sizes[a].unwrap_or(0.0)));
    let mut groups: Vec<(f64, Vec<usize>)> = vec![];
    for i in order {
        let m = sizes[i].unwrap_or(0.0);
        match groups.last_mut() {
            Some((top, g)) if *top - m <= 2.0 => g.push(i),
            _ => groups.push((m, vec![i])),
        }
    }
    while groups.len() > most.max(1) {
        let (_, last) = groups.pop().expect("more than one");
        groups.last_mut().expect("one left").1.extend(last);
    }
    let mut out: Vec<Vec<usize>> = groups.into_iter().map(|(_, g)| g).collect();
    let none: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i].is_none()).collect();
    match out.first_mut() {
        Some(g) => g.extend(none),
        None if !none.is_empty() => out.push(none),
        None => {}
    }
    for g in &mut out {
        g.sort_unstable();
    }
    out
}

/// The steps every curve spans, so that stacked panels line up.
fn x_bounds(curves: &[Curve]) -> Option<[f64; 2]> {
    let xs = curves.iter().flat_map(|c| c.2.iter().map(|p| p.0));
    let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    (lo <= hi).then_some([lo, hi])
}

/// A chart of curves (colour index, legend name, points) with bounds that hold them all, the step
/// on x (`x` where given) and the loss itself on y (also on the log10 scale). Curves without a
/// name are left out of the legend.
fn curves_chart<'a>(
    curves: &'a [Curve],
    title: Line<'a>,
    log: bool,
    x: Option<[f64; 2]>,
    legend_pct: u16,
) -> Chart<'a> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (_, _, pts) in curves {
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if let Some([a, b]) = x {
        (x0, x1) = (a, b);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + 1.0;
    }
    let datasets: Vec<Dataset> = curves
        .iter()
        .map(|(i, n, pts)| {
            let d = Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(COLORS[i % COLORS.len()]))
                .data(pts);
            if n.is_empty() {
                d
            } else {
                d.name(n.clone())
            }
        })
        .collect();
    let legend = Constraint::Percentage(legend_pct);
    Chart::new(datasets)
        .hidden_legend_constraints((legend, legend))
        .block(Block::default().borders(Borders::ALL).title(title))
        .x_axis(Axis::default().bounds([x0, x1]).labels(vec![
            Line::from(format!("{x0:.0}")),
            Line::from(format!("step {x1:.0}")),
        ]))
        .y_axis(Axis::default().bounds([y0, y1]).labels(vec![
            Line::from(y_label(y0, log)),
            Line::from(y_label(y1, log)),
        ]))
}

/// A y-axis label: the loss itself, also on the log10 scale (`2.69e8`, not `8.430`).
fn y_label(y: f64, log: bool) -> String {
    crate::human::loss(if log { 10f64.powf(y) } else { y })
}
