//! InstanceNorm2d (no affine, no running statistics), optionally followed by ReLU, as one CPU op
//! with its own backward. Composed of candle ops it records seven full-size intermediates (centered
//! input, its square, the quotient, ...) and its backward allocates as many again; fused, the graph
//! keeps only the input and the output, and each pass is one sweep per (sample, channel) plane:
//!   y = relu?((x − μ) / σ),   σ = √(var + ε), var biased (PyTorch's)
//!   dx = (g − mean(g) − x̂ · mean(g · x̂)) / σ,   g = dy (· [y > 0] with ReLU), x̂ = (x − μ) / σ
//! Means and variances are accumulated in f64.
//!
//! The affine form (InstanceNorm2d(affine=True), TransformerNet's) is one op of (x, γ, β):
//!   y = relu?(γ_c · x̂ + β_c)
//!   dβ_c = Σ_{n,h,w} g,   dγ_c = Σ_{n,h,w} g · x̂,   dx = γ_c · (g − mean(g) − x̂ · mean(g · x̂)) / σ

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Tensor, D};
use rayon::prelude::*;

const EPS: f64 = 1e-5;

/// (μ, 1/σ) of one plane.
fn moments(x: &[f32]) -> (f32, f32) {
    let (mean, var) = super::moments(x.iter(), x.len());
    (mean as f32, (1.0 / (var + EPS).sqrt()) as f32)
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    super::f32_slice("instance norm", s, l, what)
}

fn plane_size(l: &Layout) -> Result<usize> {
    let &[_, _, h, w] = l.dims() else {
        candle_core::bail!("instance norm: a 4-D input, got {:?}", l.dims())
    };
    Ok((h * w).max(1))
}

struct Forward {
    relu: bool,
}

