//! Training: optimisers and one trainer per method. Trainers talk to the run directory through
//! `crate::run`, and know nothing of any screen.

pub mod gan;
pub mod nst;
pub mod optim;
pub mod progress;

/// The closing event of a run and its status message.
pub fn end_of_run(state: crate::run::RunState, step: u64, total: u64) -> (&'static str, String) {
    match state {
        crate::run::RunState::Stopped => ("stopped", format!("stopped at step {step} of {total}")),
        _ if step < total => (
            "finished",
            format!("ended at step {step} of {total} (--max-steps)"),
        ),
        _ => ("finished", format!("finished {total} steps")),
    }
}
