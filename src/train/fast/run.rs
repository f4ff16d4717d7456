//! The fast style transfer loop of a live run: batches of photos in order, metrics every step,
//! samples of the held-out photos and checkpoints, and what people steering it may ask.

use super::FastTrainer;
use crate::data::image_io;
use crate::preset::live::FastLive;
use crate::preset::Preset;
use crate::run::session::Session;
use crate::run::steer::Steer;
use crate::run::{RunDir, RunState};
use crate::train::live::Live;
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
        self.apply_live(FastLive::of(p));
        Ok(())
    }
}

impl FastRun {
    /// Takes a live edit whole (the preset in force already holds it): each field is named, so
    /// a live field added to [`FastLive`] does not compile until it is taken here.
    fn apply_live(&mut self, live: FastLive) {
        let FastLive {
            lr,
            // the schedule, the loss weights and the intervals are read from the preset in force
            // at every step
            epochs: _,
            content_weight: _,
            style_weight: _,
            log: _,
        } = live;
        self.t.opt.set_lr(lr);
    }
}

/// Trains to the end of the last epoch (or to a stop, or to `max_steps`). `start`: the step of the
/// checkpoint a resumed run continues from; the batches go on where it left off (they come in
/// the same order every epoch).
pub fn train(
    session: Session,
    t: FastTrainer,
    max_steps: Option<u64>,
    quiet: bool,
    start: Option<u64>,
) -> Result<RunState> {
    let mut live = Live::new(session, t.total_steps(), max_steps, quiet);
    let run = live.run.clone();
    let bpe = t.batches_per_epoch();
    let start = start.unwrap_or(0);
    let mut r = FastRun {
        t,
        step: start,
        epoch: start / bpe + 1,
    };
    let device = r.t.device.clone();
    let state = loop {
        let (at, total) = (r.step, live.planned(r.t.total_steps()));
        if let Some(state) = live.before_step(&mut r, at, total)? {
            break state;
        }
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
        let (step, log) = (r.step, r.t.preset.log.clone());
        live.after_step(&mut r, (step, e, lr), &losses, &log)?;
        live.session
            .progress(step, e, live.planned(r.t.total_steps()));
    };
    r.epoch = (r.step.saturating_sub(1) / bpe + 1)
        .min(r.t.preset.train.epochs)
        .max(1);
    let (step, epoch, schedule) = (r.step, r.epoch, r.t.total_steps());
    live.end(&mut r, state, (step, epoch), schedule, |_| Ok(true))
}
