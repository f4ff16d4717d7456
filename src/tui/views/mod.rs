//! Views: pure functions of the state (images aside, whose encodings are cached in `Previews`).

mod checkpoints;
mod datasets;
mod help;
mod presets;
mod runs;

use super::app::{App, SCREENS};
use super::preview::Previews;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Tabs};
use ratatui::Frame;

pub fn view(app: &App, previews: &mut Previews, f: &mut Frame) {
    let [tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
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
    let hint = if app.message.is_empty() {
        "? keys  Tab screens  q quit".to_string()
    } else {
        app.message.clone()
    };
    f.render_widget(
        Paragraph::new(hint).style(Style::default().fg(Color::Yellow)),
        footer,
    );
    if app.help {
        help::draw(app, f);
    }
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
    path: Option<&std::path::Path>,
) {
    let b = block(title);
    let inner = b.inner(area);
    f.render_widget(b, area);
    match path {
        Some(p) => {
            if let Err(e) = previews.draw(f, inner, p) {
                f.render_widget(Paragraph::new(e), inner);
            }
        }
        None => f.render_widget(Paragraph::new("no image yet"), inner),
    }
}
