//! What Slurm says of the jobs of runs that are not over: one batched `squeue` for all of them, at
//! most every 15 s per process (the dashboard asks each second; the CLI once); for a job `squeue`
//! no longer knows, `sacct` once (remembered when accounting is disabled), else the end of the
//! job's output, where Slurm writes why it cancelled a job.

use crate::run::list::{tail, RunSummary, UserState};
use crate::run::lock::trainer_alive;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A job as Slurm reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobView {
    /// PENDING, RUNNING, COMPLETING, COMPLETED, TIMEOUT, PREEMPTED, CANCELLED, FAILED …
    pub state: String,
    /// The pending reason (Resources, Priority, BeginTime, PartitionConfig …); "None" when running
    pub reason: String,
    pub node: String,
}

/// At most one `squeue` per this interval in a process.
pub const POLL: Duration = Duration::from_secs(15);

struct Cache {
    at: Instant,
    ids: Vec<String>,
    jobs: HashMap<String, JobView>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);
static SACCT_DISABLED: Mutex<bool> = Mutex::new(false);

/// The jobs Slurm still knows among `ids` (one squeue for all; cached for [`POLL`]). None when
/// Slurm cannot be asked (no squeue, no controller): then nothing is known of any job.
pub fn lookup(ids: &[String]) -> Option<HashMap<String, JobView>> {
    if ids.is_empty() {
        return Some(HashMap::new());
    }
    let mut cache = CACHE.lock().expect("slurm cache");
    if let Some(c) = cache.as_ref() {
        if c.at.elapsed() < POLL && ids.iter().all(|i| c.ids.contains(i)) {
            return Some(c.jobs.clone());
        }
    }
    let jobs = squeue(ids)?;
    *cache = Some(Cache {
        at: Instant::now(),
        ids: ids.to_vec(),
        jobs: jobs.clone(),
    });
    Some(jobs)
}

/// Forgets the cached answer (after this process changed a job: submitted, cancelled).
pub fn invalidate() {
    *CACHE.lock().expect("slurm cache") = None;
}

fn squeue(ids: &[String]) -> Option<HashMap<String, JobView>> {
    let out = Command::new("squeue")
        .args([
            "-h",
            "-r",
            "-t",
            "all",
            "-o",
            "%i|%T|%r|%N",
            "-j",
            &ids.join(","),
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // only unknown ids: "Invalid job id specified" — every one of them is gone
        let err = String::from_utf8_lossy(&out.stderr);
        return err.contains("Invalid job id").then(HashMap::new);
    }
    Some(parse_squeue(&text))
}

pub fn parse_squeue(text: &str) -> HashMap<String, JobView> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().splitn(4, '|');
            let id = f.next()?.to_string();
            let state = f.next()?.to_string();
            let reason = f.next().unwrap_or("").to_string();
            let node = f.next().unwrap_or("").to_string();
            Some((
                id,
                JobView {
                    state,
                    reason,
                    node,
                },
            ))
        })
        .collect()
}

/// The final state of a job squeue no longer knows: `sacct`, else the job's output file.
pub fn final_state(id: &str, output: &Path) -> Option<String> {
    if !*SACCT_DISABLED.lock().expect("sacct flag") {
        match sacct(id) {
            Ok(Some(s)) => return Some(s),
            Ok(None) => {}
            Err(()) => *SACCT_DISABLED.lock().expect("sacct flag") = true,
        }
    }
    from_output(output)
}

/// Err when accounting is disabled or sacct is missing (remembered: not asked again).
fn sacct(id: &str) -> Result<Option<String>, ()> {
    let out = Command::new("sacct")
        .args(["-n", "-P", "-X", "-o", "JobID,State", "-j", id])
        .output()
        .map_err(|_| ())?;
    if !out.status.success() {
        return Err(());
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let (jid, state) = l.split_once('|')?;
        // "CANCELLED by 0" → CANCELLED
        (jid == id).then(|| state.split_whitespace().next().unwrap_or("").to_string())
    }))
}

