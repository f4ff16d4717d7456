//! The style-transfer loop of a live run: metrics every step (record k = the image after k
//! updates), samples and checkpoints, and what people steering it may ask.

use super::{NstTrainer, Update};
use crate::data::image_io;
use crate::nst::objective::CostWeights;
use crate::nst::setup;
use crate::preset::live::NstLive;
use crate::preset::nst::NstPreset;
use crate::preset::Preset;
use crate::run::metrics::{Losses, Record, Scale};
use crate::run::session::Session;
use crate::run::steer::Steer;
use crate::run::{RunDir, RunState, Writing};
use crate::train::live::Live;
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

/// The trainer with what a live run needs: the preset in force, and the workspace its images
/// come from (a coarse-to-fine run loads them again at each scale).
pub struct NstRun {
    pub trainer: NstTrainer,
    pub preset: NstPreset,
    pub workspace: PathBuf,
}

impl NstRun {
    /// The last step of each scale: cumulative iterations.
    fn boundaries(&self) -> Vec<u64> {
        let n = self.sizes().len();
        self.preset
            .train
            .per_scale(n)
            .iter()
            .scan(0, |acc, i| {
                *acc += i;
                Some(*acc)
            })
            .collect()
    }

    fn sizes(&self) -> Vec<u32> {
        self.preset.train.scale_sizes(self.preset.data.image_size)
    }

    /// Where the run is, for messages: `scale 2/4 (1024 px, tiles of 512)`.
    fn where_(&self) -> String {
        let sizes = self.sizes();
        let k = self.trainer.scale;
        let tiles = match self.trainer.tile() {
            Some(t) => format!(", tiles of {t} px"),
            None => String::new(),
        };
        format!("scale {}/{} ({} px{tiles})", k + 1, sizes.len(), sizes[k])
    }

    /// Which scale a record belongs to (only for coarse-to-fine runs).
    fn record_scale(&self) -> Option<Scale> {
        let sizes = self.sizes();
        let k = self.trainer.scale;
        (sizes.len() >= 2).then(|| Scale {
            index: k as u64 + 1,
            count: sizes.len() as u64,
            size: sizes[k] as u64,
        })
    }
}

/// The scale the image after `step` updates belongs to: the first whose last step is not before it.
pub fn scale_of(preset: &NstPreset, step: u64) -> usize {
    let sizes = preset.train.scale_sizes(preset.data.image_size);
    let mut end = 0;
    for (k, i) in preset.train.per_scale(sizes.len()).iter().enumerate() {
        end += i;
        if step <= end {
            return k;
        }
    }
    sizes.len() - 1
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
        let sizes = self.sizes();
        let scale = (t.scale, sizes.len(), sizes[t.scale]);
        run.write_checkpoint::<anyhow::Error>(step, keep, |dir| t.save(dir, step, p, scale))
    }

    fn preset(&self) -> Preset {
        Preset::Nst(self.preset.effective())
    }

    fn apply(&mut self, new: &Preset) -> Result<()> {
        let Preset::Nst(p) = new else {
            anyhow::bail!("not an nst preset")
        };
        self.preset = p.effective();
        self.apply_live(NstLive::of(p));
        Ok(())
    }
}

impl NstRun {
    /// Takes a live edit whole (the preset in force already holds it): each field is named, so
    /// a live field added to [`NstLive`] does not compile until it is taken here.
    fn apply_live(&mut self, live: NstLive) {
        let NstLive {
            lr,
            // the schedule and the intervals are read from the preset in force at every step
            iterations: _,
            content_weight,
            style_weight,
            tv_weight,
            style_layers,
            log: _,
        } = live;
        self.trainer.set_lr(lr);
        // as `setup::cost_weights` builds them at the start
        self.trainer.objective_mut().weights = CostWeights {
            content: content_weight,
            style: style_weight,
            tv: tv_weight,
            layers: style_layers,
        };
    }
}

