//! BatchNorm2d in training mode (batch statistics, affine) as a CPU op with its own backward. From
//! candle's ops it records six full-size intermediates; fused, the graph keeps the input and the
//! output only:
//!   y = x̂·γ + β,   x̂ = (x − μ_c) / σ_c over (N, H, W) per channel, var biased
//!   dβ = Σ g,   dγ = Σ g·x̂,   dx = γ/σ · (g − mean(g) − x̂·mean(g·x̂))
//! Sums in f64. The running statistics are the caller's (`channel_moments`).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::Shared;

const EPS: f64 = 1e-5;

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    super::f32_slice("batch norm", s, l, what)
}

/// (N, C, H·W) of a 4-D layout.
fn dims(l: &Layout) -> Result<(usize, usize, usize)> {
    let &[n, c, h, w] = l.dims() else {
        candle_core::bail!("batch norm: a 4-D input, got {:?}", l.dims())
    };
    Ok((n, c, h * w))
}

/// The planes of channel `ch`, one per sample.
fn planes(
    x: &[f32],
    (n, c, hw): (usize, usize, usize),
    ch: usize,
) -> impl Iterator<Item = &[f32]> + Clone {
    (0..n).map(move |i| &x[(i * c + ch) * hw..][..hw])
}

/// (μ, biased var) of channel c.
fn moments_of(x: &[f32], d: (usize, usize, usize), ch: usize) -> (f64, f64) {
    super::moments(planes(x, d, ch).flatten(), d.0 * d.2)
}

struct Forward;

