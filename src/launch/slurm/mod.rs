//! Slurm as a launcher (docs/ARCHITECTURE.md, "Slurm"): a run or a sweep becomes a batch job (an
//! array for a sweep) whose script ends in `exec aiart train --resume RUN`; the trainer inside
//! requeues itself before the time limit; readers combine the run's own status with Slurm's view.
//! Everything goes through Slurm's commands (sbatch, squeue, scontrol, scancel, sacct).

pub mod config;
pub mod job;
pub mod queue;
pub mod record;
pub mod script;

use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd).args(args).output().map_err(|e| {
        format!("{cmd}: {e} (is Slurm installed here, with SLURM_CONF or /etc/slurm/slurm.conf?)")
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `sbatch --parsable SCRIPT`: the job id. (Not `--hold` + release: Slurm refuses to release a
/// job its partition can never run, and such a job should show as stuck, not fail to submit.)
pub fn sbatch(script: &std::path::Path) -> Result<String, String> {
    let out = run("sbatch", &["--parsable", &script.to_string_lossy()])?;
    // `123` or `123;cluster`
    let id = out
        .lines()
        .last()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("sbatch answered `{out}`, not a job id"));
    }
    Ok(id.to_string())
}

/// `scancel JOB`, or with `--batch --signal=SIG` only the batch step (the trainer) gets SIG.
pub fn cancel(job: &str, batch_signal: Option<&str>) -> Result<(), String> {
    queue::invalidate();
    match batch_signal {
        Some(sig) => run("scancel", &["--batch", &format!("--signal={sig}"), job]),
        None => run("scancel", &[job]),
    }
    .map(|_| ())
}
