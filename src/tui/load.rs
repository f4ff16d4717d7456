//! What the dashboard reads from the workspace: runs (status, new metrics lines, events,
//! checkpoints), presets, the newest sample, test images. `update` calls it on the tick and on
//! file notifications; the views never touch the disk (images aside, which `Previews` decodes).

use super::app::{App, Changed, CheckpointRow, PresetRow};
use super::series::Series;
use crate::data::inspect;
use crate::preset;
use crate::run::list;
use crate::run::RunDir;
use std::path::{Path, PathBuf};

impl App {
    /// Re-reads the runs (status, new metrics lines, events) and the selected run's checkpoints;
    /// a comparison of checkpoints of a run no longer selected goes.
    pub fn refresh(&mut self) {
        let mut runs = crate::launch::list_runs(&self.ws.runs());
        group_sweeps(&mut runs);
        let keep = self.selected_run().map(|r| r.path.clone());
        let grew = runs.len() > self.runs.len();
        self.runs = runs;
        self.run_sel = if self.select_newest && grew || keep.is_none() {
            self.select_newest = !grew && self.select_newest;
            self.runs.len().saturating_sub(1)
        } else {
            keep.and_then(|k| self.runs.iter().position(|r| r.path == k))
                .unwrap_or(0)
        };
        // a comparison belongs to the run it was made on: another run starts afresh
        let now = self.selected_run().map(|r| r.path.clone());
        if self
            .translation
            .as_ref()
            .is_some_and(|c| Some(&c.run) != now.as_ref())
        {
            self.translation = None;
        }
        // so does the test image `n` moved on to
        if self.test_run != now {
            self.test_index = 0;
            self.test_run = now.clone();
        }
        if let Some(r) = self.selected_run().cloned() {
            let s = self
                .series
                .entry(r.path.clone())
                .or_insert_with(|| Series::new(&RunDir::open(&r.path).metrics()));
            s.poll();
            let run = RunDir::open(&r.path);
            self.events = RunDir::read_jsonl(&run.events())
                .unwrap_or_default()
                .into_iter()
                .rev()
                .take(50)
                .rev()
                .map(|e| {
                    (
                        e["time"].as_f64().unwrap_or(0.0),
                        e["kind"].as_str().unwrap_or("").to_string(),
                        e["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            self.checkpoints = run
                .list_checkpoints()
                .unwrap_or_default()
                .into_iter()
                .map(|(step, path)| {
                    let files: Vec<_> = std::fs::read_dir(&path)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .collect();
                    let bytes = files
                        .iter()
                        .filter_map(|f| f.metadata().ok())
                        .map(|m| m.len())
                        .sum();
                    let time = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0.0, |d| d.as_secs_f64());
                    CheckpointRow {
                        step,
                        path,
                        bytes,
                        time,
                    }
                })
                .collect();
            self.ck_sel = self.ck_sel.min(self.checkpoints.len().saturating_sub(1));
        }
        if let Some(id) = self.compare.clone() {
            let paths: Vec<PathBuf> = self
                .sweep_runs(&id)
                .iter()
                .map(|r| r.path.clone())
                .collect();
            for p in paths {
                self.series
                    .entry(p.clone())
                    .or_insert_with(|| Series::new(&RunDir::open(&p).metrics()))
                    .poll();
            }
        }
    }

    /// Re-reads what file notifications say changed; selections stay on the same preset or
    /// dataset where it is still there.
    pub fn apply(&mut self, changed: &Changed) {
        if changed.runs {
            self.refresh();
        }
        // a preset's "needs dataset" turns into ok when its dataset is made, and back
        if changed.presets || changed.all_datasets || !changed.datasets.is_empty() {
            self.refresh_presets();
        }
        let keep = self.datasets.get(self.dataset_sel).map(|d| d.path.clone());
        if changed.all_datasets {
            self.datasets = inspect::list(&self.ws.datasets());
        } else {
            for name in &changed.datasets {
                let path = self.ws.datasets().join(name);
                let at = self.datasets.iter().position(|d| d.path == path);
                match (at, path.is_dir()) {
                    (Some(i), true) => self.datasets[i] = inspect::summary(&path),
                    (Some(i), false) => {
                        self.datasets.remove(i);
                    }
                    (None, true) => {
                        let i = self.datasets.partition_point(|d| d.path < path);
                        self.datasets.insert(i, inspect::summary(&path));
                    }
                    (None, false) => {}
                }
            }
        }
        self.dataset_sel = keep
            .and_then(|k| self.datasets.iter().position(|d| d.path == k))
            .unwrap_or(self.dataset_sel)
            .min(self.datasets.len().saturating_sub(1));
    }

    pub fn refresh_presets(&mut self) {
        let keep = self.presets.get(self.preset_sel).map(|p| p.path.clone());
        self.presets = preset::list(&self.ws.presets())
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let kind = preset::kind_of(&text).unwrap_or_else(|| "?".into());
                let (errors, needs) = match preset::load(&path, &[]) {
                    Ok(p) => (vec![], crate::data::fetch::preset_needs(&p, &self.ws.root)),
                    Err(e) => (e.issues.iter().map(|i| i.to_string()).collect(), None),
                };
                PresetRow {
                    path,
                    name,
                    kind,
                    errors,
                    needs,
                    text,
                }
            })
            .collect();
        self.preset_sel = keep
            .and_then(|k| self.presets.iter().position(|p| p.path == k))
            .unwrap_or(self.preset_sel)
            .min(self.presets.len().saturating_sub(1));
    }

    /// The newest sample image of the selected run.
    pub fn newest_sample(&self) -> Option<PathBuf> {
        newest_sample_of(&self.selected_run()?.path)
    }

    /// A test image for translation: the next image of the dataset's test split. For fast style
    /// transfer, a test photo: the preset's `data.sample_images` folder when it names one, else
    /// its `data.dataset` folder.
    pub(super) fn test_image(&self, run: &Path) -> Option<PathBuf> {
        let text = std::fs::read_to_string(RunDir::open(run).preset()).ok()?;
        let t: toml::Table = text.parse().ok()?;
        let data = t.get("data")?;
        let kind = t.get("kind")?.as_str()?;
        let dir = if kind == super::app::FAST_STYLE {
            let folder = |key: &str| {
                data.get(key)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
            };
            self.ws
                .root
                .join(folder("sample_images").or_else(|| folder("dataset"))?)
        } else {
            let root = self.ws.root.join(data.get("dataroot")?.as_str()?);
            match kind {
                "cyclegan" if self.reverse => root.join("testB"),
                "cyclegan" => root.join("testA"),
                _ => root.join("test"),
            }
        };
        let files = crate::data::dataset::list_images(&dir);
        if files.is_empty() {
            return None;
        }
        Some(files[self.test_index % files.len()].clone())
    }
}

/// The newest sample image of a run.
pub fn newest_sample_of(run: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(RunDir::open(run).samples())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    files.pop()
}

/// A sweep's runs together, in task order, where its first run would be.
fn group_sweeps(runs: &mut [list::RunSummary]) {
    let mut first: std::collections::HashMap<String, f64> = Default::default();
    for r in runs.iter() {
        if let Some(s) = &r.sweep {
            let e = first.entry(s.id.clone()).or_insert(r.started);
            *e = e.min(r.started);
        }
    }
    runs.sort_by(|a, b| {
        let key = |r: &list::RunSummary| match &r.sweep {
            Some(s) => (first[&s.id], s.id.clone(), s.index),
            None => (r.started, r.id.clone(), 0),
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0)
            .then(ka.1.cmp(&kb.1))
            .then(ka.2.cmp(&kb.2))
    });
}
