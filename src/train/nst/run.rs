//! The style-transfer loop of a live run: metrics every step (record k = the image after k
//! updates), samples and checkpoints, and what people steering it may ask.

use super::NstTrainer;
use crate::data::image_io;
use crate::preset::nst::NstPreset;
use crate::preset::Preset;
use crate::run::session::{Flow, Session, Steer};
use crate::run::signals;
use crate::run::{RunDir, RunState};
use crate::train::progress::Progress;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// What a run was asked to do beyond its preset.
pub struct RunOptions {
    /// End after this many updates (smoke tests).
    pub max_steps: Option<u64>,
    /// Also write the final image here.
    pub output: Option<PathBuf>,
    pub quiet: bool,
}

/// The trainer with what a live run needs: the preset in force.
pub struct NstRun {
    pub trainer: NstTrainer,
    pub preset: NstPreset,
}

impl Steer for NstRun {
    fn sample(&mut self, run: &RunDir, step: u64) -> Result<PathBuf> {
        let path = run.sample_path(step);
        image_io::save_tensor(&self.trainer.output()?, &path)?;
        Ok(path)
    }

    fn checkpoint(&mut self, run: &RunDir, step: u64) -> Result<PathBuf> {
        let keep = self.preset.log.keep_checkpoints as usize;
        let (t, p) = (&self.trainer, &self.preset);
        run.write_checkpoint::<anyhow::Error>(step, keep, |dir| t.save(dir, step, p))
    }

    fn preset(&self) -> Preset {
        Preset::Nst(self.preset.effective())
    }

    fn apply(&mut self, new: &Preset) -> Result<()> {
        let Preset::Nst(p) = new else {
            anyhow::bail!("not an nst preset")
        };
        self.trainer.set_lr(p.train.lr());
        self.trainer.objective_mut().weights = crate::nst::setup::cost_weights(p);
        self.preset = p.effective();
        Ok(())
    }
}

/// Trains to the end (or to a stop), writing everything into the session's run. `start` is the
/// step of the checkpoint a resumed run continues from (its record is already written).
pub fn train(
    mut session: Session,
    mut r: NstRun,
    opts: &RunOptions,
    start: Option<u64>,
) -> Result<RunState> {
    signals::install();
    let run = session.run.clone();
    let mut progress = Progress::new(r.preset.train.iterations, opts.quiet);
    let mut state = RunState::Finished;
    let mut step = start.unwrap_or(0);
    let mut resumed = start.is_some();
    loop {
        let total = r.preset.train.iterations;
        let end = opts.max_steps.map_or(total, |m| m.min(total));
        if step >= end {
            break;
        }
        if let Flow::Stop = session.between_steps(&mut r, step)? {
            state = session.stopped_state();
            break;
        }
        let (costs, grads) = r.trainer.evaluate()?;
        let lr = r.preset.train.lr();
        if !resumed {
            let losses = r.trainer.losses(&costs)?;
            run.append_metrics(step, 0, lr, &losses)?;
            if losses.iter().any(|(_, v)| !v.is_finite()) {
                anyhow::bail!("the cost is not finite at step {step}: lower the learning rate or the loss weights");
            }
            progress.update(step, &losses, step.is_multiple_of(r.preset.log.print_every));
            // a checkpoint at step k holds the image after k updates, whose record k is written
            let log = r.preset.log.clone();
            if step > 0 && log.sample_every > 0 && step.is_multiple_of(log.sample_every) {
                let p = r.sample(&run, step)?;
                run.append_event("sample", &format!("step {step}: {}", p.display()))?;
            }
            if step > 0 && log.checkpoint_every > 0 && step.is_multiple_of(log.checkpoint_every) {
                let p = r.checkpoint(&run, step)?;
                run.append_event("checkpoint", &format!("step {step}: {}", p.display()))?;
            }
        }
        resumed = false;
        r.trainer.apply(&grads)?;
        step += 1;
        session.progress(step, 0, r.preset.train.iterations);
    }
    let total = r.preset.train.iterations;
    // the costs of the final image, so the curve ends where the result is
    let costs = r.trainer.costs()?;
    let losses = r.trainer.losses(&costs)?;
    run.append_metrics(step, 0, r.preset.train.lr(), &losses)?;
    progress.finish(step, &losses);
    let p = r.sample(&run, step)?;
    run.append_event("sample", &format!("step {step}: {}", p.display()))?;
    let p = r.checkpoint(&run, step)?;
    run.append_event("checkpoint", &format!("step {step}: {}", p.display()))?;
    image_io::save_tensor(&r.trainer.output()?, &run.root.join("result.png"))?;
    if let Some(out) = &opts.output {
        image_io::save_tensor(&r.trainer.output()?, out)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    session.end(state, step, 0, total)
}
