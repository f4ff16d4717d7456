//! L-BFGS as `torch.optim.LBFGS(params, lr, max_iter=1, history_size=100, line_search_fn=None)`
//! stepped once per iteration: the default optimiser of jcjohnson/neural-style. The arithmetic and
//! its order follow torch's `step` so that trajectories agree to float precision; the history is
//! kept across calls as torch keeps it in the optimiser state.

use candle_core::{Result, Tensor};
use std::collections::VecDeque;

const TOLERANCE_GRAD: f32 = 1e-7;
const TOLERANCE_CHANGE: f32 = 1e-9;

/// What one step did.
#[derive(Debug)]
pub enum LbfgsStep {
    /// The new parameters.
    Moved(Tensor),
    /// torch would not move (and, called again with the same gradient, never will): why.
    Converged(&'static str),
}

#[derive(Clone)]
pub struct Lbfgs {
    pub lr: f64,
    history_size: usize,
    n_iter: u64,
    /// (y, s, ρ) pairs: old_dirs, old_stps, ro in torch
    history: VecDeque<(Tensor, Tensor, f32)>,
    d: Option<Tensor>,
    t: f32,
    h_diag: f32,
    prev_flat_grad: Option<Tensor>,
}

fn dot(a: &Tensor, b: &Tensor) -> Result<f32> {
    (a * b)?.sum_all()?.to_scalar::<f32>()
}

impl Lbfgs {
    pub fn new(lr: f64, history_size: usize) -> Self {
        Self {
            lr,
            history_size,
            n_iter: 0,
            history: VecDeque::new(),
            d: None,
            t: 0.0,
            h_diag: 1.0,
            prev_flat_grad: None,
        }
    }

    /// One `optimizer.step(closure)` with max_iter = 1: given the parameters and the gradient of
    /// the loss there, the new parameters, or `Converged` where torch returns without moving: the
    /// largest gradient component within `tolerance_grad`, or a direction that no longer descends
    /// (`gtd > -tolerance_change`).
    pub fn step(&mut self, params: &Tensor, grad: &Tensor) -> Result<LbfgsStep> {
        let shape = params.shape().clone();
        // the history outlives the step: keep no graph in it (see optim/adam.rs)
        let flat_grad = grad.detach().flatten_all()?;
        let max_abs_grad = flat_grad.abs()?.max(0)?.to_scalar::<f32>()?;
        if max_abs_grad <= TOLERANCE_GRAD {
            return Ok(LbfgsStep::Converged(
                "L-BFGS: the gradient is zero (every component within tolerance_grad 1e-7)",
            ));
        }
        self.n_iter += 1;
        let d = if self.n_iter == 1 {
            self.history.clear();
            self.h_diag = 1.0;
            flat_grad.neg()?
        } else {
            let prev = self
                .prev_flat_grad
                .as_ref()
                .expect("set after the first iteration");
            let d_prev = self.d.as_ref().expect("set after the first iteration");
            let y = (&flat_grad - prev)?;
            let s = (d_prev * self.t as f64)?;
            let ys = dot(&y, &s)?;
            if ys > 1e-10 {
                if self.history.len() == self.history_size {
                    self.history.pop_front();
                }
                let yy = dot(&y, &y)?;
                self.history.push_back((y, s, 1.0 / ys));
                self.h_diag = ys / yy;
            }
            // two-loop recursion
            let mut al = vec![0f32; self.history.len()];
            let mut q = flat_grad.neg()?;
            for (i, (y, s, ro)) in self.history.iter().enumerate().rev() {
                al[i] = dot(s, &q)? * ro;
                q = (q - (y * al[i] as f64)?)?;
            }
            let mut r = (q * self.h_diag as f64)?;
            for (i, (y, s, ro)) in self.history.iter().enumerate() {
                let be_i = dot(y, &r)? * ro;
                r = (r + (s * (al[i] - be_i) as f64)?)?;
            }
            r
        };
        self.prev_flat_grad = Some(flat_grad.clone());
        self.t = if self.n_iter == 1 {
            let sum_abs = flat_grad.abs()?.sum_all()?.to_scalar::<f32>()?;
            (1.0f32).min(1.0 / sum_abs) * self.lr as f32
        } else {
            self.lr as f32
        };
        let gtd = dot(&flat_grad, &d)?;
        self.d = Some(d.clone());
        if gtd > -TOLERANCE_CHANGE {
            return Ok(LbfgsStep::Converged(
                "L-BFGS: no descent direction left (directional derivative within tolerance_change 1e-9)",
            ));
        }
        params
            .flatten_all()?
            .add(&(d * self.t as f64)?)?
            .reshape(shape)
            .map(|p| LbfgsStep::Moved(p.detach()))
    }

    pub fn history_len(&self) -> usize {
        self.history.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// torch.optim.LBFGS returns without moving when the gradient is zero; so does this, and says so.
    #[test]
    fn a_zero_gradient_converges_without_moving() {
        let x = Tensor::new(&[0.25f32, 0.5, 0.75], &Device::Cpu).unwrap();
        let mut opt = Lbfgs::new(1.0, 10);
        let zero = x.zeros_like().unwrap();
        match opt.step(&x, &zero).unwrap() {
            LbfgsStep::Converged(why) => assert!(why.contains("gradient is zero"), "{why}"),
            LbfgsStep::Moved(_) => panic!("moved on a zero gradient"),
        }
        assert_eq!(opt.history_len(), 0);
        let g = Tensor::new(&[1f32, -1.0, 0.5], &Device::Cpu).unwrap();
        assert!(matches!(opt.step(&x, &g).unwrap(), LbfgsStep::Moved(_)));
    }
}
