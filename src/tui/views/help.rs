//! The `?` overlay, generated from the keymap.

use super::super::app::App;
use super::super::keymap::BINDINGS;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

pub fn draw(_app: &App, f: &mut Frame) {
    let a = f.area();
    let (w, h) = (a.width.min(70), a.height.min(BINDINGS.len() as u16 + 2));
    let area = Rect::new(a.x + (a.width - w) / 2, a.y + (a.height - h) / 2, w, h);
    let lines: Vec<Line> = BINDINGS
        .iter()
        .map(|b| {
            let scope = b
                .screen
                .map(|s| s.title()[2..].to_string())
                .unwrap_or_else(|| "all".into());
            Line::from(format!("{:<16} {:<44} {scope}", b.keys, b.what))
        })
        .collect();
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(super::block("keys (Esc closes)")),
        area,
    );
}
