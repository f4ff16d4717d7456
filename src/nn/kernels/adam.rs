//! One Adam update of one parameter in a single pass over p, g, m and v, in place: the tensor form
//! (optim/adam.rs) makes ten temporaries per parameter and step. The arithmetic is the tensor
//! form's, operation for operation in f32 (candle's `x * c` and `x / c` are `x·c + 0` and
//! `x·(1/c) + 0`), so both give bit-identical parameters and moments.

use candle_core::{CpuStorage, InplaceOp2, Layout, Result, Tensor};
use std::cell::RefCell;

/// The constants of one step.
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// 1 − β1ᵗ and 1 − β2ᵗ
    pub bc1: f64,
    pub bc2: f64,
}

struct Kernel<'a> {
    c: AdamStep,
    m: RefCell<&'a mut [f32]>,
    v: RefCell<&'a mut [f32]>,
}

impl InplaceOp2 for Kernel<'_> {
    fn name(&self) -> &'static str {
        "fused-adam"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let (CpuStorage::F32(p), CpuStorage::F32(g)) = (s1, s2) else {
            candle_core::bail!("fused-adam: f32 parameters and gradients only")
        };
        let (Some((p0, p1)), Some((g0, g1))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("fused-adam: contiguous parameters and gradients only")
        };
        let (p, g) = (&mut p[p0..p1], &g[g0..g1]);
        let (mut m, mut v) = (self.m.borrow_mut(), self.v.borrow_mut());
        if p.len() != g.len() || p.len() != m.len() || p.len() != v.len() {
            candle_core::bail!("fused-adam: sizes differ")
        }
        let c = self.c;
        let (b1, nb1) = (c.beta1 as f32, (1.0 - c.beta1) as f32);
        let (b2, nb2) = (c.beta2 as f32, (1.0 - c.beta2) as f32);
        let inv_sqrt_bc2 = (1.0 / c.bc2.sqrt()) as f32;
        let eps = c.eps as f32;
        let step = (c.lr / c.bc1) as f32;
        for i in 0..p.len() {
            let gi = g[i];
            let mi = (m[i] * b1 + 0.0) + (gi * nb1 + 0.0);
            let vi = (v[i] * b2 + 0.0) + ((gi * gi) * nb2 + 0.0);
            let denom = ((vi.sqrt() * inv_sqrt_bc2 + 0.0) * 1.0) + eps;
            p[i] -= (mi / denom) * step + 0.0;
            m[i] = mi;
            v[i] = vi;
        }
        Ok(())
    }
}

/// Updates `param` (a CPU f32 variable's tensor) and its moments `m`, `v` in place from `grad`.
pub fn step(
    param: &Tensor,
    grad: &Tensor,
    m: &mut [f32],
    v: &mut [f32],
    c: AdamStep,
) -> Result<()> {
    let grad = grad.contiguous()?;
    param.inplace_op2(
        &grad,
        &Kernel {
            c,
            m: RefCell::new(m),
            v: RefCell::new(v),
        },
    )
}
