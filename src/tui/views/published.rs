//! The published models on the Checkpoints screen (`aiart model fetch`'s, listed after the
//! selected run's checkpoints): each row with its kind, architecture and direction from the
//! registry, the ones not fetched greyed; the selected model's description or its output of a
//! test image; what its keys do.

use super::super::app::published::{arrow, inputs_of, not_fetched};
use super::super::app::{App, ModelRow};
use super::super::preview::{Picture, Previews};
use super::{block, image_or_note, wrap};
use crate::data::models::Published;
use crate::preset::Kind;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{ListItem, Paragraph};
use ratatui::Frame;

/// The architecture as a row says it (`resnet_9blocks`, `unet_256`, `TransformerNet`).
fn arch(m: &Published) -> &'static str {
    m.network().split(',').next().unwrap_or_default()
}

/// A model's row: name, kind, architecture, direction, size (or "not fetched", greyed), wrapped
/// to `width` where it does not fit.
pub fn item(row: &ModelRow, width: usize) -> ListItem<'static> {
    let m = row.model;
    let way = m
        .direction
        .map(|d| format!(" {}", arrow(d)))
        .unwrap_or_default();
    let size = match row.bytes {
        Some(b) => format!("{:.1} MB", b as f64 / 1e6),
        None => "not fetched".into(),
    };
    let text = format!("{}  {} {}{way}  {size}", m.name, m.kind, arch(m));
    let lines: Vec<Line> = wrap(&text, width).into_iter().map(Line::from).collect();
    let item = ListItem::new(lines);
    if row.bytes.is_none() {
        item.style(Style::default().fg(Color::DarkGray))
    } else {
        item
    }
}

/// What the keys do on the selected model (the explanation box).
pub fn how(row: &ModelRow) -> Vec<String> {
    let m = row.model;
    if row.bytes.is_none() {
        return vec![
            format!("{}: {}", m.name, m.what),
            format!(
                "Not fetched: aiart model fetch {} gets it; then t, n and v work on it here.",
                m.qualified()
            ),
        ];
    }
    let (verb, what) = if m.kind == Kind::FastStyle {
        ("stylises", "a photo of")
    } else {
        ("translates", "a test image of")
    };
    let way = m
        .direction
        .map(|d| format!(" (its own direction, {})", arrow(d)))
        .unwrap_or_default();
    vec![
        format!(
            "t {verb} {what} {} with {}{way}; n: the next one.",
            inputs_of(m),
            m.name
        ),
        "v: the newest clip in clips/ through it.".into(),
        format!(
            "Outputs go to models/outputs/{}/{}/.",
            m.kind.as_str(),
            m.name
        ),
    ]
}

/// The right side for a selected model: its output of a test image when one is shown (the
/// input below), else what it is.
pub fn draw_right(app: &App, row: &ModelRow, previews: &mut Previews, f: &mut Frame, area: Rect) {
    let m = row.model;
    let shown = app
        .checkpoints_tab
        .published
        .as_ref()
        .filter(|s| s.model == m);
    if let Some(s) = shown {
        let [out_area, input_area] =
            Layout::vertical([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(area);
        let what = if m.kind == Kind::FastStyle {
            "stylized"
        } else {
            "fake_B"
        };
        image_or_note(
            previews,
            f,
            out_area,
            &format!("{}: {what}", m.name),
            Some(&app.output(&s.output)),
        );
        let name = s.input.file_name().unwrap_or_default().to_string_lossy();
        let title = if m.kind == Kind::FastStyle {
            format!("test photo {name}")
        } else {
            format!("test input {name}")
        };
        image_or_note(
            previews,
            f,
            input_area,
            &title,
            Some(&Picture {
                path: s.input.clone(),
                stamp: None,
            }),
        );
        return;
    }
    let mut lines = vec![
        format!("{}: {}", m.name, m.what),
        format!("published {} model: {}", m.kind, m.network()),
    ];
    if let Some(d) = m.direction {
        lines.push(format!("trained {} on {}", arrow(d), m.dataset));
    } else {
        lines.push(format!("trained on {}", m.dataset));
    }
    match row.bytes {
        Some(b) => lines.push(format!(
            "file: {} ({:.1} MB)",
            row.file.display(),
            b as f64 / 1e6
        )),
        None => lines.push(not_fetched(row)),
    }
    let width = area.width.saturating_sub(2) as usize;
    let text: Vec<Line> = lines
        .iter()
        .flat_map(|l| wrap(l, width))
        .map(Line::from)
        .collect();
    f.render_widget(Paragraph::new(text).block(block("published model")), area);
}
