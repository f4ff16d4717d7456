//! The Datasets screen's own state and update: the selected dataset, and its deep inspection
//! (asked of the reader thread).

use super::{step, Action, App, Effect};
use crate::tui::rows::Request;

#[derive(Default)]
pub struct DatasetsTab {
    /// the selected dataset (an index into `App::datasets`)
    pub sel: usize,
}

/// The Datasets screen's keys.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Up | Action::Down => step(
            &mut app.datasets_tab.sel,
            app.datasets.len(),
            action == Action::Down,
        ),
        Action::Inspect => {
            if let Some(d) = app.datasets.get(app.datasets_tab.sel) {
                let path = d.report.path.clone();
                app.message = format!("inspecting {} …", path.display());
                app.reader.ask(Request::Inspect(path));
            }
        }
        _ => {}
    }
    vec![]
}
