//! The pix2pix / CycleGAN training loop of a live run: batches from the loader thread, the linear
//! LR policy per epoch, metrics, samples and checkpoints, and what people steering it may ask.

use super::cyclegan::Lambdas;
use super::{loader, GanTrainer, Model};
use crate::data::image_io;
use crate::preset::live::GanLive;
use crate::preset::Preset;
use crate::run::session::Session;
use crate::run::steer::Steer;
use crate::run::{RunDir, RunState};
use crate::train::live::Live;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// The trainer with what a live run needs: the step and epoch it is at.
pub struct GanRun {
    pub t: GanTrainer,
    pub step: u64,
    pub epoch: u64,
}

impl Steer for GanRun {
    fn sample(&mut self, run: &RunDir, step: u64) -> Result<PathBuf> {
        let path = run.sample_path(step);
        match self.t.sample_grid()? {
            Some(img) => image_io::save_image(&img, &path)?,
            None => bail!("no step has run yet: nothing to show"),
        }
        Ok(path)
    }

    fn checkpoint(&mut self, run: &RunDir, step: u64) -> Result<PathBuf> {
        let (t, epoch) = (&self.t, self.epoch);
        run.write_checkpoint::<anyhow::Error>(step, t.preset.log.keep_checkpoints as usize, |dir| {
            t.save(dir, step, epoch)
        })
    }

    fn preset(&self) -> Preset {
        Preset::Gan(self.t.preset.effective())
    }

    fn apply(&mut self, new: &Preset) -> Result<()> {
        let Preset::Gan(p) = new else {
            bail!("not a GAN preset")
        };
        self.t.preset = p.effective();
        self.apply_live(GanLive::of(p));
        Ok(())
    }
}

impl GanRun {
    /// Takes a live edit whole (the preset in force already holds it): each field is named, so
    /// a live field added to [`GanLive`] does not compile until it is taken here.
    fn apply_live(&mut self, live: GanLive) {
        let GanLive {
            // the linear policy's: `lr_for` reads them from the preset in force
            lr: _,
            n_epochs: _,
            n_epochs_decay: _,
            lambda_l1,
            lambda_a,
            lambda_b,
            lambda_identity,
            // the loop reads the intervals from the preset in force at every step
            log: _,
        } = live;
        let lr = self.t.lr_for(self.epoch);
        self.t.set_lr(lr);
        match &mut self.t.model {
            Model::Pix2Pix(m) => m.lambda_l1 = lambda_l1,
            Model::CycleGan(m) => {
                m.lambdas = Lambdas {
                    a: lambda_a,
                    b: lambda_b,
                    identity: lambda_identity,
                }
            }
        }
    }
}

/// Trains to the end of the last epoch (or to a stop, or to `max_steps`). `start`: the step of the
/// checkpoint a resumed run continues from.
pub fn train(
    session: Session,
    t: GanTrainer,
    max_steps: Option<u64>,
    quiet: bool,
    start: Option<u64>,
) -> Result<RunState> {
    let mut live = Live::new(session, t.total_steps(), max_steps, quiet);
    let run = live.run.clone();
    let bpe = t.batches_per_epoch();
    let start = start.unwrap_or(0);
    let mut r = GanRun {
        t,
        step: start,
        epoch: start / bpe + 1,
    };
    let skip = (start % bpe) as usize * r.t.preset.data.batch_size;
    let dataset =
        r.t.dataset
            .take()
            .context("the dataset was already handed to a loader")?;
    let (bs, serial) = (r.t.preset.data.batch_size, r.t.preset.data.serial_batches);
    let rx = loader::spawn(
        dataset,
        bs,
        serial,
        r.t.preset.train.seed.wrapping_add(17),
        r.epoch,
        skip,
    );
    r.t.set_lr(r.t.lr_for(r.epoch));
    let state = loop {
        let (at, total) = (r.step, live.planned(r.t.total_steps()));
        if let Some(state) = live.before_step(&mut r, at, total)? {
            break state;
        }
        let loaded = match rx.recv() {
            Ok(Ok(l)) => l,
            Ok(Err(failed)) => {
                for w in &failed.warnings {
                    eprintln!("warning: {w}");
                    run.append_event("warning", w)?;
                }
                bail!(failed.error)
            }
            Err(_) => bail!("the data loader stopped"),
        };
        for w in &loaded.warnings {
            eprintln!("warning: {w}");
            run.append_event("warning", w)?;
        }
        if loaded.epoch != r.epoch {
            r.epoch = loaded.epoch;
            if r.epoch > r.t.preset.train.n_epochs + r.t.preset.train.n_epochs_decay {
                break RunState::Finished;
            }
            r.t.set_lr(r.t.lr_for(r.epoch));
        }
        let e = r.epoch;
        let lr = r.t.lr_for(e);
        let losses = r.t.step(&loaded.batch.a, &loaded.batch.b)?;
        r.step += 1;
        let (step, log) = (r.step, r.t.preset.log.clone());
        live.after_step(&mut r, (step, e, lr), &losses, &log)?;
        live.session
            .progress(step, e, live.planned(r.t.total_steps()));
    };
    drop(rx);
    r.epoch = r
        .epoch
        .min(r.t.preset.train.n_epochs + r.t.preset.train.n_epochs_decay)
        .max(1);
    let (step, epoch, schedule) = (r.step, r.epoch, r.t.total_steps());
    let ready = |r: &GanRun| Ok(r.t.sample_grid()?.is_some());
    live.end(&mut r, state, (step, epoch), schedule, ready)
}