impl CustomOp3 for Forward {
    fn name(&self) -> &'static str {
        "batch-norm-train"
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
        let d @ (n, c, hw) = dims(l1)?;
        let mut y = vec![0f32; x.len()];
        let out = Shared(y.as_mut_ptr());
        (0..c).into_par_iter().for_each(|ch| {
            let (mean, var) = moments_of(x, d, ch);
            let scale = (gamma[ch] as f64 / (var + EPS).sqrt()) as f32;
            let shift = (beta[ch] as f64 - mean * scale as f64) as f32;
            for i in 0..n {
                let at = (i * c + ch) * hw;
                for (j, &v) in x[at..][..hw].iter().enumerate() {
                    // SAFETY: channel ch's planes are written by this task only, inside y
                    unsafe { *out.at(at + j) = v * scale + shift };
                }
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
        let (n, c, hw) = dims(l1)?;
        per_channel(c, l2, "weights")?;
        per_channel(c, l3, "biases")?;
        let x = cu::input("batch norm", s1, l1, "input")?;
        let gamma = cu::input("batch norm", s2, l2, "weight")?;
        let beta = cu::input("batch norm", s3, l3, "bias")?;
        let mut y = cu::output(&s1.device, n * c * hw)?;
        let launch = super::cuda::launch::batch_norm(n, c, hw);
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
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let c = x.dim(1)?;
        let packed = x.apply_op3_no_bwd(gamma, &dy.contiguous()?, &Backward)?;
        let n = x.elem_count();
        Ok((
            Some(packed.narrow(0, 0, n)?.reshape(x.shape())?),
            Some(packed.narrow(0, n, c)?),
            Some(packed.narrow(0, n + c, c)?),
        ))
    }
}

/// (dx, dγ, dβ) from (x, γ, dy), packed into one vector: dx, then dγ, then dβ.
struct Backward;

impl CustomOp3 for Backward {
    fn name(&self) -> &'static str {
        "batch-norm-train-grad"
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
        let (x, gamma, dy) = (
            f32_slice(s1, l1, "input")?,
            f32_slice(s2, l2, "weight")?,
            f32_slice(s3, l3, "gradient")?,
        );
        let d @ (n, c, hw) = dims(l1)?;
        let total = x.len();
        let mut out = vec![0f32; total + 2 * c];
        let dst = Shared(out.as_mut_ptr());
        (0..c).into_par_iter().for_each(|ch| {
            let (mean, var) = moments_of(x, d, ch);
            let inv = 1.0 / (var + EPS).sqrt();
            let (mut sum_g, mut sum_gx) = (0f64, 0f64);
            for (xs, gs) in planes(x, d, ch).zip(planes(dy, d, ch)) {
                for (&v, &g) in xs.iter().zip(gs) {
                    sum_g += g as f64;
                    sum_gx += g as f64 * (v as f64 - mean) * inv;
                }
            }
            let count = (n * hw) as f64;
            let (mean_g, mean_gx) = ((sum_g / count) as f32, (sum_gx / count) as f32);
            let (mean, inv) = (mean as f32, inv as f32);
            let k = gamma[ch] * inv;
            for i in 0..n {
                let at = (i * c + ch) * hw;
                for j in 0..hw {
                    let xhat = (x[at + j] - mean) * inv;
                    // SAFETY: channel ch's planes and its dγ, dβ are written by this task only
                    unsafe { *dst.at(at + j) = k * (dy[at + j] - mean_g - xhat * mean_gx) };
                }
            }
            // SAFETY: as above
            unsafe {
                *dst.at(total + ch) = sum_gx as f32;
                *dst.at(total + c + ch) = sum_g as f32;
            }
        });
        Ok((CpuStorage::F32(out), Shape::from(total + 2 * c)))
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
        let (n, c, hw) = dims(l1)?;
        let total = n * c * hw;
        per_channel(c, l2, "weights")?;
        if l3.shape().elem_count() != total {
            candle_core::bail!(
                "batch norm: input of {total}, gradient of {}",
                l3.shape().elem_count()
            )
        }
        let x = cu::input("batch norm", s1, l1, "input")?;
        let gamma = cu::input("batch norm", s2, l2, "weight")?;
        let dy = cu::input("batch norm", s3, l3, "gradient")?;
        let mut out = cu::output(&s1.device, total + 2 * c)?;
        let launch = super::cuda::launch::batch_norm_bwd(n, c, hw);
        cu::run(
            &s1.device,
            &launch,
            &mut [Buf::In(x), Buf::In(gamma), Buf::In(dy), Buf::Out(&mut out)],
        )?;
        Ok(cu::wrap(out, &s1.device, total + 2 * c))
    }
}

/// A per-channel operand holds `c` values.
#[cfg(feature = "cuda")]
fn per_channel(c: usize, l: &Layout, what: &str) -> Result<()> {
    if l.shape().elem_count() != c {
        candle_core::bail!(
            "batch norm: {c} channels, {} {what}",
            l.shape().elem_count()
        )
    }
    Ok(())
}

/// (μ, biased var) per channel, packed: C means then C variances (the CUDA side of
/// `channel_moments`).
#[cfg(feature = "cuda")]
struct Moments;

#[cfg(feature = "cuda")]
impl candle_core::CustomOp1 for Moments {
    fn name(&self) -> &'static str {
        "batch-norm-moments"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        candle_core::bail!("batch-norm-moments: the CPU computes them in channel_moments")
    }

    fn cuda_fwd(
        &self,
        s: &candle_core::cuda::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let (n, c, hw) = dims(l)?;
        let x = cu::input("batch norm", s, l, "input")?;
        let mut out = cu::output(&s.device, 2 * c)?;
        let launch = super::cuda::launch::batch_norm_moments(n, c, hw);
        cu::run(&s.device, &launch, &mut [Buf::In(x), Buf::Out(&mut out)])?;
        Ok(cu::wrap(out, &s.device, 2 * c))
    }
}

/// BatchNorm2d's training forward with batch statistics: fused for f32 on the CPU, `None`
/// elsewhere (the caller composes candle's ops).
pub fn batch_norm_train(x: &Tensor, gamma: &Tensor, beta: &Tensor) -> Result<Option<Tensor>> {
    if !(super::switch::ours(super::switch::Op::BatchNorm, &[x, gamma, beta]) && x.rank() == 4) {
        return Ok(None);
    }
    Ok(Some(x.contiguous()?.apply_op3(
        &gamma.contiguous()?,
        &beta.contiguous()?,
        Forward,
    )?))
}