impl CustomOp1 for Forward {
    fn name(&self) -> &'static str {
        "instance-norm"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "input")?;
        let hw = plane_size(l)?;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(hw)
            .zip(x.par_chunks(hw))
            .for_each(|(y, x)| {
                let (mean, inv) = moments(x);
                for (y, &x) in y.iter_mut().zip(x) {
                    let v = (x - mean) * inv;
                    *y = if self.relu { v.max(0.0) } else { v };
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
        let hw = plane_size(l)?;
        let (total, c) = (l.shape().elem_count(), l.dims()[1]);
        let x = cu::input("instance norm", s, l, "input")?;
        let mut y = cu::output(&s.device, total)?;
        let launch = super::cuda::launch::instance_norm(total / hw, c, hw, self.relu, false);
        cu::run(&s.device, &launch, &mut [Buf::In(x), Buf::Out(&mut y)])?;
        Ok(cu::wrap(y, &s.device, l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let op = Backward { relu: self.relu };
        Ok(Some(x.apply_op3_no_bwd(y, &dy.contiguous()?, &op)?))
    }
}

/// dx from (x, y, dy)
struct Backward {
    relu: bool,
}

impl CustomOp3 for Backward {
    fn name(&self) -> &'static str {
        "instance-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, y, dy) = (
            f32_slice(s1, l1, "input")?,
            f32_slice(s2, l2, "output")?,
            f32_slice(s3, l3, "gradient")?,
        );
        let hw = plane_size(l1)?;
        let mut dx = vec![0f32; x.len()];
        dx.par_chunks_mut(hw)
            .zip(x.par_chunks(hw))
            .zip(y.par_chunks(hw).zip(dy.par_chunks(hw)))
            .for_each(|((dx, x), (y, dy))| {
                let (mean, inv) = moments(x);
                let g = |y: f32, dy: f32| if self.relu && y <= 0.0 { 0.0 } else { dy };
                let (mut sum_g, mut sum_gx) = (0f64, 0f64);
                for ((&x, &y), &dy) in x.iter().zip(y).zip(dy) {
                    let gi = g(y, dy) as f64;
                    sum_g += gi;
                    sum_gx += gi * ((x - mean) * inv) as f64;
                }
                let (mean_g, mean_gx) = ((sum_g / hw as f64) as f32, (sum_gx / hw as f64) as f32);
                for (dx, ((&x, &y), &dy)) in dx.iter_mut().zip(x.iter().zip(y).zip(dy)) {
                    let xhat = (x - mean) * inv;
                    *dx = (g(y, dy) - mean_g - xhat * mean_gx) * inv;
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
        s3: &candle_core::cuda::CudaStorage,
        l3: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let hw = plane_size(l1)?;
        let (total, c) = (l1.shape().elem_count(), l1.dims()[1]);
        same_sizes(total, l2, l3)?;
        let x = cu::input("instance norm", s1, l1, "input")?;
        let y = cu::input("instance norm", s2, l2, "output")?;
        let dy = cu::input("instance norm", s3, l3, "gradient")?;
        let mut dx = cu::output(&s1.device, total)?;
        let launch = super::cuda::launch::instance_norm_bwd(total / hw, c, hw, self.relu, false);
        cu::run(
            &s1.device,
            &launch,
            &mut [Buf::In(x), Buf::In(y), Buf::In(dy), Buf::Out(&mut dx)],
        )?;
        Ok(cu::wrap(dx, &s1.device, l1.shape().clone()))
    }
}

/// The output and the gradient have the input's `total` elements.
#[cfg(feature = "cuda")]
fn same_sizes(total: usize, l2: &Layout, l3: &Layout) -> Result<()> {
    let (a, b) = (l2.shape().elem_count(), l3.shape().elem_count());
    if a != total || b != total {
        candle_core::bail!("instance norm: input of {total}, output of {a}, gradient of {b}")
    }
    Ok(())
}

/// InstanceNorm2d(affine=False) of x (N, C, H, W), then ReLU if `relu`: fused for f32 on the CPU,
/// candle's ops elsewhere.
pub fn instance_norm(x: &Tensor, relu: bool) -> Result<Tensor> {
    if super::switch::ours(super::switch::Op::InstanceNorm, &[x]) && x.rank() == 4 {
        return x.contiguous()?.apply_op1(Forward { relu });
    }
    let y = instance_norm_composed(x)?;
    if relu {
        y.relu()
    } else {
        Ok(y)
    }
}

/// The same from candle's ops (any device).
pub fn instance_norm_composed(xs: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = xs.dims4()?;
    let flat = xs.reshape((n, c, h * w))?;
    let mean = flat.mean_keepdim(D::Minus1)?;
    let centered = flat.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
    centered
        .broadcast_div(&(var + EPS)?.sqrt()?)?
        .reshape((n, c, h, w))
}

/// InstanceNorm2d(affine=True): (x, γ, β) → relu?(γ · x̂ + β)
struct AffineForward {
    relu: bool,
}

impl CustomOp3 for AffineForward {
    fn name(&self) -> &'static str {
        "affine-instance-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, gamma, beta) = (
            f32_slice(s1, l1, "input")?,
            f32_slice(s2, l2, "weight")?,
            f32_slice(s3, l3, "bias")?,
        );
        let hw = plane_size(l1)?;
        let c = l1.dims()[1];
        if gamma.len() != c || beta.len() != c {
            candle_core::bail!(
                "instance norm: {c} channels, but {} weights and {} biases",
                gamma.len(),
                beta.len()
            )
        }
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(hw)
            .zip(x.par_chunks(hw))
            .enumerate()
            .for_each(|(plane, (y, x))| {
                let (mean, inv) = moments(x);
                let (g, b) = (gamma[plane % c], beta[plane % c]);
                for (y, &x) in y.iter_mut().zip(x) {
                    let v = (x - mean) * inv * g + b;
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
        s3: &candle_core::cuda::CudaStorage,
        l3: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let hw = plane_size(l1)?;
        let (total, c) = (l1.shape().elem_count(), l1.dims()[1]);
        let (gs, bs) = (l2.shape().elem_count(), l3.shape().elem_count());
        if gs != c || bs != c {
            candle_core::bail!("instance norm: {c} channels, but {gs} weights and {bs} biases")
        }
        let x = cu::input("instance norm", s1, l1, "input")?;
        let gamma = cu::input("instance norm", s2, l2, "weight")?;
        let beta = cu::input("instance norm", s3, l3, "bias")?;
        let mut y = cu::output(&s1.device, total)?;
        let launch = super::cuda::launch::instance_norm(total / hw, c, hw, self.relu, true);
        cu::run(
            &s1.device,
            &launch,
            &mut [Buf::In(x), Buf::In(gamma), Buf::In(beta), Buf::Out(&mut y)],
        )?;
        Ok(cu::wrap(y, &s1.device, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, h, w) = x.dims4()?;
        let op = AffineBackward {
            relu: self.relu,
            gamma: gamma.detach().contiguous()?,
        };
        let out = x.apply_op3_no_bwd(y, &dy.contiguous()?, &op)?;
        let len = n * c * h * w;
        let dx = out.narrow(0, 0, len)?.reshape((n, c, h, w))?;
        // per plane (Σ g, Σ g · x̂), summed over the batch
        let sums = out.narrow(0, len, n * c * 2)?.reshape((n, c, 2))?.sum(0)?;
        let dbeta = sums.narrow(1, 0, 1)?.reshape(c)?;
        let dgamma = sums.narrow(1, 1, 1)?.reshape(c)?;
        Ok((Some(dx), Some(dgamma), Some(dbeta)))
    }
}

/// (x, y, dy) → dx and each plane's (Σ g, Σ g · x̂), flat: N·C·H·W values, then N·C pairs
struct AffineBackward {
    relu: bool,
    /// γ (C), on the input's device
    gamma: Tensor,
}

impl CustomOp3 for AffineBackward {
    fn name(&self) -> &'static str {
        "affine-instance-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, y, dy) = (
            f32_slice(s1, l1, "input")?,
            f32_slice(s2, l2, "output")?,
            f32_slice(s3, l3, "gradient")?,
        );
        let hw = plane_size(l1)?;
        let gamma: Vec<f32> = self.gamma.to_vec1()?;
        let c = gamma.len();
        let planes = x.len() / hw;
        let mut out = vec![0f32; x.len() + 2 * planes];
        let (dx, sums) = out.split_at_mut(x.len());
        dx.par_chunks_mut(hw)
            .zip(sums.par_chunks_mut(2))
            .zip(x.par_chunks(hw))
            .zip(y.par_chunks(hw).zip(dy.par_chunks(hw)))
            .enumerate()
            .for_each(|(plane, (((dx, s), x), (y, dy)))| {
                let (mean, inv) = moments(x);
                let g = |y: f32, dy: f32| if self.relu && y <= 0.0 { 0.0 } else { dy };
                let (mut sum_g, mut sum_gx) = (0f64, 0f64);
                for ((&x, &y), &dy) in x.iter().zip(y).zip(dy) {
                    let gi = g(y, dy) as f64;
                    sum_g += gi;
                    sum_gx += gi * ((x - mean) * inv) as f64;
                }
                s[0] = sum_g as f32;
                s[1] = sum_gx as f32;
                let (mean_g, mean_gx) = ((sum_g / hw as f64) as f32, (sum_gx / hw as f64) as f32);
                let k = gamma[plane % c] * inv;
                for (dx, ((&x, &y), &dy)) in dx.iter_mut().zip(x.iter().zip(y).zip(dy)) {
                    let xhat = (x - mean) * inv;
                    *dx = (g(y, dy) - mean_g - xhat * mean_gx) * k;
                }
            });
        Ok((CpuStorage::F32(out), Shape::from(x.len() + 2 * planes)))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::cuda::CudaStorage,
        l1: &Layout,
        s2: &candle_core::cuda::CudaStorage,
        l2: &Layout,
        s3: &candle_core::cuda::CudaStorage,
        l3: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let hw = plane_size(l1)?;
        let (total, c) = (l1.shape().elem_count(), l1.dims()[1]);
        same_sizes(total, l2, l3)?;
        let planes = total / hw;
        let (gamma_storage, gamma_layout) = self.gamma.storage_and_layout();
        let candle_core::Storage::Cuda(gs) = &*gamma_storage else {
            candle_core::bail!("instance norm: the weight is not on the input's CUDA device")
        };
        if gamma_layout.shape().elem_count() != c {
            candle_core::bail!(
                "instance norm: {c} channels, {} weights",
                gamma_layout.shape().elem_count()
            )
        }
        let x = cu::input("instance norm", s1, l1, "input")?;
        let y = cu::input("instance norm", s2, l2, "output")?;
        let dy = cu::input("instance norm", s3, l3, "gradient")?;
        let gamma = cu::input("instance norm", gs, gamma_layout, "weight")?;
        let mut out = cu::output(&s1.device, total + 2 * planes)?;
        let (dx, sums) = out.split_at_mut(total);
        let launch = super::cuda::launch::instance_norm_bwd(planes, c, hw, self.relu, true);
        cu::run(
            &s1.device,
            &launch,
            &mut [
                Buf::In(x),
                Buf::In(y),
                Buf::In(dy),
                Buf::In(gamma),
                Buf::InOut(dx),
                Buf::InOut(sums),
            ],
        )?;
        Ok(cu::wrap(out, &s1.device, total + 2 * planes))
    }
}

/// InstanceNorm2d(affine=True) of x (N, C, H, W) with weight γ and bias β (C each), then ReLU if
/// `relu`, as one op for f32 on the CPU; `None` elsewhere (the caller composes candle's ops).
pub fn affine_instance_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    relu: bool,
) -> Result<Option<Tensor>> {
    if !(super::switch::ours(super::switch::Op::AffineInstanceNorm, &[x, weight, bias])
        && x.rank() == 4)
    {
        return Ok(None);
    }
    x.contiguous()?
        .apply_op3(
            &weight.contiguous()?,
            &bias.contiguous()?,
            AffineForward { relu },
        )
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::testing::{largest, max_abs};
    use candle_core::{Device, Var};

    fn rand(shape: &[usize], seed: u64, mean: f32) -> Tensor {
        crate::rng::SeededRng::new(seed)
            .normal(shape, mean, 3.0, &Device::Cpu)
            .unwrap()
    }

    #[test]
    fn values_and_gradients_match_pytorch() {
        crate::nn::kernels::testing::check_unary_fixture("instance_norm", 2, 1e-5, |x, cfg| {
            instance_norm(x, cfg[0] == 1).unwrap()
        });
    }

    /// The fused op against the composed candle ops: values and the input gradient, with and
    /// without ReLU, odd sizes, an offset mean.
    #[test]
    fn fused_matches_the_composed_ops() {
        for (relu, dims, seed) in [
            (false, [2, 3, 7, 5], 1),
            (true, [2, 3, 7, 5], 2),
            (true, [1, 8, 16, 16], 3),
            (false, [3, 2, 1, 9], 4),
        ] {
            let x = Var::from_tensor(&rand(&dims, seed, 2.0)).unwrap();
            let r = rand(&dims, seed + 10, 0.0);
            let fused = instance_norm(x.as_tensor(), relu).unwrap();
            let mut composed = instance_norm_composed(x.as_tensor()).unwrap();
            if relu {
                composed = composed.relu().unwrap();
            }
            assert!(max_abs(&fused, &composed) < 1e-5, "{dims:?} relu {relu}: y");
            let g1 = (&fused * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g2 = (&composed * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let (a, b) = (
                g1.get(x.as_tensor()).unwrap(),
                g2.get(x.as_tensor()).unwrap(),
            );
            assert!(
                max_abs(a, b) < 1e-5,
                "{dims:?} relu {relu}: dx {}",
                max_abs(a, b)
            );
        }
    }

    /// The affine op against candle's ops: values and the gradients of x, γ and β, with and without
    /// ReLU, odd sizes, an offset mean (the whole network's PyTorch fixture checks it too:
    /// nn::transformer_net and nst::perceptual).
    #[test]
    fn affine_matches_the_composed_ops() {
        for (relu, dims, seed) in [
            (false, [2, 3, 7, 5], 1),
            (true, [2, 3, 7, 5], 2),
            (true, [3, 8, 16, 16], 3),
            (false, [1, 2, 1, 9], 4),
        ] {
            let c = dims[1];
            let x = Var::from_tensor(&rand(&dims, seed, 2.0)).unwrap();
            let gamma = Var::from_tensor(&rand(&[c], seed + 20, 1.0)).unwrap();
            let beta = Var::from_tensor(&rand(&[c], seed + 30, 0.0)).unwrap();
            let r = rand(&dims, seed + 10, 0.0);
            let fused = affine_instance_norm(x.as_tensor(), &gamma, &beta, relu)
                .unwrap()
                .unwrap();
            let mut composed = instance_norm_composed(x.as_tensor())
                .unwrap()
                .broadcast_mul(&gamma.reshape((1, c, 1, 1)).unwrap())
                .unwrap()
                .broadcast_add(&beta.reshape((1, c, 1, 1)).unwrap())
                .unwrap();
            if relu {
                composed = composed.relu().unwrap();
            }
            assert!(
                max_abs(&fused, &composed) < 1e-4,
                "{dims:?} relu {relu}: y {}",
                max_abs(&fused, &composed)
            );
            let g1 = (&fused * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g2 = (&composed * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for (what, v) in [("dx", &x), ("dγ", &gamma), ("dβ", &beta)] {
                let (a, b) = (
                    g1.get(v.as_tensor()).unwrap(),
                    g2.get(v.as_tensor()).unwrap(),
                );
                let scale = largest(b);
                assert!(
                    max_abs(a, b) <= 1e-5 * scale.max(1.0),
                    "{dims:?} relu {relu}: {what} {} of {scale}",
                    max_abs(a, b)
                );
            }
        }
    }
}
