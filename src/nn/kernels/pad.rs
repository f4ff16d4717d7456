//! ReflectionPad2d(p) as one CPU op with its own backward: a gather from mirrored indices forward,
//! the matching scatter-add backward. From candle's ops it is two `cat`s of `2p + 1` slices each,
//! whose backward narrows and re-pads every slice.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The input index that output index `o` of a reflection-padded axis of length `n` reads.
fn mirror(o: usize, p: usize, n: usize) -> usize {
    let i = o as isize - p as isize;
    let n = n as isize;
    let i = if i < 0 { -i } else { i };
    (if i >= n { 2 * (n - 1) - i } else { i }) as usize
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    super::f32_slice("reflection pad", s, l, "input")
}

/// (planes, H, W) of a 4-D layout; the input's planes must be larger than the padding.
fn dims(l: &Layout, p: usize, what: &str) -> Result<(usize, usize, usize)> {
    let &[n, c, h, w] = l.dims() else {
        candle_core::bail!("reflection pad: a 4-D {what}, got {:?}", l.dims())
    };
    if what == "input" && (p >= h || p >= w) {
        candle_core::bail!("reflection pad: padding {p} needs a plane larger than {h}×{w}")
    }
    Ok((n * c, h, w))
}

struct Forward {
    p: usize,
}

impl CustomOp1 for Forward {
    fn name(&self) -> &'static str {
        "reflection-pad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l)?;
        let p = self.p;
        let (planes, h, w) = dims(l, p, "input")?;
        let (ho, wo) = (h + 2 * p, w + 2 * p);
        let cols: Vec<usize> = (0..wo).map(|o| mirror(o, p, w)).collect();
        let mut y = vec![0f32; planes * ho * wo];
        y.par_chunks_mut(ho * wo)
            .zip(x.par_chunks(h * w))
            .for_each(|(y, x)| {
                for (oy, row) in y.chunks_mut(wo).enumerate() {
                    let src = &x[mirror(oy, p, h) * w..][..w];
                    row[p..p + w].copy_from_slice(src);
                    for o in (0..p).chain(p + w..wo) {
                        row[o] = src[cols[o]];
                    }
                }
            });
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
        let p = self.p;
        let (planes, h, w) = dims(l, p, "input")?;
        let &[n, c, _, _] = l.dims() else {
            unreachable!()
        };
        let x = cu::input("reflection pad", s, l, "input")?;
        let (ho, wo) = (h + 2 * p, w + 2 * p);
        let mut y = cu::output(&s.device, planes * ho * wo)?;
        let launch = super::cuda::launch::reflect_pad(planes, h, w, p);
        cu::run(&s.device, &launch, &mut [Buf::In(x), Buf::Out(&mut y)])?;
        Ok(cu::wrap(y, &s.device, (n, c, ho, wo)))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let op = Backward {
            p: self.p,
            x_dims: x.dims().to_vec(),
        };
        Ok(Some(dy.contiguous()?.apply_op1_no_bwd(&op)?))
    }
}

/// dx from dy: every padded position adds into the input position it mirrors.
struct Backward {
    p: usize,
    x_dims: Vec<usize>,
}

impl CustomOp1 for Backward {
    fn name(&self) -> &'static str {
        "reflection-pad-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dy = f32_slice(s, l)?;
        let p = self.p;
        let (planes, ho, wo) = dims(l, p, "gradient")?;
        let (h, w) = (ho - 2 * p, wo - 2 * p);
        let cols: Vec<usize> = (0..wo).map(|o| mirror(o, p, w)).collect();
        let mut dx = vec![0f32; planes * h * w];
        dx.par_chunks_mut(h * w)
            .zip(dy.par_chunks(ho * wo))
            .for_each(|(dx, dy)| {
                for (oy, row) in dy.chunks(wo).enumerate() {
                    let dst = &mut dx[mirror(oy, p, h) * w..][..w];
                    for (d, v) in dst.iter_mut().zip(&row[p..p + w]) {
                        *d += v;
                    }
                    for o in (0..p).chain(p + w..wo) {
                        dst[cols[o]] += row[o];
                    }
                }
            });
        Ok((CpuStorage::F32(dx), Shape::from(self.x_dims.clone())))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::cuda::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::cuda::CudaStorage, Shape)> {
        use super::cuda::device::{self as cu, Buf};
        let p = self.p;
        let (planes, ho, wo) = dims(l, p, "gradient")?;
        let (h, w) = (ho - 2 * p, wo - 2 * p);
        let dy = cu::input("reflection pad", s, l, "gradient")?;
        let mut dx = cu::output(&s.device, planes * h * w)?;
        let launch = super::cuda::launch::reflect_pad_bwd(planes, h, w, p);
        cu::run(&s.device, &launch, &mut [Buf::In(dy), Buf::Out(&mut dx)])?;
        Ok(cu::wrap(dx, &s.device, self.x_dims.clone()))
    }
}

/// ReflectionPad2d(p) of x (N, C, H, W): fused for f32 on the CPU, candle's ops elsewhere.
pub fn reflect_pad(x: &Tensor, p: usize) -> Result<Tensor> {
    if p == 0 {
        return Ok(x.clone());
    }
    if super::switch::ours(super::switch::Op::Pad, &[x]) && x.rank() == 4 {
        return x.contiguous()?.apply_op1(Forward { p });
    }
    reflect_pad_composed(x, p)
}

/// The same from candle's ops (any device): mirrors without repeating the edge.
pub fn reflect_pad_composed(xs: &Tensor, p: usize) -> Result<Tensor> {
    let mut x = xs.clone();
    for dim in [2, 3] {
        let n = x.dim(dim)?;
        let mut parts = Vec::with_capacity(2 * p + 1);
        for i in (1..=p).rev() {
            parts.push(x.narrow(dim, i, 1)?);
        }
        parts.push(x.clone());
        for i in 1..=p {
            parts.push(x.narrow(dim, n - 1 - i, 1)?);
        }
        x = Tensor::cat(&parts, dim)?;
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn values_and_gradients_match_pytorch() {
        crate::nn::kernels::testing::check_unary_fixture("reflection_pad", 2, 1e-6, |x, cfg| {
            reflect_pad(x, cfg[0]).unwrap()
        });
    }

    #[test]
    fn fused_matches_the_composed_ops() {
        for (dims, p) in [([2, 3, 7, 5], 1), ([1, 2, 9, 8], 3), ([1, 1, 4, 4], 3)] {
            let mut rng = crate::rng::SeededRng::new(p as u64);
            let x = Var::from_tensor(&rng.normal(&dims, 0.0, 1.0, &Device::Cpu).unwrap()).unwrap();
            let fused = reflect_pad(x.as_tensor(), p).unwrap();
            let composed = reflect_pad_composed(x.as_tensor(), p).unwrap();
            assert_eq!(fused.dims(), composed.dims());
            let diff = |a: &Tensor, b: &Tensor| {
                (a - b)
                    .unwrap()
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            };
            assert_eq!(diff(&fused, &composed), 0.0, "{dims:?} p {p}");
            let r = rng.normal(fused.dims(), 0.0, 1.0, &Device::Cpu).unwrap();
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
            assert!(diff(a, b) < 1e-6, "{dims:?} p {p}: dx {}", diff(a, b));
        }
    }

    #[test]
    fn padding_wider_than_the_plane_is_an_error() {
        let x = Tensor::zeros((1, 1, 3, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(reflect_pad(&x, 3).is_err());
    }
}
