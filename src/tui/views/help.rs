//! The `?` overlay, generated from the keymap: this screen's keys and every screen's first, then
//! the other screens'. Keys and scope come before the description, which wraps, so neither is
//! ever cut off.

use super::super::app::App;
use super::super::keymap::{Binding, BINDINGS};
use super::wrap;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

fn scope(b: &Binding) -> String {
    match b.screen {
        _ if b.answer => "asked".into(),
        Some(s) => s.title()[2..].to_lowercase(),
        None => "all".into(),
    }
}

pub fn draw(app: &App, f: &mut Frame) {
    let a = f.area();
    let mut order: Vec<&Binding> = BINDINGS
        .iter()
        .filter(|b| b.screen == Some(app.screen))
        .collect();
    order.extend(BINDINGS.iter().filter(|b| b.screen.is_none()));
    order.extend(
        BINDINGS
            .iter()
            .filter(|b| b.screen.is_some_and(|s| s != app.screen)),
    );
    let kw = BINDINGS
        .iter()
        .map(|b| b.keys.chars().count())
        .max()
        .unwrap_or(0);
    let sw = BINDINGS.iter().map(|b| scope(b).len()).max().unwrap_or(0);
    let ww = BINDINGS
        .iter()
        .map(|b| b.what.chars().count())
        .max()
        .unwrap_or(0);
    let w = a.width.min((kw + sw + ww + 4 + 2) as u16);
    // what is left for the description inside the borders
    let room = (w as usize).saturating_sub(kw + sw + 4 + 2).max(10);
    let mut lines: Vec<Line> = vec![];
    for b in order {
        for (i, part) in wrap(b.what, room).into_iter().enumerate() {
            lines.push(Line::from(if i == 0 {
                format!("{:<kw$}  {:<sw$}  {part}", b.keys, scope(b))
            } else {
                format!("{:<kw$}  {:<sw$}  {part}", "", "")
            }));
        }
    }
    let h = a.height.min(lines.len() as u16 + 2);
    let area = Rect::new(a.x + (a.width - w) / 2, a.y + (a.height - h) / 2, w, h);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(super::block("keys (Esc closes)")),
        area,
    );
}