/// Slurm's own last words in a job's output: `*** JOB 12 ON n CANCELLED AT … DUE TO TIME LIMIT ***`.
pub fn from_output(output: &Path) -> Option<String> {
    let text = tail(output, 8 * 1024)?;
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains("*** JOB") || l.contains("*** STEP"))?;
    Some(
        if line.contains("DUE TO TIME LIMIT") {
            "TIMEOUT"
        } else if line.contains("DUE TO PREEMPTION") {
            "PREEMPTED"
        } else if line.contains("DUE TO NODE FAILURE") {
            "NODE_FAIL"
        } else if line.contains("CANCELLED") {
            "CANCELLED"
        } else {
            return None;
        }
        .to_string(),
    )
}

/// Pending reasons that never clear by waiting: the job asks for what the partition cannot give.
pub fn stuck(reason: &str) -> bool {
    matches!(
        reason,
        "PartitionConfig"
            | "PartitionNodeLimit"
            | "PartitionTimeLimit"
            | "PartitionDown"
            | "PartitionInactive"
            | "InvalidAccount"
            | "InvalidQOS"
            | "BadConstraints"
            | "ReqNodeNotAvail"
            | "QOSMaxWallDurationPerJobLimit"
            | "AssocMaxWallDurationPerJobLimit"
            | "DependencyNeverSatisfied"
            | "JobHeldAdmin"
    )
}

/// The state a user sees, from the trainer's `status.json` state and Slurm's view of the job
/// (`None`: Slurm no longer knows it and nothing else said how it ended). Returns (state, detail).
pub fn combine(status: &str, job: Option<&JobView>, gone: Option<&str>) -> (String, String) {
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    if let Some(j) = job {
        return match j.state.as_str() {
            "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" => {
                // a trainer that already ran wrote requeued (or stopped, when preempted by TERM)
                let again = matches!(
                    status,
                    "requeued" | "stopped" | "timeout" | "running" | "paused"
                );
                let state = if again { "requeued" } else { "queued" };
                if stuck(&j.reason) {
                    s(state, &format!("stuck: {}", j.reason))
                } else {
                    s(state, &j.reason)
                }
            }
            "RUNNING" | "CONFIGURING" | "COMPLETING" | "STAGE_OUT" | "RESIZING" | "SIGNALING" => {
                match status {
                    "queued" | "requeued" => s("running", &format!("starting on {}", j.node)),
                    other => s(other, &j.node),
                }
            }
            "SUSPENDED" | "STOPPED" => s("paused", &format!("suspended by Slurm ({})", j.state)),
            other => ended(status, other),
        };
    }
    match gone {
        Some(state) => ended(status, state),
        None => s(status, ""),
    }
}

/// A job that is over: the trainer's own final word when it wrote one, else Slurm's.
fn ended(status: &str, slurm: &str) -> (String, String) {
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    match (status, slurm) {
        ("finished" | "failed" | "timeout", _) => s(status, ""),
        // stopped by the user (control file or TERM): the job ends COMPLETED, or CANCELLED when scancel ran
        ("stopped", "COMPLETED" | "CANCELLED") => s("stopped", ""),
        (_, "TIMEOUT") => s("timeout", "killed at the time limit"),
        (_, "PREEMPTED") => s("preempted", ""),
        (_, "CANCELLED") => s("cancelled", ""),
        ("requeued", "COMPLETED") => s("requeued", ""),
        (_, "COMPLETED") if status == "queued" => {
            s("failed", "the job ended before the trainer started")
        }
        (_, "COMPLETED") => s("failed", "the job ended without the trainer's final status"),
        (_, other) => s("failed", &format!("Slurm: {other}")),
    }
}

/// Trainer states after which Slurm's view adds nothing.
const OVER: [&str; 3] = ["finished", "failed", "timeout"];

