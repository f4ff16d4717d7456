//! The runs of a workspace as `aiart runs list/show` and the dashboard see them: state from
//! status.json, `crashed` when the trainer is gone, the latest losses from metrics.jsonl. A
//! launcher that started a run elsewhere (a Slurm job) adds its view through [`LauncherView`]:
//! this module defines that seam and knows no launcher (`src/launch/` fills it).

use super::dir::RunDir;
use super::lock::trainer_alive;
use super::metrics;
use super::status::RunState;
use crate::device::GpuSample;
use crate::preset::Kind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::path::{Path, PathBuf};

/// The state a user sees: the trainer's own (status.json's [`RunState`]), or what the readers
/// conclude beside it — `crashed` (the trainer is gone without a final status), and from a
/// launcher's view `preempted` or `cancelled`. Written as today's lowercase strings.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    Running,
    Paused,
    Finished,
    Failed,
    Stopped,
    Queued,
    Requeued,
    Timeout,
    /// The trainer is gone (stale heartbeat, no process) without writing how the run ended
    Crashed,
    /// The launcher took the job's place back (Slurm's PREEMPTED)
    Preempted,
    /// The launcher's job was cancelled (scancel)
    Cancelled,
}

impl UserState {
    /// Every state, as `runs list` may show it.
    pub const ALL: [UserState; 11] = [
        UserState::Running,
        UserState::Paused,
        UserState::Finished,
        UserState::Failed,
        UserState::Stopped,
        UserState::Queued,
        UserState::Requeued,
        UserState::Timeout,
        UserState::Crashed,
        UserState::Preempted,
        UserState::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            UserState::Running => "running",
            UserState::Paused => "paused",
            UserState::Finished => "finished",
            UserState::Failed => "failed",
            UserState::Stopped => "stopped",
            UserState::Queued => "queued",
            UserState::Requeued => "requeued",
            UserState::Timeout => "timeout",
            UserState::Crashed => "crashed",
            UserState::Preempted => "preempted",
            UserState::Cancelled => "cancelled",
        }
    }

    /// The state spelled `text`; None for no state.
    pub fn parse(text: &str) -> Option<UserState> {
        UserState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl From<RunState> for UserState {
    fn from(s: RunState) -> Self {
        match s {
            RunState::Running => UserState::Running,
            RunState::Paused => UserState::Paused,
            RunState::Finished => UserState::Finished,
            RunState::Failed => UserState::Failed,
            RunState::Stopped => UserState::Stopped,
            RunState::Queued => UserState::Queued,
            RunState::Requeued => UserState::Requeued,
            RunState::Timeout => UserState::Timeout,
        }
    }
}

impl std::fmt::Display for UserState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Compares with a state as files and Slurm's mapping spell it.
impl PartialEq<&str> for UserState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One run, as the stable `--json` document.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunSummary {
    pub id: String,
    pub path: PathBuf,
    pub kind: Kind,
    /// running, paused, finished, stopped, failed, crashed; for Slurm runs also queued, requeued,
    /// timeout, preempted, cancelled
    pub state: UserState,
    /// What else the state needs said: Slurm's pending reason (`Resources`, `stuck: PartitionConfig`),
    /// the node, why Slurm ended the job
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Where a coarse-to-fine style transfer is: `scale 2/4 1024px`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<String>,
    /// The launcher's job (a Slurm job `123`, `120_3`) of a run submitted with `--slurm`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Where that job's output goes (Slurm writes why it ended a job there)
    #[serde(skip)]
    pub job_output: Option<PathBuf>,
    /// The sweep the run belongs to
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::run::dir::SweepTag>,
    pub step: u64,
    pub total_steps: u64,
    pub epoch: u64,
    pub losses: Map<String, Value>,
    /// The GPU of a CUDA run at its last heartbeat (absent on the CPU or without NVML)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuSample>,
    /// Training images per second at the last heartbeat
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_per_s: Option<f64>,
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
        matches!(self.state, UserState::Running | UserState::Paused)
    }

    /// Whether the run waits for its first start (queued, its steps not counted yet: a queued
    /// status knows no schedule).
    pub fn not_started(&self) -> bool {
        self.state == UserState::Queued && self.step == 0 && self.total_steps == 0
    }

    /// `step/total` as lists show it; `-` for a run that has not started (its planned steps are
    /// counted when its trainer starts), never `0/0`.
    pub fn steps_text(&self) -> String {
        if self.not_started() {
            "-".into()
        } else {
            format!("{}/{}", self.step, self.total_steps)
        }
    }

    /// The GPU and the speed, for people: `GPU 87% · 15.6/133.9 GiB · 54 °C · 412 W · 12.3 img/s`;
    /// None for a run without GPU readings.
    pub fn gpu_text(&self) -> Option<String> {
        let g = self.gpu.as_ref()?;
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        let mut parts = vec![
            format!("GPU {}%", g.util_percent),
            format!("{:.1}/{:.1} GiB", gib(g.memory_used), gib(g.memory_total)),
        ];
        parts.extend(g.temperature_c.map(|t| format!("{t} °C")));
        parts.extend(g.power_w.map(|w| format!("{w:.0} W")));
        parts.extend(self.speed_text());
        Some(parts.join(" · "))
    }

    /// `12.3 img/s`, when the trainer measured it.
    pub fn speed_text(&self) -> Option<String> {
        let r = self.images_per_s?;
        let decimals = match r {
            r if r >= 100.0 => 0,
            r if r >= 1.0 => 1,
            _ => 2,
        };
        Some(format!("{r:.decimals$} img/s"))
    }

    /// Not over yet: running, paused, or waiting in Slurm's queue.
    pub fn pending_or_alive(&self) -> bool {
        self.alive() || matches!(self.state, UserState::Queued | UserState::Requeued)
    }
}

