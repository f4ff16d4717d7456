//! A convolution's per-channel bias, optionally followed by ReLU, as one CPU op with its own
//! backward: `broadcast_add` then `relu` from candle's ops keep two full-size tensors in the graph
//! and their backward allocates four more (the mask, its product, the broadcast sum):
//!   y = relu?(x + b_c),   g = dy (· [y > 0] with ReLU),   dx = g,   db_c = Σ_{n,h,w} g
//! No bias gradient is computed for a constant bias (VGG's in style transfer).

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::Shared;

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    super::f32_slice("bias", s, l, what)
}

/// (C, H·W) of a 4-D layout.
fn dims(l: &Layout) -> Result<(usize, usize)> {
    let &[_, c, h, w] = l.dims() else {
        candle_core::bail!("bias: a 4-D input, got {:?}", l.dims())
    };
    Ok((c, (h * w).max(1)))
}

struct Forward {
    relu: bool,
}

impl CustomOp2 for Forward {
    fn name(&self) -> &'static str {
        "bias-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, b) = (f32_slice(s1, l1, "input")?, f32_slice(s2, l2, "bias")?);
        let (c, hw) = dims(l1)?;
        if b.len() != c {
            candle_core::bail!("bias: {} values for {c} channels", b.len())
        }
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(hw)
            .zip(x.par_chunks(hw))
            .enumerate()
            .for_each(|(plane, (y, x))| {
                let b = b[plane % c];
                for (y, &v) in y.iter_mut().zip(x) {
                    let v = v + b;
                    *y = if self.relu { v.max(0.0) } else { v };
                }
            });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
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
        let (c, hw) = dims(l1)?;
        if l2.shape().elem_count() != c {
            candle_core::bail!("bias: {} values for {c} channels", l2.shape().elem_count())
        }
        let n = l1.dims()[0];
        let x = cu::input("bias", s1, l1, "input")?;
        let b = cu::input("bias", s2, l2, "bias")?;
        let mut y = cu::output(&s1.device, n * c * hw)?;
        let launch = super::cuda::launch::bias_act(n, c, hw, self.relu);
        cu::run(
            &s1.device,
            &launch,
            &mut [Buf::In(x), Buf::In(b), Buf::Out(&mut y)],
        )?;
        Ok(cu::wrap(y, &s1.device, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        b: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let g = if self.relu {
            // y > 0 exactly where x + b > 0
            super::activation::gate_grad(y, &dy, 0.0)?
        } else {
            dy
        };
        let db = if b.track_op() {
            Some(g.apply_op1_no_bwd(&ChannelSum)?)
        } else {
            None
        };
        let dx = if x.track_op() { Some(g) } else { None };
        Ok((dx, db))
    }
}

/// Σ over (N, H, W) per channel of a 4-D tensor, in f64.
struct ChannelSum;

impl candle_core::CustomOp1 for ChannelSum {
    fn name(&self) -> &'static str {
        "channel-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s, l, "gradient")?;
        let (c, hw) = dims(l)?;
        let mut out = vec![0f32; c];
        let dst = Shared(out.as_mut_ptr());
        (0..c).into_par_iter().for_each(|ch| {
            let sum: f64 = g
                .chunks(hw)
                .skip(ch)
                .step_by(c)
                .flatten()
                .map(|&v| v as f64)
                .sum();
            // SAFETY: channel ch's sum is written by this task only
            unsafe { *dst.at(ch) = sum as f32 };
        });
        Ok((CpuStorage::F32(out), Shape::from(c)))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::cuda::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let (c, hw) = dims(l)?;
        let n = l.dims()[0];
        let g = cu::input("channel-sum", s, l, "gradient")?;
        let mut out = cu::output(&s.device, c)?;
        let launch = super::cuda::launch::channel_sum(n, c, hw);
        cu::run(&s.device, &launch, &mut [Buf::In(g), Buf::Out(&mut out)])?;
        Ok(cu::wrap(out, &s.device, c))
    }
}

/// `relu?(x + b)` with b broadcast over channels of x (N, C, H, W): fused for f32 on the CPU,
/// candle's ops elsewhere.
pub fn bias_relu(x: &Tensor, b: &Tensor, relu: bool) -> Result<Tensor> {
    if super::switch::ours(super::switch::Op::Bias, &[x, b]) && x.rank() == 4 {
        return x
            .contiguous()?
            .apply_op2(&b.contiguous()?, Forward { relu });
    }
    let y = x.broadcast_add(&b.reshape((1, b.dim(0)?, 1, 1))?)?;
    if relu {
        y.relu()
    } else {
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::testing::max_abs;
    use candle_core::{Device, Var};

    #[test]
    fn values_and_gradients_match_pytorch() {
        crate::nn::kernels::testing::check_affine_fixture(
            "bias_relu",
            2,
            1e-6,
            &["dx", "db"],
            |x, _, b| bias_relu(x, b, true).unwrap(),
        );
    }

    #[test]
    fn fused_matches_the_composed_ops() {
        for (relu, dims, seed) in [(true, [2, 3, 5, 4], 1), (false, [1, 4, 3, 7], 2)] {
            let mut rng = crate::rng::SeededRng::new(seed);
            let mut normal = |shape: &[usize]| {
                Var::from_tensor(&rng.normal(shape, 0.0, 1.0, &Device::Cpu).unwrap()).unwrap()
            };
            let (x, b, r) = (normal(&dims), normal(&[dims[1]]), normal(&dims));
            let y = bias_relu(x.as_tensor(), b.as_tensor(), relu).unwrap();
            let mut want = x
                .as_tensor()
                .broadcast_add(&b.as_tensor().reshape((1, dims[1], 1, 1)).unwrap())
                .unwrap();
            if relu {
                want = want.relu().unwrap();
            }
            assert_eq!(max_abs(&y, &want), 0.0, "{dims:?}");
            let g1 = (&y * r.as_tensor())
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g2 = (&want * r.as_tensor())
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&x, &b] {
                let (p, q) = (
                    g1.get(v.as_tensor()).unwrap(),
                    g2.get(v.as_tensor()).unwrap(),
                );
                assert!(
                    max_abs(p, q) < 1e-5,
                    "{dims:?} relu {relu}: {}",
                    max_abs(p, q)
                );
            }
        }
    }

    #[test]
    fn a_constant_bias_gets_no_gradient() {
        let x = Var::from_tensor(
            &Tensor::ones((1, 2, 2, 2), candle_core::DType::F32, &Device::Cpu).unwrap(),
        )
        .unwrap();
        let b = Tensor::new(&[1f32, -3.0], &Device::Cpu).unwrap();
        let y = bias_relu(x.as_tensor(), &b, true).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        assert!(g.get(&b).is_none());
        let dx = g
            .get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(dx, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
