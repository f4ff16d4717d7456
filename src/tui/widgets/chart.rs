//! The loss chart as a widget: curves on ratatui's `Chart` (linear axes: log10 and EMA are
//! applied before, by `series::prepare`), the step on x and the loss itself on y; losses of very
//! different sizes each get a panel of their own with its own axis (style transfer's style ~1e9
//! next to content ~1e6 and tv), losses of one size share one chart with its legend.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Widget};

/// The curves' colours, by their index (the F-key that hides them).
pub const COLORS: [Color; 9] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::Green,
    Color::Red,
    Color::Blue,
    Color::LightCyan,
    Color::LightMagenta,
    Color::White,
];

/// A loss series as drawn: its index (F-key), name and points.
pub type Curve = (usize, String, Vec<(f64, f64)>);

/// Loss curves in one bordered chart, or in stacked panels by size.
pub struct LossChart<'a> {
    pub curves: &'a [Curve],
    /// the chart's title (with the view's flags: log10, EMA, recent)
    pub title: String,
    /// the y values are log10 of the losses: the axis labels show the losses themselves
    pub log: bool,
    /// how much of the chart's width and height the legend may take, in percent
    pub legend_pct: u16,
    /// each curve's size ([`magnitude`] of its raw values): curves more than 100× apart get
    /// panels of their own, at most one per 6 rows; None: one chart
    pub sizes: Option<Vec<Option<f64>>>,
}

impl Widget for LossChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(sizes) = &self.sizes else {
            curves_chart(
                self.curves,
                Line::from(self.title),
                self.log,
                None,
                self.legend_pct,
            )
            .render(area, buf);
            return;
        };
        let most = (area.height / 6).max(1) as usize;
        let groups = by_magnitude(sizes, most);
        let x = x_bounds(self.curves);
        if groups.len() <= 1 {
            curves_chart(
                self.curves,
                Line::from(self.title),
                self.log,
                x,
                self.legend_pct,
            )
            .render(area, buf);
            return;
        }
        let panels = Layout::vertical(vec![
            Constraint::Ratio(1, groups.len() as u32);
            groups.len()
        ])
        .split(area);
        for (k, (g, panel)) in groups.iter().zip(panels.iter()).enumerate() {
            // the names go in the panel's title, in their colours: a legend does not fit a small
            // panel
            let mut title = vec![Span::raw(if k == 0 {
                format!("{}:", self.title)
            } else {
                String::new()
            })];
            let mine: Vec<Curve> = g
                .iter()
                .map(|&j| {
                    let (i, name, pts) = &self.curves[j];
                    title.push(Span::styled(
                        format!(" {name}"),
                        Style::default().fg(COLORS[i % COLORS.len()]),
                    ));
                    (*i, String::new(), pts.clone())
                })
                .collect();
            curves_chart(&mine, Line::from(title), self.log, x, self.legend_pct)
                .render(*panel, buf);
        }
    }
}

/// A curve's typical size: log10 of the median of its non-zero values (None: all zero).
pub fn magnitude(points: &[(f64, f64)]) -> Option<f64> {
    let mut v: Vec<f64> = points
        .iter()
        .map(|p| p.1.abs())
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2].log10())
}

/// Curves (by their sizes) grouped so that each group's sizes lie within 100× of one another,
/// the largest first, at most `most` groups (the smallest share the last); curves of no size
/// join the first group.
fn by_magnitude(sizes: &[Option<f64>], most: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i].is_some()).collect();
    order.sort_by(|&a, &b| sizes[b].unwrap_or(0.0).total_cmp(&sizes[a].unwrap_or(0.0)));
    let mut groups: Vec<(f64, Vec<usize>)> = vec![];
    for i in order {
        let m = sizes[i].unwrap_or(0.0);
        match groups.last_mut() {
            Some((top, g)) if *top - m <= 2.0 => g.push(i),
            _ => groups.push((m, vec![i])),
        }
    }
    while groups.len() > most.max(1) {
        let (_, last) = groups.pop().expect("more than one");
        groups.last_mut().expect("one left").1.extend(last);
    }
    let mut out: Vec<Vec<usize>> = groups.into_iter().map(|(_, g)| g).collect();
    let none: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i].is_none()).collect();
    match out.first_mut() {
        Some(g) => g.extend(none),
        None if !none.is_empty() => out.push(none),
        None => {}
    }
    for g in &mut out {
        g.sort_unstable();
    }
    out
}

/// The steps every curve spans, so that stacked panels line up.
fn x_bounds(curves: &[Curve]) -> Option<[f64; 2]> {
    let xs = curves.iter().flat_map(|c| c.2.iter().map(|p| p.0));
    let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    (lo <= hi).then_some([lo, hi])
}

/// A chart of curves (colour index, legend name, points) with bounds that hold them all, the step
/// on x (`x` where given) and the loss itself on y (also on the log10 scale). Curves without a
/// name are left out of the legend.
fn curves_chart<'a>(
    curves: &'a [Curve],
    title: Line<'a>,
    log: bool,
    x: Option<[f64; 2]>,
    legend_pct: u16,
) -> Chart<'a> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (_, _, pts) in curves {
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if let Some([a, b]) = x {
        (x0, x1) = (a, b);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + 1.0;
    }
    let datasets: Vec<Dataset> = curves
        .iter()
        .map(|(i, n, pts)| {
            let d = Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(COLORS[i % COLORS.len()]))
                .data(pts);
            if n.is_empty() {
                d
            } else {
                d.name(n.clone())
            }
        })
        .collect();
    let legend = Constraint::Percentage(legend_pct);
    Chart::new(datasets)
        .hidden_legend_constraints((legend, legend))
        .block(Block::default().borders(Borders::ALL).title(title))
        .x_axis(Axis::default().bounds([x0, x1]).labels(vec![
            Line::from(format!("{x0:.0}")),
            Line::from(format!("step {x1:.0}")),
        ]))
        .y_axis(Axis::default().bounds([y0, y1]).labels(vec![
            Line::from(y_label(y0, log)),
            Line::from(y_label(y1, log)),
        ]))
}

/// A y-axis label: the loss itself, also on the log10 scale (`2.69e8`, not `8.430`).
fn y_label(y: f64, log: bool) -> String {
    crate::human::loss(if log { 10f64.powf(y) } else { y })
}
