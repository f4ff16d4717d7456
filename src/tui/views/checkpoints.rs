//! Checkpoints of the selected run, their sample, and a translation with the selected one.

use super::super::app::App;
use super::super::preview::Previews;
use super::{block, image_or_note};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{List, ListItem, ListState};
use ratatui::Frame;

pub fn draw(app: &App, previews: &mut Previews, f: &mut Frame, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(35), Constraint::Percentage(65)]).areas(area);
    let run = app.selected_run();
    let items: Vec<ListItem> = app
        .checkpoints
        .iter()
        .map(|c| {
            let losses = run
                .and_then(|r| app.series.get(&r.path))
                .and_then(|s| {
                    s.curves
                        .iter()
                        .find(|(k, _)| !k.contains('/'))
                        .and_then(|(k, v)| {
                            v.iter()
                                .rev()
                                .find(|p| p.0 as u64 == c.step)
                                .map(|p| format!(" {k}={}", crate::human::loss(p.1)))
                        })
                })
                .unwrap_or_default();
            ListItem::new(format!(
                "step {:>8}  {:>7.1} MB  {}{losses}",
                c.step,
                c.bytes as f64 / 1e6,
                crate::run::clock::ago(c.time)
            ))
        })
        .collect();
    let title = format!(
        "checkpoints of {} — t translates",
        run.map(|r| r.id.as_str()).unwrap_or("(no run)")
    );
    let mut state =
        ListState::default().with_selected((!app.checkpoints.is_empty()).then_some(app.ck_sel));
    f.render_stateful_widget(
        List::new(items)
            .block(block(&title))
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
        left,
        &mut state,
    );
    match &app.translation {
        Some((input, outs)) => {
            let n = outs.len() as u32 + 1;
            let areas = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(right);
            image_or_note(previews, f, areas[0], "test input", Some(input));
            for (k, (step, out)) in outs.iter().enumerate() {
                image_or_note(
                    previews,
                    f,
                    areas[k + 1],
                    &format!("step {step}"),
                    out.is_file().then_some(out.as_path()),
                );
            }
        }
        None => {
            let ck = app.checkpoints.get(app.ck_sel);
            let img = ck.and_then(|c| {
                let own = c.path.join("image.png");
                if own.is_file() {
                    Some(own)
                } else {
                    run.map(|r| crate::run::RunDir::open(&r.path).sample_path(c.step))
                        .filter(|p| p.is_file())
                }
            });
            image_or_note(
                previews,
                f,
                right,
                "sample at this checkpoint",
                img.as_deref(),
            );
        }
    }
}
