//! `slurm.json` in a run directory: the job a run was submitted as and each attempt of it (a
//! requeued job runs again). The submitter writes it before the job may start (the job is submitted
//! held); afterwards only the trainer inside the job updates it, atomically.

use crate::atomic::write_atomic;
use crate::run::RunDir;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Attempt {
    /// `SLURM_RESTART_COUNT` (0 for the first run)
    pub restart: u32,
    /// `SLURM_JOB_ID` of this attempt (an array task's own id)
    pub job_id: String,
    pub node: String,
    /// The trainer's pid on that node
    #[serde(default)]
    pub pid: u32,
    pub start: f64,
    /// The step the attempt started from (its checkpoint)
    pub from_step: u64,
    #[serde(default)]
    pub end: Option<f64>,
    #[serde(default)]
    pub to_step: Option<u64>,
    /// How it ended, as the trainer saw it: finished, stopped, requeued, timeout, failed
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct SlurmRecord {
    /// The job as Slurm's commands take it: `123`, or `120_3` for an array task
    pub job: String,
    /// The job's output file (Slurm's `--output`, with the id filled in)
    pub output: PathBuf,
    pub script: PathBuf,
    pub submitted: f64,
    pub max_requeues: u32,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

pub fn path(run: &RunDir) -> PathBuf {
    run.root.join("slurm.json")
}

pub fn read(run: &RunDir) -> Option<SlurmRecord> {
    read_at(&path(run))
}

fn read_at(p: &Path) -> Option<SlurmRecord> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

pub fn write(run: &RunDir, r: &SlurmRecord) -> std::io::Result<()> {
    write_atomic(&path(run), &serde_json::to_vec_pretty(r)?)
}

/// Changes the record in place (read, change, atomic rewrite).
pub fn update(run: &RunDir, f: impl FnOnce(&mut SlurmRecord)) -> std::io::Result<()> {
    let Some(mut r) = read(run) else {
        return Ok(());
    };
    f(&mut r);
    write(run, &r)
}
