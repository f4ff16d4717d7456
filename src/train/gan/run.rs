//! The pix2pix / CycleGAN training loop of a live run: batches from the loader thread, the linear
//! LR policy per epoch, metrics, samples and checkpoints, and what people steering it may ask.

use super::cyclegan::Lambdas;
use super::{loader, GanTrainer, Model};
use crate::data::image_io;
use crate::preset::Preset;
use crate::run::session::{Flow, Session, Steer};
use crate::run::signals;
use crate::run::{RunDir, RunState};
use crate::train::progress::Progress;
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
        let lr = self.t.lr_for(self.epoch);
        self.t.set_lr(lr);
        match &mut self.t.model {
            Model::Pix2Pix(m) => m.lambda_l1 = p.train.lambda_l1,
            Model::CycleGan(m) => {
                m.lambdas = Lambdas {
                    a: p.train.lambda_a,
                    b: p.train.lambda_b,
                    identity: p.train.lambda_identity,
                }
            }
        }
        Ok(())
    }
}

/// Trains to the end of the last epoch (or to a stop, or to `max_steps`). `start`: the step of the
/// checkpoint a resumed run continues from.
pub fn train(
    mut session: Session,
    t: GanTrainer,
    max_steps: Option<u64>,
    quiet: bool,
    start: Option<u64>,
) -> Result<RunState> {
    signals::install();
    let run = session.run.clone();
    let bpe = t.batches_per_epoch();
    let start = start.unwrap_or(0);
    let mut r = GanRun {
        t,
        step: start,
        epoch: start / bpe + 1,
    };
    let planned = |t: &GanTrainer| crate::run::ending::planned_steps(t.total_steps(), max_steps);
    let mut progress = Progress::new(planned(&r.t), quiet);
    // the step of the last sample written, so the end does not write (and log) it again
    let mut last_sample = None;
    let mut state = RunState::Finished;
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
        r.t.device.clone(),
        r.epoch,
        skip,
    );
    r.t.set_lr(r.t.lr_for(r.epoch));
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
                break;
            }
            r.t.set_lr(r.t.lr_for(r.epoch));
        }
        let e = r.epoch;
        let lr = r.t.lr_for(e);
        let losses = r.t.step(&loaded.batch.a, &loaded.batch.b)?;
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
    drop(rx);
    let (step, schedule) = (r.step, r.t.total_steps());
    let total = crate::run::ending::planned_steps(schedule, max_steps);
    let epoch = r
        .epoch
        .min(r.t.preset.train.n_epochs + r.t.preset.train.n_epochs_decay)
        .max(1);
    r.epoch = epoch;
    progress.finish(step, &[]);
    if last_sample != Some(step) && r.t.sample_grid()?.is_some() {
        let p = r.sample(&run, step)?;
        run.append_event("sample", &format!("step {step}: {}", p.display()))?;
    }
    let p = r.checkpoint(&run, step)?;
    run.append_event("checkpoint", &format!("step {step}: {}", p.display()))?;
    let ending = crate::run::ending::ending(step, schedule, max_steps);
    let closing = crate::run::ending::end_of_run(state, step, total, &ending);
    session.end(state, step, epoch, total, closing)
}
