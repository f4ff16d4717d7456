//! One trainer per run directory: `lock` holds the trainer's pid and host; a lock whose process is
//! gone (or, from another host, whose heartbeat is stale) is taken over.

use super::dir::{hostname, RunDir};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

/// Seconds after which a run on another host counts as dead without a heartbeat.
pub const STALE_SECS: f64 = 30.0;

#[derive(Debug, Deserialize, Serialize)]
struct Holder {
    pid: u32,
    host: String,
}

/// Whether a process runs on this host (a zombie does not count).
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next());
        return !matches!(state, Some("Z") | Some("X"));
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether the trainer with this pid and host is alive, judging another host by its heartbeat.
pub fn trainer_alive(pid: u32, host: &str, heartbeat: f64) -> bool {
    if host == hostname() {
        pid_alive(pid)
    } else {
        super::clock::now() - heartbeat < STALE_SECS
    }
}

/// Who holds a run's lock: (pid, host).
pub fn holder(run: &RunDir) -> Option<(u32, String)> {
    let h: Holder = serde_json::from_slice(&std::fs::read(run.root.join("lock")).ok()?).ok()?;
    Some((h.pid, h.host))
}

/// Removes the lock of a trainer known to be gone (by a launcher that knows better than a
/// heartbeat: an earlier attempt of the same Slurm job).
pub fn clear(run: &RunDir) {
    let _ = std::fs::remove_file(run.root.join("lock"));
}

pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    pub fn acquire(run: &RunDir) -> Result<Self, String> {
        let path = run.root.join("lock");
        let me = Holder {
            pid: std::process::id(),
            host: hostname(),
        };
        for _ in 0..3 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(&serde_json::to_vec(&me).map_err(|e| e.to_string())?)
                        .map_err(|e| e.to_string())?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder: Option<Holder> = std::fs::read(&path)
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok());
                    if let Some(h) = holder {
                        let heartbeat = run.read_status().map(|s| s.heartbeat).unwrap_or(0.0);
                        if trainer_alive(h.pid, &h.host, heartbeat) {
                            return Err(format!(
                                "{}: a trainer is already running on this run (pid {} on {}); stop it first (aiart runs stop {})",
                                run.root.display(),
                                h.pid,
                                h.host,
                                run.root.display()
                            ));
                        }
                    }
                    // stale (or half-written): take it over
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Err(format!("{}: could not take the lock", path.display()))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
