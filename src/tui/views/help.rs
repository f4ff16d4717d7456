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
    // each binding's lines together; where the terminal is too short for all of them, whole
    // bindings up to what fits (this screen's and every screen's first), then how many are left
    let groups: Vec<Vec<Line>> = order
        .iter()
        .map(|b| {
            wrap(b.what, room)
                .into_iter()
                .enumerate()
                .map(|(i, part)| {
                    Line::from(if i == 0 {
                        format!("{:<kw$}  {:<sw$}  {part}", b.keys, scope(b))
                    } else {
                        format!("{:<kw$}  {:<sw$}  {part}", "", "")
                    })
                })
                .collect()
        })
        .collect();
    let rows = a.height.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = vec![];
    let mut shown = 0;
    for (i, g) in groups.iter().enumerate() {
        let more = if i + 1 < groups.len() { 1 } else { 0 };
        if lines.len() + g.len() + more > rows {
            break;
        }
        lines.extend(g.iter().cloned());
        shown += 1;
    }
    if shown < groups.len() {
        lines.push(Line::from(format!(
            "… {} more keys of other screens: press ? on them",
            groups.len() - shown
        )));
    }
    let h = a.height.min(lines.len() as u16 + 2);
    let area = Rect::new(a.x + (a.width - w) / 2, a.y + (a.height - h) / 2, w, h);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(super::block("keys (Esc closes)")),
        area,
    );
}
