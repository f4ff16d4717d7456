//! The state's side of the reader thread: what to ask it for (`refresh`, `apply`,
//! `refresh_presets`) and what its messages change (`eat`, as bottom's `DataStore::eat_data`),
//! keeping each selection on the same run, preset or dataset. Nothing here reads a file.

use super::app::runs::RunsData;
use super::app::{App, Changed, Effect};
use super::preview::Picture;
use super::rows::{DatasetRow, Read, Reply, Request, RunsRead};
use std::path::{Path, PathBuf};

/// Takes in what the reader read; returns the effects of actions that waited for it (`t` and `n`
/// wait for a run's test images).
pub fn eat(app: &mut App, reply: Reply) -> Vec<Effect> {
    match reply.read {
        Read::Runs(read) => app.eat_runs(read),
        Read::Presets(rows) => {
            let keep = app.presets.get(app.presets_tab.sel).map(|p| p.path.clone());
            app.presets = rows;
            app.presets_tab.sel = keep
                .and_then(|k| app.presets.iter().position(|p| p.path == k))
                .unwrap_or(app.presets_tab.sel)
                .min(app.presets.len().saturating_sub(1));
        }
        Read::Datasets { all, some } => app.eat_datasets(all, some),
        Read::Inspected(row) => {
            let path = row.report.path.clone();
            if let Some(d) = app.datasets.iter_mut().find(|d| d.report.path == path) {
                *d = row;
            }
            app.message = format!("inspected {}", path.display());
        }
        Read::TestImages { run, images } => {
            app.test_images.insert(run.clone(), images);
            let (now, later) = std::mem::take(&mut app.checkpoints_tab.waiting)
                .into_iter()
                .partition(|(r, _)| *r == run);
            app.checkpoints_tab.waiting = later;
            let mut fx = vec![];
            for (_, action) in now {
                // a key pressed on a run (or published model) no longer selected is left
                if app.selected_source() == Some(run.as_path()) {
                    fx.extend(app.with_test_images(action));
                }
            }
            return fx;
        }
    }
    vec![]
}

impl App {
    /// Asks the reader for the runs and the selected (and compared) runs' details; meanwhile
    /// whatever was read last is shown. A comparison of checkpoints of a run no longer selected
    /// goes at once.
    pub fn refresh(&mut self) {
        self.follow_selection();
        let mut details: Vec<PathBuf> = self
            .selected_run()
            .map(|r| r.path.clone())
            .into_iter()
            .collect();
        if let Some(id) = self.runs_tab.compare.clone() {
            for r in self.sweep_runs(&id) {
                if !details.contains(&r.path) {
                    details.push(r.path.clone());
                }
            }
        }
        let mut outputs: Vec<PathBuf> = self
            .checkpoints_tab
            .translation
            .as_ref()
            .map(|c| c.outs.iter().map(|(_, o)| o.clone()).collect())
            .unwrap_or_default();
        outputs.extend(
            self.checkpoints_tab
                .published
                .as_ref()
                .map(|s| s.output.clone()),
        );
        self.reader.ask(Request::Runs { details, outputs });
    }

    /// Asks the reader again for what file notifications say changed.
    pub fn apply(&mut self, changed: &Changed) {
        if changed.runs {
            self.refresh();
        }
        // a preset's "needs dataset" turns into ok when its dataset is made, and back
        if changed.presets || changed.all_datasets || !changed.datasets.is_empty() {
            self.refresh_presets();
        }
        if changed.all_datasets || !changed.datasets.is_empty() {
            self.reader.ask(Request::Datasets {
                all: changed.all_datasets,
                names: changed.datasets.clone(),
            });
        }
    }

    /// Asks the reader for every preset again.
    pub fn refresh_presets(&mut self) {
        self.reader.ask(Request::Presets);
    }

    /// The newest sample of the selected run, as last read.
    pub fn sample(&self) -> Option<&Picture> {
        self.sample_of(&self.selected_run()?.path)
    }

    /// The newest sample of a run, as last read.
    pub fn sample_of(&self, run: &Path) -> Option<&Picture> {
        self.details.get(run)?.sample.as_ref()
    }

    /// A translation output to draw: with its time where the reader has seen it.
    pub fn output(&self, path: &Path) -> Picture {
        Picture {
            path: path.to_path_buf(),
            stamp: self.outputs.get(path).copied(),
        }
    }

