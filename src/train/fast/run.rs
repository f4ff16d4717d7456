//! The fast style transfer loop of a live run: batches of photos in order, metrics every step,
//! samples of the held-out photos and checkpoints, and what people steering it may ask.

use super::FastTrainer;
use crate::data::image_io;
use crate::preset::Preset;
use crate::run::session::{Flow, Session, Steer};
use crate::run::signals;
use crate::run::{RunDir, RunState};
use crate::train::progress::Progress;
use anyhow::{bail, Result};
use std::path::PathBuf;

/// The trainer with what a live run needs: the step and epoch it is at.
pub struct FastRun {
    pub t: FastTrainer,
    pub step: u64,
    pub epoch: u64,
}

impl Steer for FastRun {
    fn sample(&mut self, run: &RunDir, step: u64) -> Result<PathBuf> {
        let path = run.sample_path(step);
        image_io::save_image(&self.t.sample_grid()?, &path)?;
        Ok(path)
    }

    fn checkpoint(&mut self, run: &RunDir, step: u64) -> Result<PathBuf> {
        let (t, epoch) = (&self.t, self.epoch);
        run.write_checkpoint::<anyhow::Error>(step, t.preset.log.keep_checkpoints as usize, |dir| {
            t.save(dir, step, epoch)
        })
    }

    fn preset(&self) -> Preset {
        Preset::FastStyle(self.t.preset.effective())
    }

    /// Loss weights are read at each step; the learning rate goes to Adam now.
    fn apply(&mut self, new: &Preset) -> Result<()> {
        let Preset::FastStyle(p) = new else {
            bail!("not a fast style transfer preset")
        };
        self.t.preset = p.effective();
        self.t.opt.set_lr(p.train.lr);
        Ok(())
    }
}

/// Trains to the end of the last epoch (or to a stop, or to `max_steps`). `start`: the step of the
/// checkpoint a resumed run continues from; the batches go on where it left off (they come in
/// the same order every epoch).
pub fn train(
    mut session: Session,
    t: FastTrainer,
    max_steps: Option<u64>,
    quiet: bool,
    start: Option<u64>,
) -> Result<RunState> {
    signals::install();
    let run = session.run.clone();
    let bpe = t.batches_per_epoch();
    let start = start.unwrap_or(0);
    let mut r = FastRun {
        t,
        step: start,
        epoch: start / bpe + 1,
    };
    let planned = |t: &FastTrainer| crate::run::ending::planned_steps(t.total_steps(), max_steps);
    let mut progress = Progress::new(planned(&r.t), quiet);
    let mut last_sample = None;
    let mut state = RunState::Finished;
    let device = r.t.device.clone();
    loop {
        let total = planned(&r.t);
        progress.set_total(total);
        if r.step >= total {
            break;
        }
        let at = r.step;
        let waiting = std::time::Instant::now();
        if let Flow::Stop = session.between_steps(&mut r, at)? {
            state = session.stopped_state();
            break;
        }
        progress.waited(waiting.elapsed());
        r.epoch = r.step / bpe + 1;
        let mut warnings = vec![];
        let x = r.t.photos.batch(
            r.step % bpe,
            r.t.preset.train.batch_size,
            &device,
            &mut warnings,
        );
        for w in &warnings {
            eprintln!("warning: {w}");
            run.append_event("warning", w)?;
        }
        let x = x?;
        let (e, lr) = (r.epoch, r.t.preset.train.lr);
        let losses = r.t.step(&x)?;
        drop(x);
        r.step += 1;
        let step = r.step;
        run.append_metrics(step, e, lr, &losses)?;
        if losses.iter().any(|(_, v)| !v.is_finite()) {
            bail!("a loss is not finite at step {step}: lower the learning rate");
        }
        let log = r.t.preset.log.clone();
        progress.update(step, step, &losses, step.is_multiple_of(log.print_every));
        if log.sample_every > 0 && step.is_multiple_of(log.sample_every) {
            let p = r.sample(&run, step)?;
            run.append_event("sample", &format!("step {step}: {}", p.display()))?;
            last_sample = Some(step);
        }
        if log.checkpoint_every > 0 && step.is_multiple_of(log.checkpoint_every) {
            let p = r.checkpoint(&run, step)?;
            run.append_event("checkpoint", &format!("step {step}: {}", p.display()))?;
        }
        session.progress(step, e, planned(&r.t));
    }
    let (step, schedule) = (r.step, r.t.total_steps());
    let total = crate::run::ending::planned_steps(schedule, max_steps);
    r.epoch = (step.saturating_sub(1) / bpe + 1)
        .min(r.t.preset.train.epochs)
        .max(1);
    let epoch = r.epoch;
    progress.finish(step, &[]);
    if last_sample != Some(step) {
        let p = r.sample(&run, step)?;
        run.append_event("sample", &format!("step {step}: {}", p.display()))?;
    }
    let p = r.checkpoint(&run, step)?;
    run.append_event("checkpoint", &format!("step {step}: {}", p.display()))?;
    let ending = crate::run::ending::ending(step, schedule, max_steps);
    let closing = crate::run::ending::end_of_run(state, step, total, &ending);
    session.end(state, step, epoch, total, closing)
}
