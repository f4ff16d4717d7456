//! The style-transfer trainer: optimises the generated image (the only variable) with Adam or
//! L-BFGS, clamps it to [0, 1] after each update, and reports through the run directory.
//! Metrics record `step` k holds the costs of the image after k updates; step 0 is the initial image.

mod checkpoint;
mod run;

pub use run::{scale_of, train, NstRun, RunOptions};

use super::optim::{Adam, AdamConfig, Lbfgs, LbfgsStep};
use crate::nst::colors::original_colors;
use crate::nst::objective::{Costs, Objective};
use crate::nst::setup::Prepared;
use crate::preset::nst::{NstPreset, OptimizerKind};
use crate::run::metrics::Losses;
use anyhow::Result;
use candle_core::{Tensor, Var};
use std::collections::HashMap;

/// What one update did.
#[derive(Debug, PartialEq)]
pub enum Update {
    Moved,
    /// The optimiser would not move the image any more: why.
    Converged(String),
}

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
    /// The scale being optimised (0-based; 0 without `scales`)
    pub scale: usize,
}

/// L-BFGS keeps 2 image-sized vectors per correction: at most 100 corrections (torch's default),
/// and no more than fit in 1 GiB (a 4096-px image: 2).
pub const LBFGS_BUDGET: usize = 1 << 30;

