//! Following the workspace with file notifications: `runs/` (status, metrics, samples and
//! checkpoints inside each run), `presets/` and `datasets/`, each file added, changed or removed.
//! Events are debounced (notify-debouncer-full, as the trainer's preset watcher) and told as which
//! part of the workspace changed; folders that appear later (`datasets/` made by the first
//! `dataset prepare`) are watched from the next [`Follow::ensure`], which the tick calls.

use super::app::Changed;
use crate::workspace::Workspace;
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the workspace's parts are, as notify names them (absolute paths).
#[derive(Clone)]
struct Parts {
    runs: PathBuf,
    presets: PathBuf,
    datasets: PathBuf,
}

impl Parts {
    fn of(ws: &Workspace) -> Self {
        let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        Self {
            runs: abs(ws.runs()),
            presets: abs(ws.presets()),
            datasets: abs(ws.datasets()),
        }
    }

    /// Which part of the workspace a changed path belongs to.
    fn classify(&self, path: &Path, into: &mut Changed) {
        if path.starts_with(&self.runs) {
            into.runs = true;
        } else if path.starts_with(&self.presets) {
            into.presets = true;
        } else if let Ok(rest) = path.strip_prefix(&self.datasets) {
            match rest.components().next() {
                Some(c) => {
                    into.datasets
                        .insert(c.as_os_str().to_string_lossy().into_owned());
                }
                None => into.all_datasets = true,
            }
        }
    }
}

pub struct Follow {
    debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    parts: Parts,
    watched: Vec<PathBuf>,
    /// folders that could not be watched (inotify's limit, …): not tried again every tick, which
    /// would walk a large dataset tree each second; the tick still re-reads the runs
    failed: Vec<PathBuf>,
    /// why, once, for the message line
    pub problem: Option<String>,
}

impl Follow {
    /// Starts watching; `send` gets what changed, from notify's thread.
    pub fn new(ws: &Workspace, send: impl Fn(Changed) + Send + 'static) -> notify::Result<Self> {
        let parts = Parts::of(ws);
        let p = parts.clone();
        let debouncer = new_debouncer(
            Duration::from_millis(200),
            None,
            move |res: DebounceEventResult| {
                let Ok(events) = res else { return };
                let mut changed = Changed::default();
                for e in events {
                    // reading a file ourselves makes Access events: reloading on them feeds itself
                    if matches!(e.kind, EventKind::Access(_)) {
                        continue;
                    }
                    for path in &e.paths {
                        p.classify(path, &mut changed);
                    }
                }
                if !changed.is_empty() {
                    send(changed);
                }
            },
        )?;
        let mut follow = Self {
            debouncer,
            parts,
            watched: vec![],
            failed: vec![],
            problem: None,
        };
        follow.ensure();
        Ok(follow)
    }

    /// Watches each part of the workspace that exists and is not watched yet (or was removed and
    /// made again); says which ones it took on, so they are read again.
    pub fn ensure(&mut self) -> Changed {
        let mut took = Changed::default();
        let Parts {
            runs,
            presets,
            datasets,
        } = self.parts.clone();
        for (dir, mode) in [
            (runs, RecursiveMode::Recursive),
            (presets, RecursiveMode::NonRecursive),
            (datasets, RecursiveMode::Recursive),
        ] {
            let known = self.watched.contains(&dir);
            if known && !dir.is_dir() {
                let _ = self.debouncer.unwatch(&dir);
                self.watched.retain(|d| *d != dir);
                self.parts.classify(&dir, &mut took);
            } else if !known && !self.failed.contains(&dir) && dir.is_dir() {
                match self.debouncer.watch(&dir, mode) {
                    Ok(()) => {
                        self.watched.push(dir.clone());
                        self.parts.classify(&dir, &mut took);
                    }
                    Err(e) => {
                        self.problem = Some(format!(
                            "cannot follow {} with file notifications ({e}): changes there show after a restart (runs: within the 1 s tick)",
                            dir.display()
                        ));
                        self.failed.push(dir);
                    }
                }
            }
        }
        took
    }
}
