//! Following a run's preset file: the watcher, the hashes of what was already seen, and what an
//! edit (or a `set` command) leads to — applied when it changes only live fields
//! (`preset::live`), else rejected with the reason; either way answered in events.jsonl.

use super::dir::RunDir;
use super::steer::Steer;
use super::watch::PresetWatcher;
use crate::preset::{self, live, Preset};
use anyhow::Result;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// Where the preset comes from: the file the run was started from, with its `--set` overrides.
pub struct PresetSource {
    pub path: Option<PathBuf>,
    pub overrides: Vec<String>,
}

/// The preset source of a run started from `path` (absolute, so a detached trainer finds it).
pub fn source_of(path: &Path, overrides: &[String]) -> PresetSource {
    let path = (path.is_file())
        .then(|| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
    PresetSource {
        path,
        overrides: overrides.to_vec(),
    }
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The preset file of a live run as last seen, and its watcher.
pub struct Follow {
    watcher: Option<PresetWatcher>,
    pub source: PresetSource,
    last_hash: Option<u64>,
    /// The preset file's last good version (effective, with the start overrides).
    last_file: Option<toml::Value>,
    /// The preset file's last version as written (effective, without the start overrides): what
    /// an edit changed in the file itself, including fields the overrides fix.
    last_raw: Option<toml::Value>,
}

impl Follow {
    /// Starts watching `source`'s file (none, or one that is not there: nothing to follow) and
    /// reads its version now.
    pub fn new(source: PresetSource) -> Self {
        let watcher = source
            .path
            .as_deref()
            .filter(|p| p.is_file())
            .and_then(|p| PresetWatcher::new(p).ok());
        let file_text = source.path.as_deref().and_then(|p| std::fs::read(p).ok());
        let last_hash = file_text.as_deref().map(hash);
        let parsed = |overrides: &[String]| match (&source.path, &file_text) {
            (Some(p), Some(b)) => preset::parse(&String::from_utf8_lossy(b), p, overrides)
                .ok()
                .map(|p| p.effective_value()),
            _ => None,
        };
        let last_file = parsed(&source.overrides);
        let last_raw = parsed(&[]);
        Self {
            watcher,
            source,
            last_hash,
            last_file,
            last_raw,
        }
    }

    /// Whether the watcher saw the file change since the last call.
    pub fn changed(&self) -> bool {
        self.watcher.as_ref().is_some_and(|w| w.changed())
    }

    /// Applies `new` (a parsed, valid preset) if it changes only live fields; answers either way.
    /// Returns whether the preset in force is now `new`.
    fn offer(
        &mut self,
        run: &RunDir,
        t: &mut impl Steer,
        new: Preset,
        req: Option<&str>,
    ) -> Result<bool> {
        let old = t.preset();
        let (live_changes, frozen) =
            live::classify(live::diff(&old.effective_value(), &new.effective_value()));
        if !frozen.is_empty() {
            let fields = frozen
                .iter()
                .map(|c| format!("{} ({} -> {})", c.field, c.old, c.new))
                .collect::<Vec<_>>()
                .join(", ");
            run.append_answer(
                "preset_rejected",
                &format!(
                    "{fields}: cannot change while the run is live; the run goes on unchanged"
                ),
                req,
            )?;
            return Ok(false);
        }
        if live_changes.is_empty() {
            if req.is_some() {
                run.append_answer("preset_applied", "no change", req)?;
            }
            return Ok(true);
        }
        t.apply(&new)?;
        run.write_preset(&new.to_toml())?;
        run.append_answer("preset_applied", &live::describe(&live_changes), req)?;
        Ok(true)
    }

    fn reject(run: &RunDir, e: &preset::PresetError, req: Option<&str>) -> Result<()> {
        let msg = e
            .issues
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        run.append_answer(
            "preset_rejected",
            &format!("{msg}; the run goes on unchanged"),
            req,
        )?;
        Ok(())
    }

    /// `set` from the command line: the fields on top of the preset in force.
    pub fn set(
        &mut self,
        run: &RunDir,
        t: &mut impl Steer,
        args: &[String],
        req: Option<&str>,
    ) -> Result<()> {
        let current = t.preset().to_toml();
        match preset::parse(&current, &run.preset(), args) {
            Ok(new) => {
                self.offer(run, t, new, req)?;
            }
            Err(e) => Self::reject(run, &e, req)?,
        }
        Ok(())
    }

    /// The preset file changed: what changed in it since its last good version is applied on top
    /// of the preset in force (so `runs set` changes to other fields stay).
    pub fn reload(&mut self, run: &RunDir, t: &mut impl Steer) -> Result<()> {
        let Some(path) = self.source.path.clone() else {
            return Ok(());
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()), // mid-rename; the next event brings it
            Err(e) => {
                run.append_event(
                    "preset_rejected",
                    &format!("{}: cannot read: {e}", path.display()),
                )?;
                return Ok(());
            }
        };
        let h = hash(&bytes);
        if self.last_hash == Some(h) {
            return Ok(());
        }
        self.last_hash = Some(h);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.report_fixed(run, &text, &path)?;
        let file_new = match preset::parse(&text, &path, &self.source.overrides) {
            Ok(p) => p.effective_value(),
            Err(e) => return Self::reject(run, &e, None),
        };
        let file_old = match &self.last_file {
            Some(v) => v.clone(),
            None => t.preset().effective_value(),
        };
        let merged = live::merge(&t.preset().effective_value(), &file_old, &file_new);
        let merged_text = toml::to_string_pretty(&merged)?;
        match preset::parse(&merged_text, &path, &[]) {
            Ok(new) => {
                if self.offer(run, t, new, None)? {
                    self.last_file = Some(file_new);
                }
            }
            Err(e) => Self::reject(run, &e, None)?,
        }
        Ok(())
    }

    /// Fields an edit of the preset file changed that the run's start overrides fix (a sweep's
    /// grid value for this run, a `--set`): the merge keeps the override, so the edit would vanish
    /// without a word. Each is said as a `preset_rejected` event, with what fixes it.
    fn report_fixed(&mut self, run: &RunDir, text: &str, path: &Path) -> Result<()> {
        let raw_new = preset::parse(text, path, &[])
            .ok()
            .map(|p| p.effective_value());
        let raw_old = match raw_new.clone() {
            Some(v) => self.last_raw.replace(v),
            None => return Ok(()),
        };
        let (Some(old), Some(new)) = (raw_old, raw_new) else {
            return Ok(());
        };
        let grid = run
            .read_info()
            .ok()
            .and_then(|i| i.sweep)
            .map(|s| s.values)
            .unwrap_or_default();
        for c in live::diff(&old, &new) {
            let fixing = |list: &[String]| {
                list.iter()
                    .rev()
                    .find(|o| o.split_once('=').is_some_and(|(k, _)| k.trim() == c.field))
                    .cloned()
            };
            let by = if let Some(v) = fixing(&grid) {
                format!("the sweep's grid fixes it for this run ({v})")
            } else if let Some(v) = fixing(&self.source.overrides) {
                format!("the run was started with --set {v}")
            } else {
                continue;
            };
            run.append_event(
                "preset_rejected",
                &format!(
                    "{}: {} -> {} in {}, but {by}: kept as it was",
                    c.field,
                    c.old,
                    c.new,
                    path.display()
                ),
            )?;
        }
        Ok(())
    }
}
