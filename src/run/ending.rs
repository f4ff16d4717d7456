//! How a run ends: the steps it will take (the preset's schedule, or fewer under `--max-steps`),
//! why a loop that was not stopped ended, and the closing event and status message every trainer
//! writes through [`super::session::Session::end`].

use super::status::RunState;

/// Why a loop that was not stopped ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// The preset's schedule is done.
    Schedule,
    /// `--max-steps` ended it before the preset's schedule of `schedule` steps.
    MaxSteps { schedule: u64 },
    /// The optimiser converged: it would not move the image any more (why).
    Converged(String),
}

/// The steps a run will take: the preset's schedule, or fewer under `--max-steps`.
pub fn planned_steps(schedule: u64, max_steps: Option<u64>) -> u64 {
    max_steps.map_or(schedule, |m| m.min(schedule))
}

/// How a finished loop ended, from the step it reached.
pub fn ending(step: u64, schedule: u64, max_steps: Option<u64>) -> Ending {
    match max_steps {
        Some(m) if m < schedule && step >= m => Ending::MaxSteps { schedule },
        _ => Ending::Schedule,
    }
}

/// The closing event of a run and its status message.
pub fn end_of_run(
    state: RunState,
    step: u64,
    total: u64,
    ending: &Ending,
) -> (&'static str, String) {
    match (state, ending) {
        (RunState::Stopped, _) => ("stopped", format!("stopped at step {step} of {total}")),
        (_, Ending::Converged(why)) => ("finished", format!("converged at step {step}: {why}")),
        (_, Ending::MaxSteps { schedule }) => (
            "finished",
            format!(
                "finished {step} steps (--max-steps {total}; the preset's schedule has {schedule})"
            ),
        ),
        _ => ("finished", format!("finished {total} steps")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RunState;

    #[test]
    fn what_a_finished_run_says() {
        assert_eq!(planned_steps(2480, Some(150)), 150);
        assert_eq!(planned_steps(100, Some(150)), 100);
        assert_eq!(planned_steps(100, None), 100);
        let e = ending(150, 2480, Some(150));
        assert_eq!(e, Ending::MaxSteps { schedule: 2480 });
        let (_, m) = end_of_run(RunState::Finished, 150, 150, &e);
        assert!(m.contains("--max-steps 150") && m.contains("2480"), "{m}");
        assert_eq!(ending(100, 100, Some(150)), Ending::Schedule);
        let (_, m) = end_of_run(RunState::Finished, 100, 100, &Ending::Schedule);
        assert_eq!(m, "finished 100 steps");
    }
}
