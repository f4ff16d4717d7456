//! The style-transfer trainer: optimises the generated image (the only variable) with Adam or
//! L-BFGS, clamps it to [0, 1] after each update, and reports through the run directory.
//! Metrics record `step` k holds the costs of the image after k updates; step 0 is the initial image.

use super::optim::{Adam, AdamConfig, Lbfgs};
use super::progress::Progress;
use super::signals;
use crate::data::image_io;
use crate::nst::colors::original_colors;
use crate::nst::objective::{Costs, Objective};
use crate::nst::setup::Prepared;
use crate::preset::nst::{NstPreset, OptimizerKind};
use crate::preset::Preset;
use crate::run::session::{Flow, Session, Steer};
use crate::run::{RunDir, RunState};
use anyhow::{Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use std::collections::HashMap;
use std::path::PathBuf;

enum Optimizer {
    Adam(Adam),
    Lbfgs(Lbfgs),
}

pub struct NstTrainer {
    objective: Objective,
    image: Var,
    content: Tensor,
    optimizer: Optimizer,
    original_colors: bool,
    style_names: Vec<String>,
}

impl NstTrainer {
    pub fn new(prepared: Prepared, preset: &NstPreset) -> Result<Self> {
        let image = Var::from_tensor(&prepared.init.clamp(0f32, 1f32)?)?;
        let lr = preset.train.lr();
        let optimizer = match preset.train.optimizer {
            OptimizerKind::Adam => Optimizer::Adam(Adam::new(
                vec![image.clone()],
                AdamConfig {
                    lr,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                },
            )?),
            OptimizerKind::Lbfgs => Optimizer::Lbfgs(Lbfgs::new(lr, 100)),
        };
        Ok(Self {
            objective: prepared.objective,
            image,
            content: prepared.content,
            optimizer,
            original_colors: preset.data.original_colors,
            style_names: preset.model.style_layers.keys().cloned().collect(),
        })
    }

    pub fn costs(&self) -> Result<Costs> {
        Ok(self.objective.costs(self.image.as_tensor())?)
    }

    /// Costs of the current image and their gradient.
    pub fn evaluate(&self) -> Result<(Costs, GradStore)> {
        let costs = self.costs()?;
        let grads = costs.total.backward()?;
        Ok((costs, grads))
    }

    /// One update from the gradient of `evaluate`, then the clamp to [0, 1].
    pub fn apply(&mut self, grads: &GradStore) -> Result<()> {
        match &mut self.optimizer {
            Optimizer::Adam(adam) => adam.step(grads)?,
            Optimizer::Lbfgs(lbfgs) => {
                let g = grads
                    .get(self.image.as_tensor())
                    .context("the image has no gradient")?;
                let next = lbfgs.step(self.image.as_tensor(), g)?;
                self.image.set(&next)?;
            }
        }
        self.image.set(&self.image.as_tensor().clamp(0f32, 1f32)?)?;
        Ok(())
    }

    pub fn set_lr(&mut self, lr: f64) {
        match &mut self.optimizer {
            Optimizer::Adam(a) => a.set_lr(lr),
            Optimizer::Lbfgs(l) => l.lr = lr,
        }
    }

    pub fn objective_mut(&mut self) -> &mut Objective {
        &mut self.objective
    }

    pub fn image(&self) -> &Tensor {
        self.image.as_tensor()
    }

    /// The image to show or save: with the content's colours when `original_colors` is set.
    pub fn output(&self) -> Result<Tensor> {
        let img = self.image.as_tensor();
        Ok(if self.original_colors {
            original_colors(img, &self.content)?
        } else {
            img.clone()
        })
    }

    /// The named losses of a metrics record: unweighted J's, the total, and each layer's J_style_l.
    pub fn losses(&self, c: &Costs) -> Result<Vec<(String, f64)>> {
        let v = |t: &Tensor| -> Result<f64> {
            Ok(t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?)
        };
        let mut out = vec![
            ("content".to_string(), v(&c.content)?),
            ("style".to_string(), v(&c.style)?),
            ("tv".to_string(), v(&c.tv)?),
            ("total".to_string(), v(&c.total)?),
        ];
        for (name, j) in self.style_names.iter().zip(&c.style_layers) {
            out.push((format!("style/{name}"), v(j)?));
        }
        Ok(out)
    }

    fn optimizer_state(&self) -> Result<HashMap<String, Tensor>> {
        match &self.optimizer {
            Optimizer::Adam(a) => Ok(a.state("image")?),
            // L-BFGS's history (up to 200 image-sized vectors) is not saved: a resumed run rebuilds it
            Optimizer::Lbfgs(_) => Ok(HashMap::new()),
        }
    }
}

/// What a run was asked to do beyond its preset.
pub struct RunOptions {
    /// End after this many updates (smoke tests).
    pub max_steps: Option<u64>,
    /// Also write the final image here.
    pub output: Option<PathBuf>,
    pub quiet: bool,
}

impl NstTrainer {
    fn save(&self, dir: &std::path::Path, step: u64, preset: &NstPreset) -> Result<()> {
        candle_core::safetensors::save(
            &HashMap::from([("image".to_string(), self.image().clone())]),
            dir.join("image.safetensors"),
        )?;
        let opt = self.optimizer_state()?;
        if !opt.is_empty() {
            candle_core::safetensors::save(&opt, dir.join("optimizer.safetensors"))?;
        }
        image_io::save_tensor(&self.output()?, &dir.join("image.png"))?;
        let meta = serde_json::json!({ "step": step, "epoch": 0, "kind": "nst", "preset": toml::to_string_pretty(&preset.effective())? });
        std::fs::write(dir.join("meta.json"), serde_json::to_vec_pretty(&meta)?)?;
        Ok(())
    }

    /// Takes the image and optimiser state of a checkpoint folder.
    pub fn load(&mut self, dir: &std::path::Path) -> Result<()> {
        let dev = self.image.device().clone();
        let img = crate::nn::weights::load_safetensors(dir.join("image.safetensors"), &dev)?;
        let t = img
            .get("image")
            .context("image.safetensors lacks `image`")?;
        anyhow::ensure!(
            t.dims() == self.image.dims(),
            "the checkpoint's image is {:?}, the run's {:?}",
            t.dims(),
            self.image.dims()
        );
        self.image.set(t)?;
        if let Optimizer::Adam(adam) = &mut self.optimizer {
            let state =
                crate::nn::weights::load_safetensors(dir.join("optimizer.safetensors"), &dev)?;
            adam.load_state("image", &state)?;
        }
        Ok(())
    }
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
            state = RunState::Stopped;
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
    let (kind, message) = crate::train::end_of_run(state, step, total);
    run.append_answer(kind, &message, session.stop_request.as_deref())?;
    session.finish(state, step, 0, &message);
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::pool::Pooling;
    use crate::nn::weights::load_safetensors;
    use crate::nst::objective::fixture_objective;
    use candle_core::Device;

    /// Runs the fixture's problem as tools/fixtures.py does with torch.optim and compares the
    /// costs along the way and the final image.
    fn trajectory(optimizer: OptimizerKind, lr: f64, steps: usize, prefix: &str) {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let prepared = Prepared {
            objective: fixture_objective(&fx, Pooling::Max, &[("in.style", 1.0)]),
            content: fx["in.content"].clone(),
            init: fx["in.generated"].clone(),
            warnings: vec![],
        };
        let mut preset = NstPreset {
            kind: "nst".into(),
            ..Default::default()
        };
        preset.train.optimizer = optimizer;
        preset.train.lr = Some(lr);
        let mut trainer = NstTrainer::new(prepared, &preset).unwrap();
        let want: Vec<f32> = fx[&format!("{prefix}.losses")].to_vec1().unwrap();
        let mut got = vec![];
        for _ in 0..steps {
            let (costs, grads) = trainer.evaluate().unwrap();
            got.push(costs.total.to_scalar::<f32>().unwrap());
            trainer.apply(&grads).unwrap();
        }
        got.push(trainer.costs().unwrap().total.to_scalar::<f32>().unwrap());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 5e-5 * w.abs(),
                "{prefix} step {i}: J = {g}, torch {w} (all: {got:?} vs {want:?})"
            );
        }
        let d = crate::max_abs_diff(trainer.image(), &fx[&format!("{prefix}.image")]);
        assert!(d < 1e-4, "{prefix}: image differs from torch by {d}");
        let (lo, hi) = (
            trainer.image().min_all().unwrap(),
            trainer.image().max_all().unwrap(),
        );
        assert!(lo.to_scalar::<f32>().unwrap() >= 0.0 && hi.to_scalar::<f32>().unwrap() <= 1.0);
    }

    #[test]
    fn adam_trajectory_matches_torch() {
        trajectory(OptimizerKind::Adam, 0.02, 4, "exp.adam");
    }

    #[test]
    fn lbfgs_trajectory_matches_torch() {
        trajectory(OptimizerKind::Lbfgs, 1.0, 6, "exp.lbfgs");
    }
}
