//! A sweep's local queue: starts each queued run of the sweep as `aiart train --resume RUN` (its
//! output in the run's train.log), at most `max_parallel` at a time, until all have ended or the
//! sweep is stopped (its stop marker). It runs detached (`aiart sweep queue ID`), like a trainer.

use super::sweep::{Manifest, Task};
use crate::run::{RunDir, RunState};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The local queue: starts each queued run as `aiart train --resume` (output to its train.log),
/// at most max-parallel at a time, until all have ended or the sweep is stopped.
pub fn run(workspace: &Path, m: &Manifest, exe: &Path) -> std::io::Result<()> {
    let parallel = m.max_parallel.unwrap_or(1).max(1);
    let stop = super::sweep::stop_marker(workspace, &m.id);
    let mut waiting: Vec<&Task> = m.tasks.iter().collect();
    waiting.reverse();
    let mut live: Vec<(usize, Child)> = vec![];
    loop {
        live.retain_mut(|(_, c)| !matches!(c.try_wait(), Ok(Some(_))));
        if stop.exists() {
            for t in waiting.drain(..) {
                let run = RunDir::open(&t.run);
                if run.read_status().is_ok_and(|s| s.state == RunState::Queued) {
                    let s = run.status_now(
                        RunState::Stopped,
                        0,
                        0,
                        0,
                        "the sweep was stopped before this run started",
                    );
                    run.write_status(&s)?;
                }
            }
        }
        while live.len() < parallel {
            let Some(t) = waiting.pop() else { break };
            let run = RunDir::open(&t.run);
            if !run.read_status().is_ok_and(|s| s.state == RunState::Queued) {
                continue; // started or stopped by someone else
            }
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(t.run.join("train.log"))?;
            let child = Command::new(exe)
                .arg("--workspace")
                .arg(workspace)
                .args(["train", "--quiet", "--resume"])
                .arg(&t.run)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?;
            println!(
                "started task {} (pid {}): {}",
                t.index,
                child.id(),
                t.run.display()
            );
            live.push((t.index, child));
        }
        if live.is_empty() && waiting.is_empty() {
            println!("sweep {} done", m.id);
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