pub use super::metrics::tail_text as tail;

/// The job a launcher started a run as, from the launcher's own records in the run directory.
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchedJob {
    /// The launcher's id for it (`123`, `120_3` for a Slurm array task)
    pub id: String,
    /// Where the job's output goes
    pub output: Option<PathBuf>,
}

/// What the launchers add to the runs' own view (`src/launch/` implements it).
///
/// A run with a job is never judged `crashed` from its pid here (the trainer may run on another
/// host, or not have started): [`LauncherView::annotate`] decides, with one batched question to the
/// launcher for all the runs that are not over.
pub trait LauncherView {
    /// The job this run was launched as, if a launcher other than this machine started it.
    fn job(&self, run: &RunDir) -> Option<LaunchedJob>;
    /// Combines the runs' own states (raw, for runs with a job) with the launcher's view: the state
    /// a user sees and its `detail` (a pending reason, the node, why the job ended).
    fn annotate(&self, runs: &mut [RunSummary]);
}

/// No launcher but this machine's processes: every run is judged by its pid and heartbeat.
pub struct LocalOnly;

impl LauncherView for LocalOnly {
    fn job(&self, _: &RunDir) -> Option<LaunchedJob> {
        None
    }
    fn annotate(&self, _: &mut [RunSummary]) {}
}

/// One run, with the launchers' view of it.
pub fn summarize(dir: &Path, view: &dyn LauncherView) -> Option<RunSummary> {
    let mut one = vec![summarize_own(dir, view)?];
    view.annotate(&mut one);
    one.pop()
}

/// One run from its own files only (a run with a launcher's job keeps its raw status state: the
/// launcher's `annotate` decides).
fn summarize_own(dir: &Path, view: &dyn LauncherView) -> Option<RunSummary> {
    let run = RunDir::open(dir);
    let info = run.read_info().ok()?;
    let status = run.read_status().ok();
    let (gpu, images_per_s) = status
        .as_ref()
        .map_or((None, None), |s| (s.gpu.clone(), s.images_per_s));
    let (mut state, step, total, epoch, updated, pid, host) = match &status {
        Some(s) => (
            UserState::from(s.state),
            s.step,
            s.total_steps,
            s.epoch,
            s.heartbeat,
            s.pid,
            s.host.clone(),
        ),
        None => (
            UserState::Running,
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
    let job = view.job(&run);
    if live && job.is_none() && !trainer_alive(pid, &host, updated) {
        state = UserState::Crashed;
    }
    let record = metrics::last(&run.metrics());
    let scale = record.as_ref().and_then(|r| r.scale).map(|s| s.text());
    let losses: Map<String, Value> = record
        .map(|r| r.losses)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Number::from_f64(v).map_or(Value::Null, Value::Number)))
        .collect();
    Some(RunSummary {
        id: run.id(),
        path: dir.to_path_buf(),
        kind: info.kind,
        state,
        // a run --max-steps ended says so where its state is shown
        detail: match &status {
            Some(s)
                if s.state == RunState::Finished && s.max_steps.is_some_and(|m| s.step >= m) =>
            {
                format!("--max-steps {}", s.step)
            }
            _ => String::new(),
        },
        scale,
        job_output: job.as_ref().and_then(|j| j.output.clone()),
        job: job.map(|j| j.id),
        sweep: info.sweep,
        step,
        total_steps: total,
        epoch,
        losses,
        gpu,
        images_per_s,
        updated,
        pid,
        host,
        started: info.started,
    })
}

/// Every run under `runs/`, oldest first, with the launchers' view of them.
pub fn list(runs_dir: &Path, view: &dyn LauncherView) -> Vec<RunSummary> {
    let mut out: Vec<RunSummary> = std::fs::read_dir(runs_dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| summarize_own(&e.path(), view))
                .collect()
        })
        .unwrap_or_default();
    view.annotate(&mut out);
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

#[cfg(test)]
mod tests {
    use super::{RunState, UserState};

    #[test]
    fn user_states_are_spelled_as_before() {
        for s in UserState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<UserState>(&json).unwrap(), s);
            assert_eq!(UserState::parse(s.as_str()), Some(s));
        }
        // the trainer's own states read the same through either type
        for r in [RunState::Running, RunState::Queued, RunState::Timeout] {
            assert_eq!(UserState::from(r).as_str(), r.as_str());
        }
    }
}
