//! What every live training loop does around its steps, whatever it trains: the planned total,
//! what people steering it ask between steps, each step's record and progress line, the samples
//! and checkpoints its intervals make due, and the end of the run (last sample, final
//! checkpoint, last words, final status). The loops only wire their trainer's step into it.

use crate::preset::nst::LogConfig;
use crate::run::ending::{self, Ending};
use crate::run::metrics::{Losses, Record};
use crate::run::session::Session;
use crate::run::steer::{Flow, Steer};
use crate::run::{RunDir, RunState, Writing};
use crate::train::progress::Progress;
use anyhow::{bail, Context, Result};

/// The losses of a step that are not finite, named with their values (`loss_G = NaN`,
/// `loss_D_A = inf, loss_G = NaN`); None when all are finite.
pub fn not_finite(losses: &[(String, f64)]) -> Option<String> {
    let bad: Vec<String> = losses
        .iter()
        .filter(|(_, v)| !v.is_finite())
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    (!bad.is_empty()).then(|| bad.join(", "))
}

/// A live loop's run: its session, its progress line and what it already wrote.
pub struct Live {
    pub session: Session,
    /// The session's run
    pub run: RunDir,
    pub progress: Progress,
    max_steps: Option<u64>,
    /// The step of the last sample written, so the end does not write (and log) it again
    pub last_sample: Option<u64>,
    /// The step of the last checkpoint written by [`Live::due`]
    pub last_checkpoint: Option<u64>,
}

impl Live {
    /// `schedule`: the steps the preset plans. The signal handlers are the start's to install
    /// (`train::start::begin`), before the session starts.
    pub fn new(session: Session, schedule: u64, max_steps: Option<u64>, quiet: bool) -> Self {
        let run = session.run.clone();
        let progress = Progress::new(ending::planned_steps(schedule, max_steps), quiet);
        Self {
            session,
            run,
            progress,
            max_steps,
            last_sample: None,
            last_checkpoint: None,
        }
    }

    /// The steps the run takes under `schedule` (fewer under `--max-steps`).
    pub fn planned(&self, schedule: u64) -> u64 {
        ending::planned_steps(schedule, self.max_steps)
    }

    /// Before the step after `step`, of `total` planned: handles what arrived since the last one
    /// (blocking while paused; a pause counts in neither the speed nor the ETA). `Some(state)`:
    /// the loop ends here, finished at the planned end or stopped.
    pub fn before_step(
        &mut self,
        r: &mut impl Steer,
        step: u64,
        total: u64,
    ) -> Result<Option<RunState>> {
        self.progress.set_total(total);
        if step >= total {
            return Ok(Some(RunState::Finished));
        }
        let waiting = std::time::Instant::now();
        if let Flow::Stop = self.session.between_steps(r, step)? {
            return Ok(Some(self.session.stopped_state()));
        }
        self.progress.waited(waiting.elapsed());
        Ok(None)
    }

    /// After step `step` (in `epoch`, at `lr`): its record in metrics.jsonl (an error when a loss
    /// is not finite), the progress line, and the sample and checkpoint `log` makes due.
    pub fn after_step(
        &mut self,
        r: &mut impl Steer,
        (step, epoch, lr): (u64, u64, f64),
        losses: &Losses,
        log: &LogConfig,
    ) -> Result<()> {
        self.run
            .append_record(&Record::now(step, epoch, lr, None, losses))
            .with_context(|| self.run.writing(Writing::Metrics))?;
        if let Some(which) = not_finite(losses) {
            bail!("a loss is not finite at step {step} ({which}): lower the learning rate");
        }
        let print = step.is_multiple_of(log.print_every);
        self.progress.update(step, step, losses, print);
        self.due(r, step, log, "")
    }

    /// The sample and the checkpoint that `log`'s intervals make due at `step` (none at step 0),
    /// each logged as an event; `note` follows the path in its message.
    pub fn due(
        &mut self,
        r: &mut impl Steer,
        step: u64,
        log: &LogConfig,
        note: &str,
    ) -> Result<()> {
        let every = |n: u64| step > 0 && n > 0 && step.is_multiple_of(n);
        if every(log.sample_every) {
            self.sample(r, step, note)?;
        }
        if every(log.checkpoint_every) {
            self.checkpoint(r, step, note)?;
            self.last_checkpoint = Some(step);
        }
        Ok(())
    }

    /// Writes a sample at `step` and logs it (`note` after the path).
    pub fn sample(&mut self, r: &mut impl Steer, step: u64, note: &str) -> Result<()> {
        let p = r
            .sample(&self.run, step)
            .with_context(|| self.run.writing(Writing::Sample(step)))?;
        let message = format!("step {step}: {}{note}", p.display());
        self.run.append_event("sample", &message)?;
        self.last_sample = Some(step);
        Ok(())
    }

    /// Writes a checkpoint at `step` and logs it (`note` after the path).
    pub fn checkpoint(&self, r: &mut impl Steer, step: u64, note: &str) -> Result<()> {
        let p = r
            .checkpoint(&self.run, step)
            .with_context(|| self.run.writing(Writing::Checkpoint(step)))?;
        let message = format!("step {step}: {}{note}", p.display());
        self.run.append_event("checkpoint", &message)?;
        Ok(())
    }

    /// The end of a batch trainer's loop at `step`, in `epoch` (`schedule`: the preset's steps):
    /// the last progress line, a sample unless one was written at this step or `ready` says there
    /// is nothing to show yet, the final checkpoint, then the last words and the final status.
    pub fn end<S: Steer>(
        mut self,
        r: &mut S,
        state: RunState,
        (step, epoch): (u64, u64),
        schedule: u64,
        ready: impl FnOnce(&S) -> Result<bool>,
    ) -> Result<RunState> {
        self.progress.finish(step, &[]);
        if self.last_sample != Some(step) && ready(r)? {
            self.sample(r, step, "")?;
        }
        self.checkpoint(r, step, "")?;
        let ending = ending::ending(step, schedule, self.max_steps);
        let total = self.planned(schedule);
        self.close(state, (step, epoch), total, ending)
    }

    /// The last words (`stopped` or `finished`, how it ended) and the final status.
    pub fn close(
        self,
        state: RunState,
        (step, epoch): (u64, u64),
        total: u64,
        ending: Ending,
    ) -> Result<RunState> {
        let closing = ending::end_of_run(state, step, total, &ending);
        self.session.end(state, step, epoch, total, closing)
    }
}

#[cfg(test)]
mod tests {
    use super::not_finite;

    #[test]
    fn the_losses_that_are_not_finite_are_named_with_their_values() {
        let l = |v: &[(&str, f64)]| -> Vec<(String, f64)> {
            v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
        };
        assert_eq!(not_finite(&l(&[("loss_G", 1.0), ("loss_D", 0.5)])), None);
        assert_eq!(
            not_finite(&l(&[
                ("loss_G", f64::NAN),
                ("loss_D", 0.5),
                ("G_L1", f64::INFINITY)
            ])),
            Some("loss_G = NaN, G_L1 = inf".into())
        );
    }
}
