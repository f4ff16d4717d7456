//! One Adam update of one parameter in a single pass over p, g, m and v, in place: the tensor form
//! (optim/adam.rs) makes ten temporaries per parameter and step. The arithmetic is the tensor
//! form's, operation for operation in f32 (candle's `x * c` and `x / c` are `x·c + 0` and
//! `x·(1/c) + 0`), so both give bit-identical parameters and moments. On CUDA the same arithmetic
//! runs in `cuda/adam.cu` (round-to-nearest intrinsics, no contraction), one launch per
//! parameter, with the moments on the device.

use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout, Result, Tensor};
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

impl AdamStep {
    /// The f32 constants both sides compute with: β1, 1 − β1, β2, 1 − β2, 1/√(1 − β2ᵗ), ε and
    /// lr/(1 − β1ᵗ), each computed in f64 and rounded once.
    pub fn constants(&self) -> [f32; 7] {
        [
            self.beta1 as f32,
            (1.0 - self.beta1) as f32,
            self.beta2 as f32,
            (1.0 - self.beta2) as f32,
            (1.0 / self.bc2.sqrt()) as f32,
            self.eps as f32,
            (self.lr / self.bc1) as f32,
        ]
    }
}

/// One parameter's moments (m, v): host vectors for a CPU parameter, one device tensor of 2n
/// values (m then v) for a parameter on a CUDA device.
pub enum Moments {
    Host { m: Vec<f32>, v: Vec<f32> },
    Device(Tensor),
}

impl Moments {
    /// Zero moments for `param` (f32), where its update runs.
    pub fn zeros(param: &Tensor) -> Result<Self> {
        let n = param.elem_count();
        Ok(match param.device() {
            candle_core::Device::Cpu => Moments::Host {
                m: vec![0f32; n],
                v: vec![0f32; n],
            },
            dev => Moments::Device(Tensor::zeros(2 * n, candle_core::DType::F32, dev)?),
        })
    }

    /// Moments of `param` from checkpointed tensors of its shape (any float dtype, any device).
    pub fn from_tensors(param: &Tensor, m: &Tensor, v: &Tensor) -> Result<Self> {
        let flat = |t: &Tensor| t.to_dtype(candle_core::DType::F32)?.flatten_all();
        Ok(match param.device() {
            candle_core::Device::Cpu => Moments::Host {
                m: flat(m)?.to_vec1()?,
                v: flat(v)?.to_vec1()?,
            },
            dev => Moments::Device(
                Tensor::cat(&[flat(m)?, flat(v)?], 0)?
                    .to_device(dev)?
                    .contiguous()?,
            ),
        })
    }

    /// (m, v) as tensors of `param`'s shape, on its device.
    pub fn to_tensors(&self, param: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            Moments::Host { m, v } => (
                Tensor::from_slice(m, param.shape(), param.device())?,
                Tensor::from_slice(v, param.shape(), param.device())?,
            ),
            Moments::Device(mv) => {
                let n = param.elem_count();
                (
                    mv.narrow(0, 0, n)?.reshape(param.shape())?.copy()?,
                    mv.narrow(0, n, n)?.reshape(param.shape())?.copy()?,
                )
            }
        })
    }
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
        let [b1, nb1, b2, nb2, inv_sqrt_bc2, eps, step] = self.c.constants();
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

/// The CUDA update: p in place from (g, mv), mv (2n: m then v) written through its pointer.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
struct DeviceKernel(AdamStep);

impl InplaceOp3 for DeviceKernel {
    fn name(&self) -> &'static str {
        "fused-adam"
    }

    fn cpu_fwd(
        &self,
        _: &mut CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<()> {
        candle_core::bail!("fused-adam: device moments for a CPU parameter")
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &mut candle_core::cuda::CudaStorage,
        l1: &Layout,
        s2: &candle_core::cuda::CudaStorage,
        l2: &Layout,
        s3: &candle_core::cuda::CudaStorage,
        l3: &Layout,
    ) -> Result<()> {
        use super::cuda::device::{self as cu, Buf};
        let n = l1.shape().elem_count();
        if l2.shape().elem_count() != n || l3.shape().elem_count() != 2 * n {
            candle_core::bail!(
                "fused-adam: {n} parameters, {} gradients, {} moments (2n)",
                l2.shape().elem_count(),
                l3.shape().elem_count()
            )
        }
        let Some((p0, p1)) = l1.contiguous_offsets() else {
            candle_core::bail!("fused-adam: contiguous parameters only")
        };
        let dev = s1.device.clone();
        let g = cu::input("fused-adam", s2, l2, "gradient")?;
        let mv = cu::input("fused-adam", s3, l3, "moments")?;
        let p = s1.as_cuda_slice_mut::<f32>()?.slice_mut(p0..p1);
        let launch = super::cuda::launch::adam(n, self.0.constants());
        cu::run(
            &dev,
            &launch,
            &mut [Buf::InOut(p), Buf::In(g), Buf::Written(mv)],
        )
    }
}

/// Updates `param` (an f32 variable's tensor) and its moments in place from `grad`: the CPU kernel
/// for host moments, the CUDA kernel for device moments.
pub fn step(param: &Tensor, grad: &Tensor, moments: &mut Moments, c: AdamStep) -> Result<()> {
    let grad = grad.contiguous()?;
    match moments {
        Moments::Host { m, v } => param.inplace_op2(
            &grad,
            &Kernel {
                c,
                m: RefCell::new(m),
                v: RefCell::new(v),
            },
        ),
        Moments::Device(mv) => param.inplace_op3(&grad, mv, &DeviceKernel(c)),
    }
}
