//! Adam as `torch.optim.Adam` (Kingma & Ba 2015), no weight decay, no amsgrad:
//! m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
//! p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
//!
//! The moments are plain storage, detached from every graph: candle's `backward()` leaves the
//! gradients of variables attached to the step's graph (a weight's gradient is an op on that step's
//! activations), so moments built from them would chain every step's graph to the next and memory
//! would grow with each step (issue 10).

use crate::nn::kernels;
use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// The moments: storage updated in place by the fused kernel (host vectors on the CPU, one device
/// tensor per parameter on CUDA), or tensors (where the fused side is off, and the reference form
/// the kernel is checked against).
enum Moments {
    Fused(Vec<kernels::adam::Moments>),
    Tensors { m: Vec<Tensor>, v: Vec<Tensor> },
}

pub struct Adam {
    vars: Vec<Var>,
    moments: Moments,
    step: u64,
    pub config: AdamConfig,
}

impl Adam {
    /// The fused in-place kernel where every variable is an f32 tensor on one device that has its
    /// side (`kernels::switch`), else tensor ops.
    pub fn new(vars: Vec<Var>, config: AdamConfig) -> Result<Self> {
        let fused = kernels::switch::ours(
            kernels::switch::Op::Adam,
            &vars.iter().map(|v| v.as_tensor()).collect::<Vec<_>>(),
        );
        Self::with_kernel(vars, config, fused)
    }

