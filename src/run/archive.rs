//! Putting runs away: a finished, stopped, failed or crashed run is moved whole to the workspace's
//! `archive/runs/` (kept, out of the lists) or, when asked for by name, deleted. A live run is
//! never touched: its trainer still owns the folder. Nothing is overwritten: an archived run of the
//! same id already there is an error, not a merge.

use super::list::{self, LauncherView, RunSummary};
use std::path::{Path, PathBuf};

/// Where a workspace keeps archived runs.
pub fn archive_dir(workspace: &Path) -> PathBuf {
    workspace.join("archive").join("runs")
}

/// Why a run may not be put away now, if it may not: its trainer is live, or it waits in a queue.
pub fn refuse(run: &RunSummary) -> Option<String> {
    run.pending_or_alive().then(|| {
        format!(
            "run {} is {}: stop it first (aiart runs stop {})",
            run.id, run.state, run.id
        )
    })
}

/// Moves a run folder to the archive; returns where it went. `view`: the launchers' view, which
/// decides whether a run with a job is still queued or live.
pub fn archive(workspace: &Path, run: &Path, view: &dyn LauncherView) -> Result<PathBuf, String> {
    let s = list::summarize(run, view)
        .ok_or_else(|| format!("{}: not a run (no run.json)", run.display()))?;
    if let Some(why) = refuse(&s) {
        return Err(why);
    }
    let dir = archive_dir(workspace);
    let to = dir.join(&s.id);
    if to.exists() {
        return Err(format!(
            "{} is already archived at {}: move or delete that one first",
            s.id,
            to.display()
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // a rename keeps the folder whole; across file systems it fails, and nothing has moved
    std::fs::rename(run, &to).map_err(|e| {
        format!(
            "cannot move {} to {}: {e} (is archive/ on another file system?)",
            run.display(),
            to.display()
        )
    })?;
    Ok(to)
}

/// Deletes a run folder for good (`view` as for [`archive`]).
pub fn delete(run: &Path, view: &dyn LauncherView) -> Result<(), String> {
    let s = list::summarize(run, view)
        .ok_or_else(|| format!("{}: not a run (no run.json)", run.display()))?;
    if let Some(why) = refuse(&s) {
        return Err(why);
    }
    std::fs::remove_dir_all(run).map_err(|e| format!("cannot delete {}: {e}", run.display()))
}