    /// Starts a sweep comparison on its kind's headline loss once every run's curves are read.
    fn start_on_headline(&mut self) {
        RunsData {
            ws: &self.ws,
            runs: &self.runs,
            series: &self.series,
        }
        .start_on_headline(&mut self.runs_tab);
    }

    /// What goes with the selected run: a comparison or a test image of another run goes; its
    /// events and checkpoints as last read are shown.
    fn follow_selection(&mut self) {
        let now = self.selected_run().map(|r| r.path.clone());
        // a comparison belongs to the run it was made on: another run starts afresh
        if self
            .checkpoints_tab
            .translation
            .as_ref()
            .is_some_and(|c| Some(&c.run) != now.as_ref())
        {
            self.checkpoints_tab.translation = None;
        }
        // so does the test image `n` moved on to
        if self.checkpoints_tab.test_run != now {
            self.checkpoints_tab.test_index = 0;
            self.checkpoints_tab.test_run = now.clone();
        }
        match now.and_then(|p| self.details.get(&p)) {
            Some(d) => {
                self.events = d.events.clone();
                self.checkpoints = d.checkpoints.clone();
            }
            None => {
                self.events.clear();
                self.checkpoints.clear();
            }
        }
        // a published model selected (listed after the checkpoints) stays selected when the
        // run's checkpoints change
        self.select_checkpoint_or(self.checkpoints_tab.on_model);
    }

    /// Keeps the Checkpoints screen's selection on `model` (a published model) where it was on
    /// one, else within the run's checkpoints (on the first model when the run has none).
    fn select_checkpoint_or(&mut self, model: Option<&'static crate::data::models::Published>) {
        let at = model.and_then(|m| self.models.iter().position(|r| r.model == m));
        let tab = &mut self.checkpoints_tab;
        tab.sel = match at {
            Some(i) => self.checkpoints.len() + i,
            None => tab.sel.min(self.checkpoints.len().saturating_sub(1)),
        };
    }

    fn eat_runs(&mut self, read: RunsRead) {
        let keep = self.selected_run().map(|r| r.path.clone());
        let grew = read.runs.len() > self.runs.len();
        self.runs = read.runs;
        self.runs_tab.sel = if self.runs_tab.select_newest && grew || keep.is_none() {
            self.runs_tab.select_newest = !grew && self.runs_tab.select_newest;
            self.runs.len().saturating_sub(1)
        } else {
            keep.and_then(|k| self.runs.iter().position(|r| r.path == k))
                .unwrap_or(0)
        };
        self.series.extend(read.series);
        self.details.extend(read.details);
        // a model fetched meanwhile moves up among the fetched: the selection follows it
        self.models = read.models;
        self.select_checkpoint_or(self.checkpoints_tab.on_model);
        for (path, stamp) in read.outputs {
            match stamp {
                Some(t) => self.outputs.insert(path, t),
                None => self.outputs.remove(&path),
            };
        }
        self.follow_selection();
        // a run selected since (the newest, after a start) or compared, never read yet
        let mut wanted: Vec<PathBuf> = self
            .selected_run()
            .map(|r| r.path.clone())
            .into_iter()
            .collect();
        if let Some(id) = self.runs_tab.compare.clone() {
            wanted.extend(self.sweep_runs(&id).iter().map(|r| r.path.clone()));
        }
        if wanted
            .iter()
            .any(|p| !self.details.contains_key(p) && !read.asked.contains(p))
        {
            self.refresh();
        }
        self.start_on_headline();
    }

    fn eat_datasets(
        &mut self,
        all: Option<Vec<DatasetRow>>,
        some: Vec<(PathBuf, Option<DatasetRow>)>,
    ) {
        let keep = self
            .datasets
            .get(self.datasets_tab.sel)
            .map(|d| d.report.path.clone());
        if let Some(all) = all {
            self.datasets = all;
        }
        for (path, row) in some {
            let at = self.datasets.iter().position(|d| d.report.path == path);
            match (at, row) {
                (Some(i), Some(row)) => self.datasets[i] = row,
                (Some(i), None) => {
                    self.datasets.remove(i);
                }
                (None, Some(row)) => {
                    let i = self.datasets.partition_point(|d| d.report.path < path);
                    self.datasets.insert(i, row);
                }
                (None, None) => {}
            }
        }
        self.datasets_tab.sel = keep
            .and_then(|k| self.datasets.iter().position(|d| d.report.path == k))
            .unwrap_or(self.datasets_tab.sel)
            .min(self.datasets.len().saturating_sub(1));
    }
}
