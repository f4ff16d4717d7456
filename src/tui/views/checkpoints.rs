//! Checkpoints of the selected run, their sample, and translations of one test image with up to
//! two of them, shown large side by side (pix2pix: fake_B alone; CycleGAN: either direction; fast
//! style transfer: a test photo stylised); below them the published models (`published.rs`).

use super::super::app::App;
use super::super::preview::{Picture, Previews};
use super::super::widgets::list::Selectable;
use super::published;
use super::{block, image_or_note, wrap};
use crate::preset::Kind;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{ListItem, Paragraph};
use ratatui::Frame;

pub fn draw(app: &App, previews: &mut Previews, f: &mut Frame, area: Rect) {
    // the list and the explanation at least 44 columns wide where the terminal allows (at 80
    // columns, 44 of them), the images the rest
    let lw = (area.width * 7 / 20).max(44.min(area.width * 11 / 20));
    let [left, right] =
        Layout::horizontal([Constraint::Length(lw), Constraint::Min(1)]).areas(area);
    let inner = left.width.saturating_sub(2) as usize;
    let run = app.selected_run();
    let kind = run.map(|r| r.kind);
    let model = app.selected_model();
    let how_text = match model {
        Some(m) => published::how(m),
        None => how(app, kind),
    };
    // the explanation wrapped here, and as tall as it needs (leaving the lists 5 rows)
    let how_lines: Vec<Line> = how_text
        .iter()
        .flat_map(|l| wrap(l, inner))
        .map(Line::from)
        .collect();
    let how_height = (how_lines.len() as u16 + 2).min(left.height.saturating_sub(5));
    let [lists_area, how_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(how_height)]).areas(left);
    // the checkpoints as tall as they need, up to half; the published models the rest
    let ck_rows = app.checkpoints.len() as u16 + 2;
    let ck_height = ck_rows.min(lists_area.height / 2).max(3);
    let [list_area, models_area] =
        Layout::vertical([Constraint::Length(ck_height), Constraint::Min(0)]).areas(lists_area);
    let first_loss = app.series_names().into_iter().next();
    let items: Vec<ListItem> = app
        .checkpoints
        .iter()
        .map(|c| {
            let losses = run
                .and_then(|r| app.series.get(&r.path))
                .zip(first_loss.as_ref())
                .and_then(|(s, k)| {
                    s.curves.get(k).and_then(|v| {
                        v.iter()
                            .rev()
                            .find(|p| p.0 as u64 == c.step)
                            .map(|p| format!(" {k}={}", crate::human::loss(p.1)))
                    })
                })
                .unwrap_or_default();
            let text = format!(
                "step {:>8}  {:>7.1} MB  {}{losses}",
                c.step,
                c.bytes as f64 / 1e6,
                crate::run::clock::ago(c.time)
            );
            // a narrow list wraps the row (the loss goes below) rather than cutting it
            if text.chars().count() <= inner {
                ListItem::new(text)
            } else {
                ListItem::new(
                    wrap(&text, inner)
                        .into_iter()
                        .map(Line::from)
                        .collect::<Vec<_>>(),
                )
            }
        })
        .collect();
    let id = run.map(|r| r.id.as_str()).unwrap_or("(no run)");
    let title = match format!("checkpoints of {id}") {
        t if t.chars().count() <= inner => t,
        _ => id.to_string(),
    };
    let sel = app.checkpoints_tab.sel;
    f.render_widget(
        Selectable {
            title: &title,
            items,
            selected: (sel < app.checkpoints.len()).then_some(sel),
        },
        list_area,
    );
    let fetched = app.models.iter().filter(|m| m.bytes.is_some()).count();
    let models_title = match format!("published models: {fetched} fetched") {
        t if t.chars().count() <= inner => t,
        _ => "published".to_string(),
    };
    f.render_widget(
        Selectable {
            title: &models_title,
            items: app
                .models
                .iter()
                .map(|m| published::item(m, inner.saturating_sub(1)))
                .collect(),
            selected: sel.checked_sub(app.checkpoints.len()),
        },
        models_area,
    );
    let how_title = if model.is_some() {
        "published model"
    } else {
        "comparing checkpoints"
    };
    f.render_widget(Paragraph::new(how_lines).block(block(how_title)), how_area);
    if let Some(m) = model {
        published::draw_right(app, m, previews, f, right);
        return;
    }
    // a comparison is only ever shown with the run it was made on
    let shown = app
        .checkpoints_tab
        .translation
        .as_ref()
        .filter(|c| run.is_some_and(|r| r.path == c.run));
    match shown {
        Some(c) => {
            let (input, outs) = (&c.input, &c.outs);
            // the translations large, side by side, each titled with its step; the input below
            let [outs_area, input_area] =
                Layout::vertical([Constraint::Percentage(65), Constraint::Percentage(35)])
                    .areas(right);
            let n = outs.len().max(1) as u32;
            let cells =
                Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(outs_area);
            let what = if kind == Some(Kind::FastStyle) {
                "stylized"
            } else if kind == Some(Kind::CycleGan) && app.checkpoints_tab.reverse {
                "fake_A"
            } else {
                "fake_B"
            };
            for (k, (step, out)) in outs.iter().enumerate() {
                // drawn once its file is there (the process writes it atomically)
                image_or_note(
                    previews,
                    f,
                    cells[k],
                    &format!("step {step}: {what}"),
                    Some(&app.output(out)),
                );
            }
            let name = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            image_or_note(
                previews,
                f,
                input_area,
                &format!(
                    "{} {name}",
                    if kind == Some(Kind::FastStyle) {
                        "test photo"
                    } else {
                        "test input"
                    }
                ),
                Some(&Picture {
                    path: input.clone(),
                    stamp: None,
                }),
            );
        }
        None => {
            let img = app
                .checkpoints
                .get(app.checkpoints_tab.sel)
                .and_then(|c| c.image.as_ref());
            image_or_note(previews, f, right, "sample at this checkpoint", img);
        }
    }
}

