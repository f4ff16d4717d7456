//! nn.MaxPool2d(2, 2) as one op with its own backward (issue 30; `nn::pool` routes to it): each
//! 2×2 window's maximum forward (odd trailing rows and columns dropped, floor), and backward the
//! window's gradient to its first maximum in row-major order, as PyTorch's
//! `max_pool2d_with_indices` does (`val > max`); every other input element, and those of dropped
//! rows and columns, get 0. Composed of candle ops (a reshape and two `max` reductions) the same
//! pool records the reshaped input and its backward compares it with the broadcast maxima, which
//! on a GPU was 23% of a style-transfer step; where a window holds equal maxima, the composed form
//! gives each of them the gradient, this op (as PyTorch) the first only.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// (planes, H, W) of a 4-D layout.
fn dims(l: &Layout, what: &str) -> Result<(usize, usize, usize)> {
    let &[n, c, h, w] = l.dims() else {
        candle_core::bail!("max pool: a 4-D {what}, got {:?}", l.dims())
    };
    Ok((n * c, h, w))
}

/// The index (0..4, row-major) of the first maximum of the window at (2i, 2j) of a plane of
/// width w (pool.cu's `aiart_first_max`).
fn first_max(plane: &[f32], w: usize, i: usize, j: usize) -> usize {
    let at = 2 * i * w + 2 * j;
    let v = [plane[at], plane[at + 1], plane[at + w], plane[at + w + 1]];
    let mut best = 0;
    for k in 1..4 {
        if v[k] > v[best] {
            best = k;
        }
    }
    best
}

struct MaxPool2;

impl CustomOp1 for MaxPool2 {
    fn name(&self) -> &'static str {
        "max-pool-2x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = super::f32_slice("max pool", s, l, "input")?;
        let (planes, h, w) = dims(l, "input")?;
        let (ho, wo) = (h / 2, w / 2);
        let mut y = vec![0f32; planes * ho * wo];
        if !y.is_empty() {
            y.par_chunks_mut(ho * wo)
                .zip(x.par_chunks(h * w))
                .for_each(|(y, x)| {
                    for i in 0..ho {
                        for j in 0..wo {
                            let k = first_max(x, w, i, j);
                            y[i * wo + j] = x[(2 * i + k / 2) * w + 2 * j + k % 2];
                        }
                    }
                });
        }
        let &[n, c, _, _] = l.dims() else {
            unreachable!()
        };
        Ok((CpuStorage::F32(y), Shape::from((n, c, ho, wo))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::cuda::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let (planes, h, w) = dims(l, "input")?;
        let &[n, c, _, _] = l.dims() else {
            unreachable!()
        };
        let x = cu::input("max pool", s, l, "input")?;
        let mut y = cu::output(&s.device, planes * (h / 2) * (w / 2))?;
        let launch = super::cuda::launch::max_pool2(planes, h, w);
        cu::run(&s.device, &launch, &mut [Buf::In(x), Buf::Out(&mut y)])?;
        Ok(cu::wrap(y, &s.device, (n, c, h / 2, w / 2)))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(x.apply_op2_no_bwd(&dy.contiguous()?, &MaxPool2Grad)?))
    }
}

/// dx from (x, dy): a gather, each input element from its window.
struct MaxPool2Grad;

impl CustomOp2 for MaxPool2Grad {
    fn name(&self) -> &'static str {
        "max-pool-2x2-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = super::f32_slice("max pool", s1, l1, "input")?;
        let dy = super::f32_slice("max pool", s2, l2, "gradient")?;
        let (planes, h, w) = dims(l1, "input")?;
        let (ho, wo) = (h / 2, w / 2);
        if dy.len() != planes * ho * wo {
            candle_core::bail!(
                "max pool: a gradient of {} for {planes}×{ho}×{wo}",
                dy.len()
            )
        }
        let mut dx = vec![0f32; x.len()];
        if ho * wo > 0 {
            dx.par_chunks_mut(h * w)
                .zip(x.par_chunks(h * w).zip(dy.par_chunks(ho * wo)))
                .for_each(|(dx, (x, dy))| {
                    for i in 0..ho {
                        for j in 0..wo {
                            let k = first_max(x, w, i, j);
                            dx[(2 * i + k / 2) * w + 2 * j + k % 2] = dy[i * wo + j];
                        }
                    }
                });
        }
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
        let (planes, h, w) = dims(l1, "input")?;
        if l2.shape().elem_count() != planes * (h / 2) * (w / 2) {
            candle_core::bail!(
                "max pool: a gradient of {:?} for {:?}",
                l2.dims(),
                l1.dims()
            )
        }
        let x = cu::input("max pool", s1, l1, "input")?;
        let dy = cu::input("max pool", s2, l2, "gradient")?;
        let mut dx = cu::output(&s1.device, planes * h * w)?;
        let launch = super::cuda::launch::max_pool2_bwd(planes, h, w);
        cu::run(
            &s1.device,
            &launch,
            &mut [Buf::In(x), Buf::In(dy), Buf::Out(&mut dx)],
        )?;
        Ok(cu::wrap(dx, &s1.device, l1.shape().clone()))
    }
}

/// nn.MaxPool2d(2, 2) of x (N, C, H, W) as one op where its side takes x (f32 on the CPU, or on a
/// CUDA device whose side is on); `None` elsewhere (the caller composes candle's ops).
pub fn max_pool_2x2(x: &Tensor) -> Result<Option<Tensor>> {
    if !(super::switch::ours(super::switch::Op::MaxPool, &[x]) && x.rank() == 4) {
        return Ok(None);
    }
    x.contiguous()?.apply_op1(MaxPool2).map(Some)
}
