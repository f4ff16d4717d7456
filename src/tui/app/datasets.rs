//! The Datasets screen's own state and update: the selected dataset, and its deep inspection
//! (asked of the reader thread).

use super::{step, Action, Ctx, DatasetRow, Effect};
use crate::tui::rows::Request;

#[derive(Default)]
pub struct DatasetsTab {
    /// the selected dataset (an index into `App::datasets`)
    pub sel: usize,
}

/// The Datasets screen's keys.
pub fn update(
    tab: &mut DatasetsTab,
    datasets: &[DatasetRow],
    cx: &mut Ctx,
    action: Action,
) -> Vec<Effect> {
    match action {
        Action::Up | Action::Down => step(&mut tab.sel, datasets.len(), action == Action::Down),
        Action::Inspect => {
            if let Some(d) = datasets.get(tab.sel) {
                let path = d.report.path.clone();
                cx.say(format!("inspecting {} …", path.display()));
                cx.asks.reads.push(Request::Inspect(path));
            }
        }
        _ => {}
    }
    vec![]
}
