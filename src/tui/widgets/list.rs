//! The selectable list every screen has: rows in a bordered block with a title, the selected row
//! reversed and kept in sight (ratatui's `List` scrolled by a fresh `ListState`, so the view stays
//! a function of the state).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, StatefulWidget, Widget};

/// A list of rows with the `selected`-th (an index into `items`, clamped by ratatui) shown
/// reversed; none is when the list is empty or `selected` is None (the selection is in another
/// list of the screen).
pub struct Selectable<'a> {
    pub title: &'a str,
    pub items: Vec<ListItem<'a>>,
    pub selected: Option<usize>,
}

impl Widget for Selectable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut state =
            ListState::default().with_selected(self.selected.filter(|_| !self.items.is_empty()));
        StatefulWidget::render(
            List::new(self.items)
                .block(Block::default().borders(Borders::ALL).title(self.title))
                .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
            area,
            buf,
            &mut state,
        );
    }
}
