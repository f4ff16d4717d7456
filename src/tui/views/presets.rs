//! Presets: kind and validity (errors with line and field); the selected one's text.

use super::super::app::{App, PresetRow};
use super::super::widgets::list::Selectable;
use super::block;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{ListItem, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    // the list at least as wide as its title (the keys) where the terminal allows: at 80
    // columns 44 of them, the preset's text the rest
    let lw = (area.width * 2 / 5).max(44.min(area.width * 11 / 20));
    let [left, right] =
        Layout::horizontal([Constraint::Length(lw), Constraint::Min(1)]).areas(area);
    // the name and kind columns as wide as their longest, so the validity never runs into them;
    // where the three do not fit on one line, the kind and validity go on a second
    let width = |f: fn(&PresetRow) -> &str| {
        app.presets
            .iter()
            .map(|p| f(p).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (name_width, kind_width) = (width(|p| &p.name), width(|p| &p.kind));
    let one_line = name_width + 1 + kind_width + 1 + "needs dataset".len()
        <= left.width.saturating_sub(2) as usize;
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
            let mark = Span::styled(mark, Style::default().fg(color));
            if one_line {
                ListItem::new(Line::from(vec![
                    Span::raw(format!("{:<name_width$} {:<kind_width$} ", p.name, p.kind)),
                    mark,
                ]))
            } else {
                ListItem::new(vec![
                    Line::from(p.name.clone()),
                    Line::from(vec![Span::raw(format!("  {:<kind_width$} ", p.kind)), mark]),
                ])
            }
        })
        .collect();
    f.render_widget(
        Selectable {
            title: "presets — Enter run, e edit, d duplicate",
            items,
            selected: Some(app.presets_tab.sel),
        },
        left,
    );
    let Some(p) = app.presets.get(app.presets_tab.sel) else {
        f.render_widget(
            Paragraph::new("no presets in presets/").block(block("preset")),
            right,
        );
        return;
    };
    // a path wider than the panel is shown under the workspace's name for it (presets/x.toml),
    // so that it reads whole
    let root = format!("{}/", app.ws.root.display());
    let narrow =
        p.path.display().to_string().chars().count() > right.width.saturating_sub(2) as usize;
    let short = |t: &str| {
        if narrow {
            t.replace(&root, "")
        } else {
            t.to_string()
        }
    };
    let mut lines: Vec<Line> = p
        .errors
        .iter()
        .map(|e| Line::styled(short(e), Style::default().fg(Color::Red)))
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
    // a text taller than the panel scrolls (PgUp / PgDn) until its end is in sight. Wrapping at
    // words takes more rows than the width alone says: a wrapped line is counted as if a word
    // of up to 12 characters moved down at each break (the end then has blank rows at most)
    let width = right.width.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| match l.width() {
            w if w <= width => 1,
            w => w.div_ceil(width.saturating_sub(12).max(1)),
        })
        .sum();
    let visible = right.height.saturating_sub(2) as usize;
    let scroll = app.presets_tab.scroll.min(rows.saturating_sub(visible));
    app.presets_tab
        .scroll_end
        .set(Some(rows.saturating_sub(visible)));
    let title = short(&p.path.display().to_string());
    let mut b = block(&title);
    if rows > visible {
        let more = if scroll + visible < rows {
            " PgDn: more "
        } else {
            " PgUp: back "
        };
        b = b.title_bottom(Line::from(more).right_aligned());
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll as u16, 0))
            .block(b),
        right,
    );
}