    /// `fused = false`: always the tensor form.
    pub fn with_kernel(vars: Vec<Var>, config: AdamConfig, fused: bool) -> Result<Self> {
        let moments = if fused {
            Moments::Fused(
                vars.iter()
                    .map(|v| kernels::adam::Moments::zeros(v.as_tensor()))
                    .collect::<Result<_>>()?,
            )
        } else {
            let m = vars
                .iter()
                .map(|v| v.as_tensor().zeros_like())
                .collect::<Result<Vec<_>>>()?;
            Moments::Tensors { v: m.clone(), m }
        };
        Ok(Self {
            vars,
            moments,
            step: 0,
            config,
        })
    }

    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        let gs: Vec<Option<Tensor>> = self
            .vars
            .iter()
            .map(|v| grads.get(v.as_tensor()).cloned())
            .collect();
        self.step_with(&gs)
    }

    /// One step with the gradient of each variable (in the order given to `new`; None: no update).
    pub fn step_with(&mut self, grads: &[Option<Tensor>]) -> Result<()> {
        self.step += 1;
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
        } = self.config;
        let t = self.step as i32;
        let bc1 = 1.0 - beta1.powi(t);
        let bc2 = 1.0 - beta2.powi(t);
        for (i, var) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(i).and_then(|g| g.as_ref()) else {
                continue;
            };
            let g = g.detach();
            match &mut self.moments {
                Moments::Fused(moments) => kernels::adam::step(
                    var.as_tensor(),
                    &g,
                    &mut moments[i],
                    kernels::adam::AdamStep {
                        lr,
                        beta1,
                        beta2,
                        eps,
                        bc1,
                        bc2,
                    },
                )?,
                Moments::Tensors { m: ms, v: vs } => {
                    let m = ((&ms[i] * beta1)? + (&g * (1.0 - beta1))?)?;
                    let v = ((&vs[i] * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
                    let denom = ((v.sqrt()? / bc2.sqrt())? + eps)?;
                    let update = ((&m / denom)? * (lr / bc1))?;
                    var.set(&var.as_tensor().sub(&update)?)?;
                    ms[i] = m.detach();
                    vs[i] = v.detach();
                }
            }
        }
        Ok(())
    }

    /// The moments of variable `i` as tensors.
    fn moments_of(&self, i: usize) -> Result<(Tensor, Tensor)> {
        let var = &self.vars[i];
        Ok(match &self.moments {
            Moments::Fused(moments) => moments[i].to_tensors(var.as_tensor())?,
            Moments::Tensors { m, v } => (m[i].clone(), v[i].clone()),
        })
    }

    /// Moments and step count under `prefix`, for checkpoints.
    pub fn state(&self, prefix: &str) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        for i in 0..self.vars.len() {
            let (m, v) = self.moments_of(i)?;
            out.insert(format!("{prefix}.{i}.exp_avg"), m);
            out.insert(format!("{prefix}.{i}.exp_avg_sq"), v);
        }
        let dev = self
            .vars
            .first()
            .map(|v| v.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        out.insert(
            format!("{prefix}.step"),
            Tensor::new(&[self.step as f64], &dev)?,
        );
        Ok(out)
    }

    pub fn load_state(&mut self, prefix: &str, state: &HashMap<String, Tensor>) -> Result<()> {
        for i in 0..self.vars.len() {
            let get = |k: String| {
                state
                    .get(&k)
                    .cloned()
                    .ok_or_else(|| candle_core::Error::Msg(format!("optimizer state lacks {k}")))
            };
            let var = &self.vars[i];
            let m = get(format!("{prefix}.{i}.exp_avg"))?.to_device(var.device())?;
            let v = get(format!("{prefix}.{i}.exp_avg_sq"))?.to_device(var.device())?;
            if m.shape() != var.shape() || v.shape() != var.shape() {
                return Err(candle_core::Error::Msg(format!(
                    "optimizer state {prefix}.{i}: shape {:?}, the parameter's {:?}",
                    m.shape(),
                    var.shape()
                )));
            }
            match &mut self.moments {
                Moments::Fused(moments) => {
                    moments[i] = kernels::adam::Moments::from_tensors(var.as_tensor(), &m, &v)?;
                }
                Moments::Tensors { m: ms, v: vs } => {
                    ms[i] = m.detach();
                    vs[i] = v.detach();
                }
            }
        }
        let s = state.get(&format!("{prefix}.step")).ok_or_else(|| {
            candle_core::Error::Msg(format!("optimizer state lacks {prefix}.step"))
        })?;
        self.step = s
            .flatten_all()?
            .to_dtype(candle_core::DType::F64)?
            .to_vec1::<f64>()?[0] as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn first_steps_match_torch_by_hand() {
        // torch: p=1, g=2p (loss p²), lr 0.1: first step moves by lr·sign(g) = 0.1
        let p = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let mut opt = Adam::new(
            vec![p.clone()],
            AdamConfig {
                lr: 0.1,
                ..Default::default()
            },
        )
        .unwrap();
        let loss = p.as_tensor().sqr().unwrap().sum_all().unwrap();
        opt.step(&loss.backward().unwrap()).unwrap();
        let v = p.as_tensor().to_vec1::<f32>().unwrap()[0];
        assert!((v - 0.9).abs() < 1e-6, "{v}");
        let state = opt.state("opt").unwrap();
        let mut other = Adam::new(
            vec![p.clone()],
            AdamConfig {
                lr: 0.1,
                ..Default::default()
            },
        )
        .unwrap();
        other.load_state("opt", &state).unwrap();
        assert_eq!(other.steps_taken(), 1);
    }

    #[test]
    fn moments_hold_no_graph() {
        // a weight's gradient is an op on the step's activations (here exp(x), x a variable):
        // candle leaves it attached to the graph, and moments built from it would keep every
        // step's graph alive
        let dev = Device::Cpu;
        let w = Var::new(&[1.0f32, 2.0], &dev).unwrap();
        let x = Var::new(&[0.5f32, -0.5], &dev).unwrap();
        let mut opt = Adam::with_kernel(vec![w.clone()], AdamConfig::default(), false).unwrap();
        for _ in 0..3 {
            let act = x.as_tensor().exp().unwrap();
            let loss = (w.as_tensor() * &act).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            assert!(
                grads.get(w.as_tensor()).unwrap().track_op(),
                "candle's gradient of a weight is attached to the graph"
            );
            opt.step(&grads).unwrap();
            let Moments::Tensors { m, v } = &opt.moments else {
                panic!("the tensor form")
            };
            assert!(!m[0].track_op() && !v[0].track_op());
        }
    }

    #[test]
    fn the_fused_kernel_gives_the_tensor_form_bit_for_bit() {
        let dev = Device::Cpu;
        let init: Vec<f32> = (0..1000)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0)
            .collect();
        let x: Vec<f32> = (0..1000)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 7.0)
            .collect();
        let x = Tensor::from_vec(x, (10, 100), &dev).unwrap();
        let run = |fused: bool| {
            let w = Var::from_tensor(&Tensor::from_vec(init.clone(), (10, 100), &dev).unwrap())
                .unwrap();
            let cfg = AdamConfig {
                lr: 0.01,
                beta1: 0.5,
                beta2: 0.999,
                eps: 1e-8,
            };
            let mut opt = Adam::with_kernel(vec![w.clone()], cfg, fused).unwrap();
            for _ in 0..7 {
                // a gradient that changes with the weights: (w·x)² summed
                let loss = (w.as_tensor() * &x)
                    .unwrap()
                    .sqr()
                    .unwrap()
                    .sum_all()
                    .unwrap();
                opt.step(&loss.backward().unwrap()).unwrap();
            }
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let st = opt.state("p").unwrap();
            (
                flat(w.as_tensor()),
                flat(&st["p.0.exp_avg"]),
                flat(&st["p.0.exp_avg_sq"]),
            )
        };
        let (fused, tensors) = (run(true), run(false));
        assert!(fused.0 != init, "the weights moved");
        assert!(fused == tensors, "fused and tensor Adam differ");
    }

    #[test]
    fn a_fast_style_step_updates_as_torch_adam() {
        // tools/fixtures_fast_style.py: the narrow TransformerNet's parameters, PyTorch's gradients
        // of one training step, and the parameters after torch.optim.Adam(lr 1e-3).step()
        let dev = Device::Cpu;
        let fx = crate::nn::weights::load_safetensors(
            crate::test_fixture("fast_style_reference.safetensors"),
            &dev,
        )
        .unwrap();
        let net = crate::nn::transformer_net::TransformerNet::from_state_dict(
            fx.iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("net.")?.to_string(), v.clone())))
                .collect(),
            "fixture",
            &dev,
        )
        .unwrap();
        let names = net.params.names();
        let grads: Vec<Option<Tensor>> = names
            .iter()
            .map(|k| Some(fx[&format!("grad.{k}")].clone()))
            .collect();
        for fused in [true, false] {
            let vars = net.params.trainable();
            for (v, k) in vars.iter().zip(&names) {
                v.set(&fx[&format!("net.{k}")]).unwrap();
            }
            let mut opt = Adam::with_kernel(vars.clone(), AdamConfig::default(), fused).unwrap();
            opt.step_with(&grads).unwrap();
            for (v, k) in vars.iter().zip(&names) {
                let d = crate::max_abs_diff(v.as_tensor(), &fx[&format!("step1.{k}")]);
                // a step moves each weight by about lr = 1e-3; f32 rounding of weights near 1 is 6e-8
                assert!(d <= 2e-7, "{k} (fused {fused}): {d}");
            }
        }
    }
}
