//! Signals end a run cleanly: handlers only raise flags that the training loop reads between steps.
//! Ctrl-C and SIGTERM: checkpoint and stop. SIGUSR1 (Slurm's warning before a time limit, or before
//! preemption): checkpoint, requeue the job, exit.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static REQUEUE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

extern "C" fn on_requeue(_: libc::c_int) {
    REQUEUE.store(true, Ordering::SeqCst);
}

/// USR1 only raises a flag, from the first instruction of `main` on: its default action would kill
/// the process, and Slurm may send it moments after a job starts.
pub fn install_requeue() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGUSR1, on_requeue as *const () as libc::sighandler_t);
    }
}

/// A write past the file size limit (`ulimit -f`, RLIMIT_FSIZE) fails with EFBIG ("File too
/// large") instead of SIGXFSZ killing the process mid-write: the trainer can then say which file
/// of which run it was writing, and mark the run failed, rather than vanish with a core dump.
pub fn ignore_file_size_limit() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Ctrl-C and TERM, once a training loop is there to read the flag.
pub fn install() {
    // SAFETY: the handlers only store to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_stop as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_stop as *const () as libc::sighandler_t);
    }
    install_requeue();
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

pub fn requeue_requested() -> bool {
    REQUEUE.load(Ordering::SeqCst)
}