/// Combines the runs' own states with Slurm's view of their jobs: one batched query for all runs
/// that are not over. Where Slurm cannot be asked, a run on this host whose trainer is gone is
/// crashed; one on another host is judged by its heartbeat alone.
pub fn annotate(runs: &mut [RunSummary]) {
    let ids: Vec<String> = runs
        .iter()
        .filter(|r| !OVER.contains(&r.state.as_str()))
        .filter_map(|r| r.job.clone())
        .collect();
    if ids.is_empty() {
        return;
    }
    let known = lookup(&ids);
    for r in runs.iter_mut() {
        let Some(job) = r.job.clone() else { continue };
        if OVER.contains(&r.state.as_str()) {
            continue;
        }
        let Some(known) = &known else {
            if matches!(r.state.as_str(), "running" | "paused")
                && !trainer_alive(r.pid, &r.host, r.updated)
            {
                r.state = UserState::Crashed;
            }
            r.detail = "Slurm cannot be asked (squeue failed)".into();
            continue;
        };
        let view = known.get(&job);
        let gone = match view {
            Some(_) => None,
            None => r
                .job_output
                .as_deref()
                .and_then(|out| final_state(&job, out)),
        };
        let (state, detail) = combine(r.state.as_str(), view, gone.as_deref());
        // combine answers in the states it was given or knows: every one is a UserState
        r.state = UserState::parse(&state).unwrap_or(UserState::Failed);
        r.detail = detail;
        // Slurm no longer knows the job and did not say how it ended: judge the trainer itself
        if view.is_none() && r.alive() && !trainer_alive(r.pid, &r.host, r.updated) {
            r.state = UserState::Crashed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: &str, reason: &str) -> JobView {
        JobView {
            state: state.into(),
            reason: reason.into(),
            node: "n1".into(),
        }
    }

    #[test]
    fn states_a_user_sees() {
        let c = |st: &str, j: Option<JobView>, gone: Option<&str>| combine(st, j.as_ref(), gone);
        assert_eq!(
            c("queued", Some(job("PENDING", "Resources")), None).0,
            "queued"
        );
        assert_eq!(
            c("queued", Some(job("PENDING", "Resources")), None).1,
            "Resources"
        );
        let stuck = c("queued", Some(job("PENDING", "PartitionConfig")), None);
        assert_eq!(stuck, ("queued".into(), "stuck: PartitionConfig".into()));
        assert_eq!(
            c("requeued", Some(job("PENDING", "BeginTime")), None).0,
            "requeued"
        );
        assert_eq!(c("queued", Some(job("RUNNING", "None")), None).0, "running");
        assert_eq!(c("paused", Some(job("RUNNING", "None")), None).0, "paused");
        assert_eq!(
            c("running", Some(job("RUNNING", "None")), None).0,
            "running"
        );
        assert_eq!(
            c("running", Some(job("TIMEOUT", "TimeLimit")), None).0,
            "timeout"
        );
        assert_eq!(
            c("running", Some(job("CANCELLED", "None")), None).0,
            "cancelled"
        );
        assert_eq!(
            c("stopped", Some(job("COMPLETED", "None")), None).0,
            "stopped"
        );
        assert_eq!(
            c("finished", Some(job("COMPLETED", "None")), None).0,
            "finished"
        );
        assert_eq!(c("running", None, Some("PREEMPTED")).0, "preempted");
        assert_eq!(
            c("running", Some(job("FAILED", "NonZeroExitCode")), None).0,
            "failed"
        );
        assert_eq!(c("running", None, None).0, "running");
    }

    #[test]
    fn squeue_lines() {
        let m = parse_squeue("120_1|PENDING|Resources|\n123|RUNNING|None|localhost\n");
        assert_eq!(m["120_1"], job("PENDING", "Resources").with_node(""));
        assert_eq!(m["123"].node, "localhost");
    }

    impl JobView {
        fn with_node(mut self, n: &str) -> Self {
            self.node = n.into();
            self
        }
    }
}
