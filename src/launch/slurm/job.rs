//! The trainer's side of a Slurm job: which job it is, how long it has left, and requeueing itself
//! before the time limit (`scontrol requeue`, within the requeue budget).

use super::record::{self, Attempt};
use crate::run::dir::hostname;
use crate::run::session::Launcher;
use crate::run::{clock, RunDir, RunState};
use std::process::Command;

/// The job this process runs in, when the run was submitted as that job.
#[derive(Clone, Debug)]
pub struct InJob {
    /// `SLURM_JOB_ID`
    pub job_id: String,
    /// `(SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID)` of an array task
    pub array: Option<(String, String)>,
    /// `SLURM_RESTART_COUNT` (unset on the first run)
    pub restart: u32,
    pub max_requeues: u32,
    pub signal_margin: u64,
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

impl InJob {
    /// The job from the environment, if `run` was submitted as it (its `slurm.json` names it):
    /// `aiart train` typed into an interactive allocation is not a submitted run.
    pub fn of(run: &RunDir) -> Option<Self> {
        let job_id = env("SLURM_JOB_ID")?;
        let array = env("SLURM_ARRAY_JOB_ID").zip(env("SLURM_ARRAY_TASK_ID"));
        let me = Self {
            job_id,
            array,
            restart: env("SLURM_RESTART_COUNT")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            max_requeues: env("AIART_SLURM_MAX_REQUEUES")
                .and_then(|v| v.parse().ok())
                .unwrap_or(super::config::DEFAULT_MAX_REQUEUES),
            signal_margin: env("AIART_SLURM_SIGNAL_MARGIN")
                .and_then(|v| v.parse().ok())
                .unwrap_or(super::config::DEFAULT_SIGNAL_MARGIN as u64),
        };
        // the submitter writes slurm.json right after sbatch answers: a job that starts at once
        // waits for it (the script marks a submitted run)
        let submitted = env("AIART_SLURM_SUBMITTED").is_some();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let rec = record::read(run);
            if rec.as_ref().is_some_and(|r| r.job == me.id()) {
                return Some(me);
            }
            if !submitted || std::time::Instant::now() > deadline {
                if submitted {
                    eprintln!(
                        "warning: {} does not name job {} after 60 s: no requeue before the time limit",
                        record::path(run).display(),
                        me.id()
                    );
                }
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// The id Slurm's commands take for this job: `A_T` for an array task (requeueing the array's
    /// own id would requeue every task), else the job id.
    pub fn id(&self) -> String {
        match &self.array {
            Some((a, t)) => format!("{a}_{t}"),
            None => self.job_id.clone(),
        }
    }

    pub fn may_requeue(&self) -> bool {
        self.restart < self.max_requeues
    }

    /// `scontrol requeue` of this job; it runs again (and resumes) once this process has exited.
    pub fn requeue(&self) -> Result<(), String> {
        let out = Command::new("scontrol")
            .args(["requeue", &self.id()])
            .output()
            .map_err(|e| format!("scontrol requeue {}: {e}", self.id()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "scontrol requeue {}: {}",
                self.id(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Seconds until the time limit, from Slurm (None when unlimited or unknown).
    pub fn seconds_left(&self) -> Option<u64> {
        let out = Command::new("squeue")
            .args(["-h", "-j", &self.id(), "-o", "%L"])
            .output()
            .ok()?;
        parse_time_left(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// Adds this attempt to `slurm.json`.
    fn record_start(&self, run: &RunDir, step: u64) {
        let a = Attempt {
            restart: self.restart,
            job_id: self.job_id.clone(),
            node: hostname(),
            pid: std::process::id(),
            start: clock::now(),
            from_step: step,
            ..Default::default()
        };
        let _ = record::update(run, |r| r.attempts.push(a));
    }

    /// A lock left by this job's previous attempt (killed before it could remove it) is taken
    /// over at once: Slurm runs one attempt of a job at a time, so that trainer is gone, even on
    /// another node whose heartbeat would look fresh for another 30 s.
    pub fn clear_previous_lock(&self, run: &RunDir) {
        let Some((pid, host)) = crate::run::lock::holder(run) else {
            return;
        };
        let previous = record::read(run).and_then(|r| r.attempts.last().cloned());
        if previous.is_some_and(|a| a.pid == pid && a.node == host && a.restart < self.restart) {
            crate::run::lock::clear(run);
        }
    }

    /// Closes this attempt in `slurm.json`.
    fn record_end(&self, run: &RunDir, state: &str, step: u64) {
        let _ = record::update(run, |r| {
            if let Some(a) = r.attempts.last_mut() {
                a.end = Some(clock::now());
                a.to_step = Some(step);
                a.state = Some(state.into());
            }
        });
    }
}

/// The session's view of the job: a deadline before the time limit, requeue within the budget.
impl Launcher for InJob {
    fn attempt_started(&self, run: &RunDir, step: u64) -> Option<f64> {
        self.record_start(run, step);
        let left = self.seconds_left()?;
        Some(clock::now() + left.saturating_sub(self.signal_margin) as f64)
    }

    fn hand_back(&self, run: &RunDir, step: u64) -> (RunState, &'static str, String) {
        if self.may_requeue() {
            (
                RunState::Requeued,
                "requeued",
                format!(
                    "checkpointed at step {step} before the time limit; requeued job {} \
                     (restart {} of at most {}); it resumes from step {step}",
                    self.id(),
                    self.restart + 1,
                    self.max_requeues
                ),
            )
        } else {
            (
                RunState::Timeout,
                "timeout",
                format!(
                    "checkpointed at step {step} before the time limit; the requeue budget \
                     ({} restarts) is spent: resubmit, or `aiart train --resume {}`",
                    self.max_requeues,
                    run.root.display()
                ),
            )
        }
    }

    fn attempt_ended(&self, run: &RunDir, state: RunState, step: u64) {
        self.record_end(run, state.as_str(), step);
    }

    fn requeue(&self) -> Result<(), String> {
        InJob::requeue(self)
    }
}

/// squeue's `%L`: `[D-]HH:MM:SS`, `MM:SS`, or `UNLIMITED` / `NOT_SET`.
pub fn parse_time_left(s: &str) -> Option<u64> {
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, s),
    };
    let parts: Vec<u64> = rest
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let secs = match parts.as_slice() {
        [s] => *s,
        [m, s] => m * 60 + s,
        [h, m, s] => h * 3600 + m * 60 + s,
        _ => return None,
    };
    Some(days * 86400 + secs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_left() {
        use super::parse_time_left as p;
        assert_eq!(p("0:42"), Some(42));
        assert_eq!(p("1:00:05"), Some(3605));
        assert_eq!(p("2-01:00:00"), Some(2 * 86400 + 3600));
        assert_eq!(p("UNLIMITED"), None);
        assert_eq!(p(""), None);
    }
}