/// (μ, biased var) per channel of x (N, C, H, W), from the same sums as the fused op: what the
/// running statistics are updated with. For f32 on the CPU, or on a CUDA device whose batch-norm
/// side is on; `None` elsewhere.
pub fn channel_moments(x: &Tensor) -> Result<Option<(Tensor, Tensor)>> {
    if !(super::switch::ours(super::switch::Op::BatchNorm, &[x]) && x.rank() == 4) {
        return Ok(None);
    }
    let x = x.contiguous()?;
    #[cfg(feature = "cuda")]
    if x.device().is_cuda() {
        let c = x.dim(1)?;
        let packed = x.apply_op1_no_bwd(&Moments)?;
        return Ok(Some((packed.narrow(0, 0, c)?, packed.narrow(0, c, c)?)));
    }
    let (storage, layout) = x.storage_and_layout();
    let candle_core::Storage::Cpu(cpu) = &*storage else {
        unreachable!("checked: a CPU tensor")
    };
    let values = f32_slice(cpu, layout, "input")?;
    let d @ (_, c, _) = dims(layout)?;
    let (mean, var): (Vec<f32>, Vec<f32>) = (0..c)
        .into_par_iter()
        .map(|ch| {
            let (m, v) = moments_of(values, d, ch);
            (m as f32, v as f32)
        })
        .unzip();
    Ok(Some((
        Tensor::from_vec(mean, c, x.device())?,
        Tensor::from_vec(var, c, x.device())?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::testing::max_abs;
    use candle_core::{Device, Var};

    /// Batch norm (train) from candle's ops, as `layers::BatchNorm` composed it.
    fn composed(x: &Tensor, gamma: &Tensor, beta: &Tensor) -> Tensor {
        let c = x.dim(1).unwrap();
        let mean = x
            .mean_keepdim(0)
            .unwrap()
            .mean_keepdim(2)
            .unwrap()
            .mean_keepdim(3)
            .unwrap();
        let centered = x.broadcast_sub(&mean).unwrap();
        let var = centered
            .sqr()
            .unwrap()
            .mean_keepdim(0)
            .unwrap()
            .mean_keepdim(2)
            .unwrap();
        let var = var.mean_keepdim(3).unwrap();
        let xhat = centered
            .broadcast_div(&(var + EPS).unwrap().sqrt().unwrap())
            .unwrap();
        xhat.broadcast_mul(&gamma.reshape((1, c, 1, 1)).unwrap())
            .unwrap()
            .broadcast_add(&beta.reshape((1, c, 1, 1)).unwrap())
            .unwrap()
    }

    #[test]
    fn batch_norm_values_and_gradients_match_pytorch() {
        crate::nn::kernels::testing::check_affine_fixture(
            "batch_norm",
            2,
            1e-5,
            &["dx", "dw", "db"],
            |x, w, b| batch_norm_train(x, w, b).unwrap().unwrap(),
        );
    }

    #[test]
    fn fused_batch_norm_matches_the_composed_ops() {
        for (dims, seed) in [([2, 3, 5, 7], 1), ([1, 4, 6, 6], 2), ([3, 2, 1, 1], 3)] {
            let mut rng = crate::rng::SeededRng::new(seed);
            let mut normal = |shape: &[usize], mean: f32| {
                Var::from_tensor(&rng.normal(shape, mean, 2.0, &Device::Cpu).unwrap()).unwrap()
            };
            let (x, g, b) = (
                normal(&dims, 1.5),
                normal(&[dims[1]], 1.0),
                normal(&[dims[1]], 0.0),
            );
            let r = normal(&dims, 0.0);
            let y = batch_norm_train(x.as_tensor(), g.as_tensor(), b.as_tensor())
                .unwrap()
                .unwrap();
            let want = composed(x.as_tensor(), g.as_tensor(), b.as_tensor());
            assert!(
                max_abs(&y, &want) < 1e-4,
                "{dims:?}: y {}",
                max_abs(&y, &want)
            );
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
            for v in [&x, &g, &b] {
                let (p, q) = (
                    g1.get(v.as_tensor()).unwrap(),
                    g2.get(v.as_tensor()).unwrap(),
                );
                assert!(max_abs(p, q) < 1e-3, "{dims:?}: {}", max_abs(p, q));
            }
        }
    }
}
