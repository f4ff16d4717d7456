//! Views: pure functions of the state (images aside, whose encodings are cached in `Previews`).
//! They read no file (`tests/architecture.rs` keeps them so): what they show was read by the
//! reader thread, and images are read and decoded by the preview worker.

mod checkpoints;
mod datasets;
mod help;
mod presets;
mod published;
mod runs;

use super::app::{App, SCREENS};
use super::preview::{Picture, Previews};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Tabs};
use ratatui::Frame;

pub fn view(app: &App, previews: &mut Previews, f: &mut Frame) {
    // the message line grows to show a long message whole (an error's "did you mean" is at its
    // end), leaving the screen at least three rows
    let hint = if app.message.is_empty() {
        "? keys  Tab screens  q quit".to_string()
    } else {
        app.message.clone()
    };
    let mut hint_lines = wrap(&hint, f.area().width.max(1) as usize);
    let most = f.area().height.saturating_sub(4).max(1) as usize;
    hint_lines.truncate(most);
    let [tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(hint_lines.len() as u16),
    ])
    .areas(f.area());
    let titles: Vec<Line> = SCREENS.iter().map(|s| Line::from(s.title())).collect();
    let sel = SCREENS.iter().position(|s| *s == app.screen).unwrap_or(0);
    f.render_widget(
        Tabs::new(titles)
            .select(sel)
            .highlight_style(Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED))
            .divider("|"),
        tabs,
    );
    match app.screen {
        super::app::Screen::Runs => runs::draw(app, previews, f, body),
        super::app::Screen::Presets => presets::draw(app, f, body),
        super::app::Screen::Datasets => datasets::draw(app, previews, f, body),
        super::app::Screen::Checkpoints => checkpoints::draw(app, previews, f, body),
    }
    f.render_widget(
        Paragraph::new(hint_lines.into_iter().map(Line::from).collect::<Vec<_>>())
            .style(Style::default().fg(Color::Yellow)),
        footer,
    );
    if app.help {
        help::draw(app, f);
    }
}

/// Text broken into lines of at most `width` characters at spaces (a word longer than a line is
/// cut into pieces); line breaks in the text are kept.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = vec![];
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let mut word: Vec<char> = word.chars().collect();
            let used = line.chars().count();
            if used > 0 && used + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            while word.len() > width {
                let rest = word.split_off(width);
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                lines.push(word.into_iter().collect());
                word = rest;
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.extend(word);
        }
        lines.push(line);
    }
    lines
}

pub(crate) fn block(title: &str) -> Block<'_> {
    Block::default().borders(Borders::ALL).title(title)
}

/// Draws an image or a line saying why not.
pub(crate) fn image_or_note(
    previews: &mut Previews,
    f: &mut Frame,
    area: Rect,
    title: &str,
    picture: Option<&Picture>,
) {
    let b = block(title);
    let inner = b.inner(area);
    f.render_widget(b, area);
    match picture {
        Some(p) => {
            if let Err(e) = previews.show(f, inner, p) {
                f.render_widget(Paragraph::new(e), inner);
            }
        }
        None => f.render_widget(Paragraph::new("no image yet"), inner),
    }
}
