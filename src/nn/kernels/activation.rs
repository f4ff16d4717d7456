//! LeakyReLU as one CPU op with its own backward (from candle's ops, `maximum(x, slope·x)`, it
//! records two full-size tensors), and the gate gradient it shares with the fused bias + ReLU.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    super::f32_slice("leaky relu", s, l, what)
}

/// LeakyReLU(slope) as one op: y = x for x > 0, else slope·x; dx = dy · (1 or slope).
struct Leaky(f32);

impl CustomOp1 for Leaky {
    fn name(&self) -> &'static str {
        "leaky-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "input")?;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(1 << 16)
            .zip(x.par_chunks(1 << 16))
            .for_each(|(y, x)| {
                for (y, &v) in y.iter_mut().zip(x) {
                    *y = if v > 0.0 { v } else { v * self.0 };
                }
            });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::cuda::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let n = l.shape().elem_count();
        let x = cu::input("leaky relu", s, l, "input")?;
        let mut y = cu::output(&s.device, n)?;
        let launch = super::cuda::launch::leaky_relu(n, self.0);
        cu::run(&s.device, &launch, &mut [Buf::In(x), Buf::Out(&mut y)])?;
        Ok(cu::wrap(y, &s.device, l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(gate_grad(x, dy, self.0)?))
    }
}

/// dy where t > 0, else slope·dy: our gate where its side is on, else candle's ops.
pub(super) fn gate_grad(t: &Tensor, dy: &Tensor, slope: f32) -> Result<Tensor> {
    if super::switch::ours(super::switch::Op::Gate, &[t, dy]) {
        return t
            .contiguous()?
            .apply_op2_no_bwd(&dy.contiguous()?, &GateGrad(slope));
    }
    gate_grad_composed(t, dy, slope)
}

/// The same from candle's ops (any device).
fn gate_grad_composed(t: &Tensor, dy: &Tensor, slope: f32) -> Result<Tensor> {
    let open = t.gt(0.0)?;
    if slope == 0.0 {
        return open.where_cond(dy, &dy.zeros_like()?);
    }
    open.where_cond(dy, &(dy * slope as f64)?)
}

/// The gradient through a gate on the sign of its first input t (the pre-activation, or ReLU's
/// output): dy where t > 0, else slope·dy — exactly 0 for slope 0, as PyTorch's ReLU backward.
pub(super) struct GateGrad(pub f32);

impl CustomOp2 for GateGrad {
    fn name(&self) -> &'static str {
        "gate-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (t, dy) = (f32_slice(s1, l1, "input")?, f32_slice(s2, l2, "gradient")?);
        let slope = self.0;
        let mut dx = vec![0f32; t.len()];
        dx.par_chunks_mut(1 << 16)
            .zip(t.par_chunks(1 << 16).zip(dy.par_chunks(1 << 16)))
            .for_each(|(dx, (t, dy))| {
                for ((d, &v), &g) in dx.iter_mut().zip(t).zip(dy) {
                    *d = if v > 0.0 {
                        g
                    } else if slope == 0.0 {
                        0.0
                    } else {
                        g * slope
                    };
                }
            });
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::cuda::CudaStorage,
        l1: &Layout,
        s2: &candle_core::cuda::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let n = l1.shape().elem_count();
        if l2.shape().elem_count() != n {
            candle_core::bail!(
                "gate-grad: {n} inputs, {} gradients",
                l2.shape().elem_count()
            )
        }
        let t = cu::input("gate-grad", s1, l1, "input")?;
        let dy = cu::input("gate-grad", s2, l2, "gradient")?;
        let mut dx = cu::output(&s1.device, n)?;
        let launch = super::cuda::launch::gate_grad(n, self.0);
        cu::run(
            &s1.device,
            &launch,
            &mut [Buf::In(t), Buf::In(dy), Buf::Out(&mut dx)],
        )?;
        Ok(cu::wrap(dx, &s1.device, l1.shape().clone()))
    }
}

/// LeakyReLU(slope): fused for f32 on the CPU, `maximum(x, slope·x)` elsewhere.
pub fn leaky_relu(x: &Tensor, slope: f32) -> Result<Tensor> {
    if super::switch::ours(super::switch::Op::Leaky, &[x]) {
        return x.contiguous()?.apply_op1(Leaky(slope));
    }
    x.maximum(&(x * slope as f64)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn leaky_relu_values_and_gradients_match_pytorch() {
        crate::nn::kernels::testing::check_unary_fixture("leaky_relu", 1, 1e-6, |x, _| {
            leaky_relu(x, 0.2).unwrap()
        });
    }

    #[test]
    fn the_composed_gate_is_the_gate_op() {
        let t = crate::nn::kernels::testing::rand(&[2, 3, 5, 7], 1);
        let dy = crate::nn::kernels::testing::rand(&[2, 3, 5, 7], 2);
        for slope in [0.0f32, 0.2] {
            let ours = t.apply_op2_no_bwd(&dy, &GateGrad(slope)).unwrap();
            let composed = gate_grad_composed(&t, &dy, slope).unwrap();
            assert_eq!(
                crate::nn::kernels::testing::max_abs(&ours, &composed),
                0.0,
                "slope {slope}"
            );
        }
    }

    #[test]
    fn fused_leaky_relu_matches_maximum() {
        let x = Var::from_tensor(
            &Tensor::new(&[[-2.0f32, -0.5, 0.0, 0.25, 3.0]], &Device::Cpu).unwrap(),
        )
        .unwrap();
        let y = leaky_relu(x.as_tensor(), 0.2).unwrap();
        assert_eq!(y.to_vec2::<f32>().unwrap(), [[-0.4, -0.1, 0.0, 0.25, 3.0]]);
        let dx = y.sum_all().unwrap().backward().unwrap();
        // PyTorch: the slope at 0 and below
        assert_eq!(
            dx.get(x.as_tensor()).unwrap().to_vec2::<f32>().unwrap(),
            [[0.2, 0.2, 0.2, 1.0, 1.0]]
        );
    }
}
