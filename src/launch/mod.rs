//! Where a run runs (docs/ARCHITECTURE.md, "Where a run runs: launchers"): on this machine in the
//! foreground or detached (`local`), queued behind the other runs of a sweep (`sweep`), or as a
//! Slurm job (`slurm`). A launcher only starts trainers and adds its view of a run; the run
//! protocol (`crate::run`) defines the seams — [`crate::run::list::LauncherView`] for readers,
//! [`crate::run::session::Launcher`] for the trainer's session — and knows none of them.

pub mod local;
pub mod queue;
pub mod slurm;
pub mod sweep;

use crate::run::list::{self, LaunchedJob, LauncherView, RunSummary};
use crate::run::session::Launcher;
use crate::run::RunDir;
use std::path::Path;

/// Every launcher's view of runs: today Slurm's (a run with `slurm.json`).
pub struct Launchers;

impl LauncherView for Launchers {
    fn job(&self, run: &RunDir) -> Option<LaunchedJob> {
        slurm::record::read(run).map(|r| LaunchedJob {
            id: r.job,
            output: Some(r.output),
        })
    }

    fn annotate(&self, runs: &mut [RunSummary]) {
        slurm::queue::annotate(runs);
    }
}

/// Every run under `runs_dir`, oldest first, as a user sees it: the runs' own state combined with
/// their launchers' (one batched `squeue` for all Slurm runs that are not over).
pub fn list_runs(runs_dir: &Path) -> Vec<RunSummary> {
    list::list(runs_dir, &Launchers)
}

/// One run as a user sees it (see [`list_runs`]).
pub fn summarize(dir: &Path) -> Option<RunSummary> {
    list::summarize(dir, &Launchers)
}

/// Before this process takes `run`'s lock: inside the Slurm job the run was submitted as, a lock
/// its previous attempt left (killed before it could remove it) is taken over at once (see
/// `slurm::job::InJob::clear_previous_lock`).
pub fn before_lock(run: &RunDir) {
    if let Some(job) = slurm::job::InJob::of(run) {
        job.clear_previous_lock(run);
    }
}

/// The launcher of this process's attempt at `run`, when one has a say in how it ends: the Slurm
/// job this process runs in, if the run was submitted as it (waits up to 60 s for the submitter
/// to record the job; see `slurm::job::InJob::of`).
pub fn attempt_launcher(run: &RunDir) -> Option<Box<dyn Launcher>> {
    slurm::job::InJob::of(run).map(|j| Box::new(j) as Box<dyn Launcher>)
}
