//! Datasets: layout, counts per split, problems, and a preview of an image.

use super::super::app::App;
use super::super::preview::Previews;
use super::super::widgets::list::Selectable;
use super::{block, image_or_note};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{ListItem, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(app: &App, previews: &mut Previews, f: &mut Frame, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let [list_area, info_area] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(left);
    let items: Vec<ListItem> = app
        .datasets
        .iter()
        .map(|row| {
            let d = &row.report;
            let name = d
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let counts: Vec<String> = d
                .splits
                .iter()
                .map(|s| {
                    if s.name.is_empty() {
                        format!("{}", s.count)
                    } else {
                        format!("{} {}", s.name, s.count)
                    }
                })
                .collect();
            ListItem::new(format!(
                "{name:<16} {:<9} {}",
                format!("{:?}", d.layout).to_lowercase(),
                counts.join(" ")
            ))
        })
        .collect();
    f.render_widget(
        Selectable {
            title: "datasets — i inspects",
            items,
            selected: Some(app.datasets_tab.sel),
        },
        list_area,
    );
    let Some(row) = app.datasets.get(app.datasets_tab.sel) else {
        return;
    };
    let d = &row.report;
    let mut lines: Vec<Line> = d
        .splits
        .iter()
        .map(|s| {
            let sz = s
                .sizes
                .map(|(a, b, c, e)| format!("{a}×{b}..{c}×{e}"))
                .unwrap_or_default();
            Line::from(format!(
                "{:<8} {:>6} images {sz}",
                if s.name.is_empty() { "images" } else { &s.name },
                s.count
            ))
        })
        .collect();
    if d.problems.is_empty() {
        lines.push(Line::from("no problems found (i: decode every file)"));
    }
    for p in &d.problems {
        let color = if p.fatal { Color::Red } else { Color::Yellow };
        lines.push(Line::styled(
            format!("{}: {}", p.file.display(), p.what),
            Style::default().fg(color),
        ));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block("splits and problems")),
        info_area,
    );
    image_or_note(previews, f, right, "preview", row.first.as_ref());
}
