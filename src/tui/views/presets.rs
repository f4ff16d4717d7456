//! Presets: kind and validity (errors with line and field); the selected one's text.

use super::super::app::App;
use super::block;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
    // the kind column as wide as the longest kind, so the validity never runs into it
    let kind_width = app
        .presets
        .iter()
        .map(|p| p.kind.chars().count())
        .max()
        .unwrap_or(0);
    let items: Vec<ListItem> = app
        .presets
        .iter()
        .map(|p| {
            let (mark, color) = if !p.errors.is_empty() {
                ("invalid", Color::Red)
            } else if p.needs.is_some() {
                ("needs dataset", Color::Yellow)
            } else {
                ("ok", Color::Green)
            };
            ListItem::new(Line::from(vec![
                Span::raw(format!("{:<22} {:<kind_width$} ", p.name, p.kind)),
                Span::styled(mark, Style::default().fg(color)),
            ]))
        })
        .collect();
    let mut state =
        ListState::default().with_selected((!app.presets.is_empty()).then_some(app.preset_sel));
    f.render_stateful_widget(
        List::new(items)
            .block(block("presets — Enter run, e edit, d duplicate"))
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
        left,
        &mut state,
    );
    let Some(p) = app.presets.get(app.preset_sel) else {
        f.render_widget(
            Paragraph::new("no presets in presets/").block(block("preset")),
            right,
        );
        return;
    };
    let mut lines: Vec<Line> = p
        .errors
        .iter()
        .map(|e| Line::styled(e.clone(), Style::default().fg(Color::Red)))
        .collect();
    if let Some(n) = &p.needs {
        lines.extend(
            n.lines()
                .map(|l| Line::styled(l.to_string(), Style::default().fg(Color::Yellow))),
        );
    }
    if !lines.is_empty() {
        lines.push(Line::from(""));
    }
    lines.extend(p.text.lines().map(|l| Line::from(l.to_string())));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(&p.path.display().to_string())),
        right,
    );
}