/// What the compare keys do, for the run's kind, and where the comparison stands.
fn how(app: &App, kind: Option<Kind>) -> Vec<String> {
    if kind == Some(Kind::Nst) {
        return vec!["A style-transfer checkpoint is its image: ↑↓ shows each one's.".into()];
    }
    let mut lines = if kind == Some(Kind::FastStyle) {
        vec![
            String::from(
                "t stylises a test photo with the selected checkpoint; select another and press t \
                 again: the two are shown side by side, titled with their steps.",
            ),
            String::from(
                "n: next test photo (data.sample_images, else data.dataset), stylised by the \
                 shown steps.",
            ),
        ]
    } else {
        vec![String::from(
            "t translates a test image with the selected checkpoint; select another and press t \
             again: the two newest translations of the same image are shown side by side.",
        )]
    };
    let direction: Option<String> = if kind == Some(Kind::FastStyle) {
        None
    } else if kind != Some(Kind::CycleGan) {
        Some(String::new())
    } else if app.checkpoints_tab.reverse {
        Some(" r: now B→A (G_B, testB)".into())
    } else {
        Some(" r: now A→B (G_A, testA)".into())
    };
    if let Some(direction) = direction {
        lines.push(format!(
            "n: next test image, translated by the shown steps.{direction}"
        ));
    }
    lines.push("v: the newest clip in clips/ through it, into the run's clips/.".into());
    let run = app.selected_run();
    if let Some(c) = app
        .checkpoints_tab
        .translation
        .as_ref()
        .filter(|c| run.is_some_and(|r| r.path == c.run))
    {
        let steps: Vec<String> = c.outs.iter().map(|(s, _)| s.to_string()).collect();
        lines.push(format!("shown: step {}", steps.join(" vs step ")));
    }
    lines
}
