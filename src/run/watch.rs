//! Watching a preset file for edits (notify + debouncer-full). The parent folder is watched, since
//! editors save by rename (a watch on the file itself goes silent after it); events of any kind
//! but Access that name the preset count, and the caller skips content it has already seen.

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

pub struct PresetWatcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    rx: Receiver<DebounceEventResult>,
    name: std::ffi::OsString,
}

impl PresetWatcher {
    pub fn new(preset: &Path) -> notify::Result<Self> {
        let abs: PathBuf = std::path::absolute(preset).unwrap_or_else(|_| preset.to_path_buf());
        let dir = abs
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = abs
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        let (tx, rx) = channel();
        let mut debouncer = new_debouncer(Duration::from_millis(250), None, tx)?;
        debouncer.watch(&dir, RecursiveMode::NonRecursive)?;
        Ok(Self {
            _debouncer: debouncer,
            rx,
            name,
        })
    }

    /// Whether the preset may have changed since the last call.
    pub fn changed(&self) -> bool {
        let mut hit = false;
        while let Ok(res) = self.rx.try_recv() {
            if let Ok(events) = res {
                for e in events {
                    if matches!(e.kind, EventKind::Access(_)) {
                        continue;
                    }
                    if e.paths
                        .iter()
                        .any(|p| p.file_name() == Some(self.name.as_os_str()))
                    {
                        hit = true;
                    }
                }
            }
        }
        hit
    }
}
