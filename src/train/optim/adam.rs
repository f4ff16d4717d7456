//! Adam as `torch.optim.Adam` (Kingma & Ba 2015), no weight decay, no amsgrad:
//! m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
//! p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
//!
//! The moments are plain storage, detached from every graph: candle's `backward()` leaves the
//! gradients of variables attached to the step's graph (a weight's gradient is an op on that step's
//! activations), so moments built from them would chain every step's graph to the next and memory
//! would grow with each step (issue 10).

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

pub struct Adam {
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: u64,
    pub config: AdamConfig,
}

impl Adam {
    pub fn new(vars: Vec<Var>, config: AdamConfig) -> Result<Self> {
        let m = vars
            .iter()
            .map(|v| v.as_tensor().zeros_like())
            .collect::<Result<Vec<_>>>()?;
        let v = m.clone();
        Ok(Self {
            vars,
            m,
            v,
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
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let g = g.detach();
            let m = ((&self.m[i] * beta1)? + (&g * (1.0 - beta1))?)?;
            let v = ((&self.v[i] * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
            let denom = ((v.sqrt()? / bc2.sqrt())? + eps)?;
            let update = ((&m / denom)? * (lr / bc1))?;
            var.set(&var.as_tensor().sub(&update)?)?;
            self.m[i] = m.detach();
            self.v[i] = v.detach();
        }
        Ok(())
    }

    /// Moments and step count under `prefix`, for checkpoints.
    pub fn state(&self, prefix: &str) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        for i in 0..self.vars.len() {
            out.insert(format!("{prefix}.{i}.exp_avg"), self.m[i].clone());
            out.insert(format!("{prefix}.{i}.exp_avg_sq"), self.v[i].clone());
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
            self.m[i] = get(format!("{prefix}.{i}.exp_avg"))?
                .to_device(self.vars[i].device())?
                .detach();
            self.v[i] = get(format!("{prefix}.{i}.exp_avg_sq"))?
                .to_device(self.vars[i].device())?
                .detach();
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
        let mut opt = Adam::new(vec![w.clone()], AdamConfig::default()).unwrap();
        for _ in 0..3 {
            let act = x.as_tensor().exp().unwrap();
            let loss = (w.as_tensor() * &act).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            assert!(
                grads.get(w.as_tensor()).unwrap().track_op(),
                "candle's gradient of a weight is attached to the graph"
            );
            opt.step(&grads).unwrap();
            assert!(!opt.m[0].track_op() && !opt.v[0].track_op());
        }
    }
}
