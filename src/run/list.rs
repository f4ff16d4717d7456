//! The runs of a workspace as `aiart runs list/show` and the dashboard see them: state from
//! status.json, `crashed` when the trainer is gone, the latest losses from metrics.jsonl.

use super::dir::RunDir;
use super::lock::trainer_alive;
use super::status::RunState;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// One run, as the stable `--json` document.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunSummary {
    pub id: String,
    pub path: PathBuf,
    pub kind: String,
    /// running, paused, finished, stopped, failed, crashed
    pub state: String,
    pub step: u64,
    pub total_steps: u64,
    pub epoch: u64,
    pub losses: Map<String, Value>,
    /// unix seconds of the last heartbeat (or of the run's start)
    pub updated: f64,
    #[serde(skip)]
    pub pid: u32,
    #[serde(skip)]
    pub host: String,
    #[serde(skip)]
    pub started: f64,
}

impl RunSummary {
    pub fn alive(&self) -> bool {
        self.state == "running" || self.state == "paused"
    }
}

/// The last complete line of a JSONL file, read from its end.
pub fn last_record(path: &Path) -> Option<Map<String, Value>> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(64 * 1024);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = String::new();
    f.read_to_string(&mut buf).ok()?;
    buf.lines().rev().find_map(|l| serde_json::from_str(l).ok())
}

pub const RECORD_FIELDS: [&str; 4] = ["step", "epoch", "time", "lr"];

pub fn summarize(dir: &Path) -> Option<RunSummary> {
    let run = RunDir::open(dir);
    let info = run.read_info().ok()?;
    let status = run.read_status().ok();
    let (mut state, step, total, epoch, updated, pid, host) = match &status {
        Some(s) => {
            let st = serde_json::to_value(s.state).ok()?.as_str()?.to_string();
            (
                st,
                s.step,
                s.total_steps,
                s.epoch,
                s.heartbeat,
                s.pid,
                s.host.clone(),
            )
        }
        None => (
            "running".into(),
            0,
            0,
            0,
            info.started,
            info.pid,
            info.host.clone(),
        ),
    };
    let live = matches!(
        status.as_ref().map(|s| s.state),
        Some(RunState::Running) | Some(RunState::Paused) | None
    );
    if live && !trainer_alive(pid, &host, updated) {
        state = "crashed".into();
    }
    let mut losses = last_record(&run.metrics()).unwrap_or_default();
    losses.retain(|k, _| !RECORD_FIELDS.contains(&k.as_str()));
    Some(RunSummary {
        id: run.id(),
        path: dir.to_path_buf(),
        kind: info.kind,
        state,
        step,
        total_steps: total,
        epoch,
        losses,
        updated,
        pid,
        host,
        started: info.started,
    })
}

/// Every run under `runs/`, oldest first.
pub fn list(runs_dir: &Path) -> Vec<RunSummary> {
    let mut out: Vec<RunSummary> = std::fs::read_dir(runs_dir)
        .map(|rd| rd.flatten().filter_map(|e| summarize(&e.path())).collect())
        .unwrap_or_default();
    out.sort_by(|a, b| {
        a.started
            .partial_cmp(&b.started)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.id.cmp(&b.id))
    });
    out
}

/// A run named by its folder or by its id (or a unique prefix of it) under `runs/`.
pub fn resolve(runs_dir: &Path, name: &str) -> Result<PathBuf, String> {
    let p = Path::new(name);
    if p.join("run.json").is_file() {
        return Ok(p.to_path_buf());
    }
    let exact = runs_dir.join(name);
    if exact.join("run.json").is_file() {
        return Ok(exact);
    }
    let matches: Vec<PathBuf> = std::fs::read_dir(runs_dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(name))
                        && p.join("run.json").is_file()
                })
                .collect()
        })
        .unwrap_or_default();
    match matches.len() {
        1 => Ok(matches[0].clone()),
        0 => Err(format!(
            "no run `{name}`: not a run folder, nor a run id under {}",
            runs_dir.display()
        )),
        n => Err(format!(
            "`{name}` names {n} runs under {}; give more of the id",
            runs_dir.display()
        )),
    }
}
