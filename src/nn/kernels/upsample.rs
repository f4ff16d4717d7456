//! Nearest-neighbour upsampling ×2 (PyTorch's `interpolate(mode='nearest', scale_factor=2)`:
//! output pixel (i, j) is input pixel (⌊i/2⌋, ⌊j/2⌋)) as one CPU op with its own backward, the sum
//! of each 2×2 block of the gradient. candle's backward of `upsample_nearest2d` is a grouped
//! convolution with a ones kernel, which its CPU backend runs as one convolution per channel.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

fn dims(l: &Layout) -> Result<(usize, usize, usize, usize)> {
    let &[n, c, h, w] = l.dims() else {
        candle_core::bail!("upsample: a 4-D input, got {:?}", l.dims())
    };
    Ok((n, c, h, w))
}

struct Up2;

impl CustomOp1 for Up2 {
    fn name(&self) -> &'static str {
        "upsample-nearest-2x"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = super::f32_slice("upsample", s, l, "input")?;
        let (n, c, h, w) = dims(l)?;
        let mut y = vec![0f32; x.len() * 4];
        if !x.is_empty() {
            y.par_chunks_mut(4 * w)
                .zip(x.par_chunks(w))
                .for_each(|(rows, row)| {
                    let (r0, r1) = rows.split_at_mut(2 * w);
                    for (pair, &v) in r0.chunks_exact_mut(2).zip(row) {
                        pair[0] = v;
                        pair[1] = v;
                    }
                    r1.copy_from_slice(r0);
                });
        }
        Ok((CpuStorage::F32(y), Shape::from((n, c, 2 * h, 2 * w))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::cuda::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let (n, c, h, w) = dims(l)?;
        let x = cu::input("upsample", s, l, "input")?;
        let mut y = cu::output(&s.device, n * c * 4 * h * w)?;
        let launch = super::cuda::launch::up2(n * c, h, w);
        cu::run(&s.device, &launch, &mut [Buf::In(x), Buf::Out(&mut y)])?;
        Ok(cu::wrap(y, &s.device, (n, c, 2 * h, 2 * w)))
    }

    fn bwd(&self, _x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(dy.contiguous()?.apply_op1_no_bwd(&Down2)?))
    }
}

/// (N, C, 2H, 2W) → (N, C, H, W): the sum of each 2×2 block
struct Down2;

impl CustomOp1 for Down2 {
    fn name(&self) -> &'static str {
        "upsample-nearest-2x-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dy = super::f32_slice("upsample", s, l, "gradient")?;
        let (n, c, h2, w2) = dims(l)?;
        let (h, w) = (h2 / 2, w2 / 2);
        let mut dx = vec![0f32; n * c * h * w];
        if !dx.is_empty() {
            dx.par_chunks_mut(w)
                .zip(dy.par_chunks(2 * w2))
                .for_each(|(row, rows)| {
                    let (r0, r1) = rows.split_at(w2);
                    for (j, d) in row.iter_mut().enumerate() {
                        *d = r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1];
                    }
                });
        }
        Ok((CpuStorage::F32(dx), Shape::from((n, c, h, w))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::cuda::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let (n, c, h2, w2) = dims(l)?;
        let (h, w) = (h2 / 2, w2 / 2);
        let dy = cu::input("upsample", s, l, "gradient")?;
        let mut dx = cu::output(&s.device, n * c * h * w)?;
        let launch = super::cuda::launch::down2(n * c, h, w);
        cu::run(&s.device, &launch, &mut [Buf::In(dy), Buf::Out(&mut dx)])?;
        Ok(cu::wrap(dx, &s.device, (n, c, h, w)))
    }
}

/// (N, C, H, W) → (N, C, 2H, 2W), nearest neighbour: one op for f32 on the CPU, candle's elsewhere.
pub fn upsample_nearest_2x(x: &Tensor) -> Result<Tensor> {
    if super::switch::ours(super::switch::Op::Upsample, &[x]) && x.rank() == 4 {
        return x.contiguous()?.apply_op1(Up2);
    }
    let (_, _, h, w) = x.dims4()?;
    x.upsample_nearest2d(2 * h, 2 * w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::testing::max_abs;
    use candle_core::{Device, Var};

    #[test]
    fn values_and_gradient_are_candles() {
        for (dims, seed) in [([2, 3, 5, 7], 1), ([1, 4, 1, 1], 2), ([3, 2, 8, 6], 3)] {
            let mut rng = crate::rng::SeededRng::new(seed);
            let x = Var::from_tensor(&rng.normal(&dims, 0.0, 1.0, &Device::Cpu).unwrap()).unwrap();
            let (h, w) = (dims[2], dims[3]);
            let ours = upsample_nearest_2x(x.as_tensor()).unwrap();
            let candles = x.as_tensor().upsample_nearest2d(2 * h, 2 * w).unwrap();
            assert_eq!(max_abs(&ours, &candles), 0.0, "{dims:?}");
            let r = rng.normal(ours.dims(), 0.0, 1.0, &Device::Cpu).unwrap();
            let g1 = (&ours * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = (&candles * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let (a, b) = (
                g1.get(x.as_tensor()).unwrap(),
                g2.get(x.as_tensor()).unwrap(),
            );
            assert!(max_abs(a, b) < 1e-5, "{dims:?}: {}", max_abs(a, b));
        }
    }
}
