//! The local launchers: a trainer in the foreground is just this process; a detached one is this
//! same binary started in a session of its own (so closing the terminal or the SSH connection
//! does not reach it), with its output in the run's `train.log`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The child leaves this terminal's session, so closing the terminal (SIGHUP) or this shell does
/// not reach it.
pub fn own_session(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid and signal are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// Starts `cmd` detached: stdin closed, stdout and stderr appended to `log`, in its own session.
///
/// # Errors
/// When `log` cannot be opened or the process cannot start.
pub fn spawn_detached(mut cmd: Command, log: &Path) -> std::io::Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    own_session(&mut cmd);
    cmd.spawn()
}

/// How a detached trainer's start went.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    /// It holds the run's lock: it is training.
    Holding,
    /// It exited before taking the lock (successfully or not).
    Exited { success: bool },
    /// Neither within the wait: it is still loading.
    Starting,
}

/// Waits (polling, at most `wait`) until the trainer `child` holds the lock of the run at `root`,
/// or has exited.
///
/// # Errors
/// When the child's status cannot be read.
pub fn wait_for_lock(root: &Path, child: &mut Child, wait: Duration) -> std::io::Result<Start> {
    let pid = child.id();
    let deadline = Instant::now() + wait;
    loop {
        let holder = std::fs::read_to_string(root.join("lock")).ok();
        if holder.is_some_and(|h| h.contains(&format!("\"pid\":{pid}"))) {
            return Ok(Start::Holding);
        }
        if let Some(status) = child.try_wait()? {
            return Ok(Start::Exited {
                success: status.success(),
            });
        }
        if Instant::now() > deadline {
            return Ok(Start::Starting);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