fn optimizer_for(image: &Var, preset: &NstPreset) -> Result<Optimizer> {
    let lr = preset.train.lr();
    Ok(match preset.train.optimizer {
        OptimizerKind::Adam => Optimizer::Adam(Adam::new(
            vec![image.clone()],
            AdamConfig {
                lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
        )?),
        OptimizerKind::Lbfgs => {
            let bytes = image.elem_count() * 4 * 2;
            Optimizer::Lbfgs(Lbfgs::new(lr, (LBFGS_BUDGET / bytes).clamp(2, 100)))
        }
    })
}

impl NstTrainer {
    pub fn new(prepared: Prepared, preset: &NstPreset) -> Result<Self> {
        let image = Var::from_tensor(&prepared.init.clamp(0f32, 1f32)?)?;
        let optimizer = optimizer_for(&image, preset)?;
        Ok(Self {
            objective: prepared.objective,
            image,
            content: prepared.content,
            optimizer,
            original_colors: preset.data.original_colors,
            style_names: preset.model.style_layers.keys().cloned().collect(),
            scale: 0,
        })
    }

    /// Moves on to the next scale: its objective, the current image upsampled (Lanczos) to its
    /// size, a fresh optimiser.
    pub fn next_scale(&mut self, prepared: Prepared, preset: &NstPreset) -> Result<()> {
        let (_, _, h, w) = prepared.content.dims4()?;
        let up = crate::data::image_io::upsample(self.image.as_tensor(), w as u32, h as u32)?;
        self.image = Var::from_tensor(&up.clamp(0f32, 1f32)?)?;
        self.objective = prepared.objective;
        self.content = prepared.content;
        self.optimizer = optimizer_for(&self.image, preset)?;
        self.scale += 1;
        Ok(())
    }

    /// The VGG in use (shared with the next scale's objective).
    pub fn vgg(&self) -> crate::nn::vgg::Vgg19 {
        self.objective.vgg().clone()
    }

    pub fn tile(&self) -> Option<usize> {
        self.objective.tile()
    }

    pub fn costs(&self) -> Result<Costs> {
        Ok(self.objective.values(self.image.as_tensor())?)
    }

    /// Costs of the current image and their gradient (tile by tile when the objective is tiled).
    pub fn evaluate(&self) -> Result<(Costs, Tensor)> {
        Ok(self.objective.evaluate(self.image.as_tensor())?)
    }

    /// One update from the gradient of `evaluate`, then the clamp to [0, 1]; or, where the
    /// optimiser has converged (L-BFGS as torch.optim.LBFGS), no change and why.
    pub fn apply(&mut self, grad: &Tensor) -> Result<Update> {
        match &mut self.optimizer {
            Optimizer::Adam(adam) => adam.step_with(&[Some(grad.clone())])?,
            Optimizer::Lbfgs(lbfgs) => match lbfgs.step(self.image.as_tensor(), grad)? {
                LbfgsStep::Moved(next) => self.image.set(&next)?,
                LbfgsStep::Converged(why) => return Ok(Update::Converged(why.into())),
            },
        }
        self.image.set(&self.image.as_tensor().clamp(0f32, 1f32)?)?;
        Ok(Update::Moved)
    }

    /// Puts back an image kept from an earlier step.
    pub fn set_image(&mut self, image: &Tensor) -> Result<()> {
        Ok(self.image.set(image)?)
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
    pub fn losses(&self, c: &Costs) -> Result<Losses> {
        let v = |t: &Tensor| -> Result<f64> {
            Ok(t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?)
        };
        let mut out = Losses::new()
            .with("content", v(&c.content)?)
            .with("style", v(&c.style)?)
            .with("tv", v(&c.tv)?)
            .with("total", v(&c.total)?);
        for (name, j) in self.style_names.iter().zip(&c.style_layers) {
            out.push(format!("style/{name}"), v(j)?);
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

    /// L-BFGS and Adam take the tiled gradient as they take the untiled one: along the untiled
    /// trajectory, every step taken with the tiled gradient lands where the untiled one does.
    /// (Each step starts both from the untiled image and history: L-BFGS without a line search, as torch's,
    /// amplifies a rounding difference of 1e-7 in the gradient — GEMM blocking differs between a
    /// tile and the whole image and between CPUs with and without AVX-512 — to 1e-2 in the image
    /// within three steps, so free-running trajectories compare arithmetic, not tiling.)
    #[test]
    fn tiled_and_untiled_trajectories_agree() {
        use crate::nn::vgg::{layer_index, Vgg19};
        use crate::nst::objective::{CostWeights, Objective};
        use crate::rng::SeededRng;
        let dev = Device::Cpu;
        let widths = [4, 4, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16];
        let vgg = Vgg19::random(5, &widths, Pooling::Max, &dev).unwrap();
        let mut rng = SeededRng::new(3);
        let content = rng.uniform((1, 3, 150, 130), 0.0, 1.0, &dev).unwrap();
        let style = rng.uniform((1, 3, 120, 120), 0.0, 1.0, &dev).unwrap();
        let style_layers: Vec<usize> = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
            .iter()
            .map(|n| layer_index(n).unwrap())
            .collect();
        for optimizer in [OptimizerKind::Lbfgs, OptimizerKind::Adam] {
            let trainer = |tile: Option<usize>| {
                let objective = Objective::new(
                    vgg.clone(),
                    &content,
                    &[(style.clone(), 1.0)],
                    vec![layer_index("conv4_2").unwrap()],
                    style_layers.clone(),
                    CostWeights {
                        content: 1.0,
                        style: 100.0,
                        tv: 0.01,
                        layers: vec![1.0; 5],
                    },
                    tile,
                )
                .unwrap();
                let mut preset = NstPreset::default();
                preset.train.optimizer = optimizer;
                let prepared = Prepared {
                    objective,
                    content: content.clone(),
                    init: content.clone(),
                    warnings: vec![],
                };
                NstTrainer::new(prepared, &preset).unwrap()
            };
            let (mut a, mut b) = (trainer(None), trainer(Some(64)));
            for step in 0..3 {
                let (ca, ga) = a.evaluate().unwrap();
                let (cb, gb) = b.evaluate().unwrap();
                let (x, y) = (
                    ca.total.to_scalar::<f32>().unwrap(),
                    cb.total.to_scalar::<f32>().unwrap(),
                );
                assert!(
                    (x - y).abs() <= 1e-4 * x.abs(),
                    "{optimizer:?} step {step}: J = {x} vs tiled {y}"
                );
                // and from the same L-BFGS history (Adam's moments differ by rounding alone)
                if let (Optimizer::Lbfgs(la), Optimizer::Lbfgs(lb)) =
                    (&a.optimizer, &mut b.optimizer)
                {
                    *lb = la.clone();
                }
                let before = a.image().copy().unwrap();
                a.apply(&ga).unwrap();
                b.apply(&gb).unwrap();
                // the step lands where the untiled one does, to 1e-3 of its size (L-BFGS moves
                // pixels by up to 0.9 in one step here; Adam by lr = 0.01)
                let moved = crate::max_abs_diff(a.image(), &before);
                let d = crate::max_abs_diff(a.image(), b.image());
                let tol = (1e-3 * moved).max(1e-4);
                assert!(
                    d <= tol,
                    "{optimizer:?} step {step}: images differ by {d} after a step of {moved}"
                );
                b.image.set(a.image()).unwrap();
            }
        }
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