/// Trains to the end (or to a stop, or until L-BFGS converges), writing everything into the
/// session's run. `start` is the step of the checkpoint a resumed run continues from (its record
/// is already written). With `scales`, each scale ends with a record and a sample of its final
/// image, and the next starts from it, upsampled; records carry `scale`, `scales` and `size`.
/// When the cost stops being finite, the last image whose cost was finite is the run's result and
/// sample before the error is reported.
pub fn train(
    session: Session,
    mut r: NstRun,
    opts: &RunOptions,
    start: Option<u64>,
) -> Result<RunState> {
    let mut live = Live::new(
        session,
        r.preset.total_iterations(),
        opts.max_steps,
        opts.quiet,
    );
    let run = live.run.clone();
    let planned = |live: &Live, r: &NstRun| live.planned(r.preset.total_iterations());
    let mut step = start.unwrap_or(0);
    let mut resumed = start.is_some();
    let mut converged = None;
    let mut last_losses = Losses::new();
    // the image of the last step whose cost was finite (with its step), kept until the next is known
    let mut last_finite: Option<(u64, candle_core::Tensor)> = None;
    let state = loop {
        let end = planned(&live, &r);
        if let Some(state) = live.before_step(&mut r, step, end)? {
            break state;
        }
        // the end of a scale: its final image is recorded, then the next scale starts from it
        let k = r.trainer.scale;
        if k + 1 < r.sizes().len() && step >= r.boundaries()[k] {
            if !resumed {
                let losses = record(&mut r, &run, step)?;
                live.progress.update(step + 1, step, &losses, true);
                let p = r
                    .sample(&run, step)
                    .with_context(|| run.writing(Writing::Sample(step)))?;
                run.append_event(
                    "sample",
                    &format!("step {step}: {} — end of {}", p.display(), r.where_()),
                )?;
            }
            let prepared = setup::prepare_scale(
                &r.preset,
                &r.workspace,
                r.trainer.image().device(),
                k + 1,
                Some(r.trainer.vgg()),
            )?;
            r.trainer.next_scale(prepared, &r.preset)?;
            run.append_event(
                "scale",
                &format!(
                    "step {step}: {} starts from the previous result, upsampled",
                    r.where_()
                ),
            )?;
            resumed = true;
            last_finite = None;
        }
        let (costs, grad) = r.trainer.evaluate()?;
        let lr = r.preset.train.lr();
        if !resumed {
            let losses = r.trainer.losses(&costs)?;
            run.append_record(&Record::now(step, 0, lr, r.record_scale(), &losses))
                .with_context(|| run.writing(Writing::Metrics))?;
            if let Some(which) = crate::train::live::not_finite(&losses) {
                let last = last_finite.take();
                let kept = keep_last_finite(&mut r, &run, opts, last, live.last_sample)?;
                anyhow::bail!(
                    "the cost is not finite at step {step} ({which}): lower the learning rate or \
                     the loss weights{kept}"
                );
            }
            live.progress.update(
                step + 1,
                step,
                &losses,
                step.is_multiple_of(r.preset.log.print_every),
            );
            // a checkpoint at step k holds the image after k updates, whose record k is written
            let (log, note) = (r.preset.log.clone(), format!(" ({})", r.where_()));
            live.due(&mut r, step, &log, &note)?;
            last_losses = losses;
        }
        resumed = false;
        last_finite = Some((step, r.trainer.image().copy()?));
        if let Update::Converged(why) = r.trainer.apply(&grad)? {
            let k = r.trainer.scale;
            if k + 1 == r.sizes().len() {
                converged = Some(why);
                break RunState::Finished;
            }
            // a coarse scale that converged ends there: the next starts from its image
            let end = r.boundaries()[k];
            run.append_event(
                "converged",
                &format!(
                    "step {step}: {why}; {} ends here, the next scale starts at step {end}",
                    r.where_()
                ),
            )?;
            step = end.min(planned(&live, &r));
            live.session.progress(step, 0, planned(&live, &r));
            continue;
        }
        step += 1;
        live.session.progress(step, 0, planned(&live, &r));
    };
    let schedule = r.preset.total_iterations();
    let mut total = live.planned(schedule);
    // the costs of the final image, so the curve ends where the result is (a converged run's
    // record of it is written: the image did not change)
    let losses = match (&converged, last_losses.is_empty()) {
        (Some(_), false) => last_losses,
        // converged right where it resumed: that step's record is already written
        (Some(_), true) => r.trainer.losses(&r.trainer.costs()?)?,
        (None, _) => record(&mut r, &run, step)?,
    };
    live.progress.finish(step, &losses);
    let note = format!(" ({})", r.where_());
    if live.last_sample != Some(step) {
        live.sample(&mut r, step, &note)?;
    }
    if live.last_checkpoint != Some(step) {
        live.checkpoint(&mut r, step, &note)?;
    }
    let result = run.root.join("result.png");
    let image = r.trainer.output()?;
    image_io::save_tensor(&image, &result)?;
    if let Some(out) = &opts.output {
        save_output(&image, out, &result)?;
    }
    let ending = match converged {
        Some(why) => {
            println!("converged at step {step}: {why}");
            let planned = total;
            // the steps it took are its total
            total = step;
            crate::run::ending::Ending::Converged(format!("{why} ({planned} steps were planned)"))
        }
        None => crate::run::ending::ending(step, schedule, opts.max_steps),
    };
    live.close(state, (step, 0), total, ending)
}

/// After a cost that is not finite: the last image whose cost was finite goes back in, and is
/// written as the run's sample and result (and `--output`). Returns a note for the error.
fn keep_last_finite(
    r: &mut NstRun,
    run: &RunDir,
    opts: &RunOptions,
    last: Option<(u64, candle_core::Tensor)>,
    last_sample: Option<u64>,
) -> Result<String> {
    let Some((at, image)) = last else {
        return Ok(String::new());
    };
    r.trainer.set_image(&image)?;
    if last_sample != Some(at) {
        let p = r.sample(run, at)?;
        run.append_event(
            "sample",
            &format!(
                "step {at}: {} (the last image with a finite cost)",
                p.display()
            ),
        )?;
    }
    let result = run.root.join("result.png");
    let image = r.trainer.output()?;
    image_io::save_tensor(&image, &result)?;
    let mut kept = result.display().to_string();
    if let Some(out) = &opts.output {
        save_output(&image, out, &result)?;
        kept = format!("{kept} and {}", out.display());
    }
    Ok(format!(
        "; the image of step {at}, the last with a finite cost, is kept in {kept}"
    ))
}

/// The result copied to `--output` (its folder made: `stylize` tried it before the work). Should
/// it fail all the same (a disk that filled up), the error says where the result is kept.
fn save_output(
    image: &candle_core::Tensor,
    out: &std::path::Path,
    kept: &std::path::Path,
) -> Result<()> {
    let write = || -> Result<()> {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(image_io::save_tensor(image, out)?)
    };
    write().with_context(|| {
        format!(
            "writing {}; the result is kept in {}",
            out.display(),
            kept.display()
        )
    })
}

/// The record of the current image (no update): its costs and scale.
fn record(r: &mut NstRun, run: &RunDir, step: u64) -> Result<Losses> {
    let costs = r.trainer.costs()?;
    let losses = r.trainer.losses(&costs)?;
    let record = Record::now(step, 0, r.preset.train.lr(), r.record_scale(), &losses);
    run.append_record(&record)
        .with_context(|| run.writing(Writing::Metrics))?;
    Ok(losses)
}
