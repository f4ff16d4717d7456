//! The CUDA side of the convolutions (`cudnn` feature): cuDNN's forward, backward-data and
//! backward-filter through cudarc's safe API, as PyTorch's `cudnn_convolution` calls them
//! (aten/src/ATen/native/cudnn/Conv_v7.cpp; a transposed convolution's forward is the adjoint's
//! backward-data, its gradients the adjoint's forward and backward-filter: `gemm_conv.rs` says
//! which op is which).
//!
//! A plan per shape and math type holds the descriptors and, per direction, the algorithm
//! cuDNN's heuristics put first (`cudnnGetConvolution*Algorithm_v7`, what PyTorch uses with
//! `benchmark = False`) and its workspace size, each found once; one workspace per device grows
//! to the largest size asked for and serves every call (cuDNN needs no zeroed workspace, and
//! every call is ordered on the device's one stream). cuDNN handles are not `Send`, so handles,
//! plans and workspaces live per thread and device, as candle's handles and PyTorch's v8 plans do.
//! The math type follows `conv::tf32()` (`[train] tf32`) per descriptor: `CUDNN_DEFAULT_MATH`
//! (TF32 allowed) or `CUDNN_FMA_MATH` (full f32, as PyTorch with `allow_tf32 = False`).

use super::problem::Problem;
use candle_core::cuda_backend::cudarc::cudnn::{
    result, sys, ConvBackwardData, ConvBackwardFilter, ConvDescriptor, ConvForward, Cudnn,
    CudnnError, FilterDescriptor, TensorDescriptor,
};
use candle_core::cuda_backend::cudarc::driver::{CudaSlice, CudaView};
use candle_core::cuda_backend::{CudaDevice, DeviceId};
use candle_core::{CudaStorage, Layout, Result};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

type Algo<A> = Option<(A, usize)>;

/// One shape's descriptors and, per direction, the algorithm and workspace bytes once picked.
struct Plan {
    conv: ConvDescriptor<f32>,
    x: TensorDescriptor<f32>,
    w: FilterDescriptor<f32>,
    y: TensorDescriptor<f32>,
    forward: Algo<sys::cudnnConvolutionFwdAlgo_t>,
    data: Algo<sys::cudnnConvolutionBwdDataAlgo_t>,
    filter: Algo<sys::cudnnConvolutionBwdFilterAlgo_t>,
}

/// What one thread keeps for one device.
struct PerDevice {
    cudnn: Arc<Cudnn>,
    /// by (problem, TF32 allowed)
    plans: HashMap<(Problem, bool), Plan>,
    workspace: Option<CudaSlice<u8>>,
}

thread_local! {
    static DEVICES: RefCell<HashMap<DeviceId, PerDevice>> = RefCell::new(HashMap::new());
}

/// A cuDNN error as a candle error naming the call and the convolution.
fn failed(what: &'static str, p: &Problem) -> impl Fn(CudnnError) -> candle_core::Error {
    let p = *p;
    move |e| candle_core::Error::Msg(format!("cuDNN {what} of the convolution {p}: {e:?}"))
}

const NCHW: sys::cudnnTensorFormat_t = sys::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW;

/// The math type of a descriptor: TF32 allowed or full f32.
pub(crate) fn math_type(tf32: bool) -> sys::cudnnMathType_t {
    if tf32 {
        sys::cudnnMathType_t::CUDNN_DEFAULT_MATH
    } else {
        sys::cudnnMathType_t::CUDNN_FMA_MATH
    }
}

impl Plan {
    fn new(cudnn: &Arc<Cudnn>, p: &Problem, tf32: bool) -> Result<Self> {
        let (x, w, y) = p.c_dims()?;
        // cuDNN's own output size must be ours: a clear error here, never a BAD_PARAM later
        let got = output_dims(p, tf32)?;
        if got != y {
            candle_core::bail!("cuDNN computes the convolution {p} to {got:?}, not {y:?}")
        }
        let e = failed("descriptors", p);
        let (pad, s) = (p.pad as i32, p.stride as i32);
        let mut conv = cudnn
            .create_conv2d::<f32>(
                [pad, pad],
                [s, s],
                [1, 1],
                sys::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
            )
            .map_err(&e)?;
        conv.set_math_type(math_type(tf32)).map_err(&e)?;
        Ok(Self {
            conv,
            x: cudnn.create_4d_tensor::<f32>(NCHW, x).map_err(&e)?,
            w: cudnn.create_4d_filter::<f32>(NCHW, w).map_err(&e)?,
            y: cudnn.create_4d_tensor::<f32>(NCHW, y).map_err(&e)?,
            forward: None,
            data: None,
            filter: None,
        })
    }
}

/// Runs `f` with the plan of `p` on `dev` (made on first use) and the device's workspace.
fn with_plan<R>(
    dev: &CudaDevice,
    p: &Problem,
    f: impl FnOnce(&mut Plan, &mut Option<CudaSlice<u8>>) -> Result<R>,
) -> Result<R> {
    DEVICES.with(|devices| {
        let mut devices = devices.borrow_mut();
        let per = match devices.entry(dev.id()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(PerDevice {
                cudnn: Cudnn::new(dev.cuda_stream()).map_err(failed("handle", p))?,
                plans: HashMap::new(),
                workspace: None,
            }),
        };
        let tf32 = super::tf32();
        let plan = match per.plans.entry((*p, tf32)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Plan::new(&per.cudnn, p, tf32)?)
            }
        };
        f(plan, &mut per.workspace)
    })
}

/// The workspace of at least `bytes` (None for 0), grown when a plan needs more.
fn workspace<'a>(
    slot: &'a mut Option<CudaSlice<u8>>,
    dev: &CudaDevice,
    bytes: usize,
) -> Result<Option<&'a mut CudaSlice<u8>>> {
    if bytes == 0 {
        return Ok(None);
    }
    if slot.as_ref().is_none_or(|w| w.len() < bytes) {
        // the old one is freed in stream order, after the calls that used it
        *slot = None;
        // SAFETY: cuDNN writes a workspace before it reads it
        *slot = Some(unsafe { dev.alloc::<u8>(bytes) }?);
    }
    Ok(slot.as_mut())
}

/// The f32 values of a contiguous operand of shape `dims` on its device.
fn view<'a>(
    (s, l): (&'a CudaStorage, &Layout),
    what: &str,
    dims: [usize; 4],
) -> Result<CudaView<'a, f32>> {
    if l.dims() != dims {
        candle_core::bail!(
            "cuDNN convolution: the {what} is {:?}, expected {dims:?}",
            l.dims()
        )
    }
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("cuDNN convolution: a contiguous {what} only")
    };
    Ok(s.as_cuda_slice::<f32>()?.slice(a..b))
}

fn numel(d: [usize; 4]) -> usize {
    d.iter().product()
}

/// y = conv(x, w) for `p` (cudnnConvolutionForward): x (N, C, H, W) and w (K, C, kh, kw),
/// contiguous f32 on one CUDA device; y (N, K, Ho, Wo) on it. Errors: cuDNN's, naming the call
/// and the convolution.
pub fn forward(
    p: &Problem,
    x: (&CudaStorage, &Layout),
    w: (&CudaStorage, &Layout),
) -> Result<CudaStorage> {
    let dev = x.0.device.clone();
    let (xv, wv) = (view(x, "input", p.x)?, view(w, "kernel", p.w)?);
    // SAFETY: cuDNN writes every element of y (beta = 0)
    let mut y = unsafe { dev.alloc::<f32>(numel(p.y())) }?;
    with_plan(&dev, p, |plan, slot| {
        let e = failed("forward", p);
        let op = ConvForward {
            conv: &plan.conv,
            x: &plan.x,
            w: &plan.w,
            y: &plan.y,
        };
        let (algo, bytes) = match plan.forward {
            Some(a) => a,
            None => {
                let algo = op.pick_algorithm().map_err(&e)?;
                (algo, op.get_workspace_size(algo).map_err(&e)?)
            }
        };
        let ws = workspace(slot, &dev, bytes)?;
        // SAFETY: the descriptors are this problem's f32 NCHW shapes, and the views and y hold
        // exactly those elements (checked by `view` and the allocation)
        unsafe { op.launch(algo, ws, (1.0, 0.0), &xv, &wv, &mut y) }.map_err(&e)?;
        plan.forward = Some((algo, bytes));
        Ok(())
    })?;
    Ok(CudaStorage::wrap_cuda_slice(y, dev))
}

/// dx = the gradient of conv(x, w) for `p` with respect to x, from dy (N, K, Ho, Wo) and w
/// (cudnnConvolutionBackwardData): dx (N, C, H, W). Also a transposed convolution's forward
/// (its input as dy, its output as dx). Errors as `forward`.
pub fn backward_data(
    p: &Problem,
    dy: (&CudaStorage, &Layout),
    w: (&CudaStorage, &Layout),
) -> Result<CudaStorage> {
    let dev = dy.0.device.clone();
    let (dyv, wv) = (view(dy, "gradient", p.y())?, view(w, "kernel", p.w)?);
    // SAFETY: cuDNN writes every element of dx (beta = 0)
    let mut dx = unsafe { dev.alloc::<f32>(numel(p.x)) }?;
    with_plan(&dev, p, |plan, slot| {
        let e = failed("backward-data", p);
        let op = ConvBackwardData {
            conv: &plan.conv,
            dx: &plan.x,
            w: &plan.w,
            dy: &plan.y,
        };
        let (algo, bytes) = match plan.data {
            Some(a) => a,
            None => {
                let algo = op.pick_algorithm().map_err(&e)?;
                (algo, op.get_workspace_size(algo).map_err(&e)?)
            }
        };
        let ws = workspace(slot, &dev, bytes)?;
        // SAFETY: as in `forward`
        unsafe { op.launch(algo, ws, (1.0, 0.0), &mut dx, &wv, &dyv) }.map_err(&e)?;
        plan.data = Some((algo, bytes));
        Ok(())
    })?;
    Ok(CudaStorage::wrap_cuda_slice(dx, dev))
}

/// dw = the gradient of conv(x, w) for `p` with respect to w, from x (N, C, H, W) and dy
/// (cudnnConvolutionBackwardFilter): dw (K, C, kh, kw). Errors as `forward`.
pub fn backward_filter(
    p: &Problem,
    x: (&CudaStorage, &Layout),
    dy: (&CudaStorage, &Layout),
) -> Result<CudaStorage> {
    let dev = x.0.device.clone();
    let (xv, dyv) = (view(x, "input", p.x)?, view(dy, "gradient", p.y())?);
    // SAFETY: cuDNN writes every element of dw (beta = 0)
    let mut dw = unsafe { dev.alloc::<f32>(numel(p.w)) }?;
    with_plan(&dev, p, |plan, slot| {
        let e = failed("backward-filter", p);
        let op = ConvBackwardFilter {
            conv: &plan.conv,
            x: &plan.x,
            dw: &plan.w,
            dy: &plan.y,
        };
        let (algo, bytes) = match plan.filter {
            Some(a) => a,
            None => {
                let algo = op.pick_algorithm().map_err(&e)?;
                (algo, op.get_workspace_size(algo).map_err(&e)?)
            }
        };
        let ws = workspace(slot, &dev, bytes)?;
        // SAFETY: as in `forward`
        unsafe { op.launch(algo, ws, (1.0, 0.0), &xv, &mut dw, &dyv) }.map_err(&e)?;
        plan.filter = Some((algo, bytes));
        Ok(())
    })?;
    Ok(CudaStorage::wrap_cuda_slice(dw, dev))
}

/// cuDNN's output shape of `p` (`cudnnGetConvolution2dForwardOutputDim`) from descriptors made
/// without a handle (the safe API needs one, and a handle needs a GPU): so it runs on a machine
/// with cuDNN's library and no GPU. The math type is set too, as the plans set it.
pub fn output_dims(p: &Problem, tf32: bool) -> Result<[i32; 4]> {
    /// Destroys a raw descriptor when it goes.
    struct Raw<T: Copy>(T, unsafe fn(T) -> std::result::Result<(), CudnnError>);
    impl<T: Copy> Drop for Raw<T> {
        fn drop(&mut self) {
            // SAFETY: made by the matching create call below and destroyed only here
            let _ = unsafe { (self.1)(self.0) };
        }
    }
    let (x, w, _) = p.c_dims()?;
    let e = failed("descriptors (no handle)", p);
    let float = sys::cudnnDataType_t::CUDNN_DATA_FLOAT;
    let t = Raw(
        result::create_tensor_descriptor().map_err(&e)?,
        result::destroy_tensor_descriptor,
    );
    let f = Raw(
        result::create_filter_descriptor().map_err(&e)?,
        result::destroy_filter_descriptor,
    );
    let c = Raw(
        result::create_convolution_descriptor().map_err(&e)?,
        result::destroy_convolution_descriptor,
    );
    let (pad, s) = (p.pad as i32, p.stride as i32);
    let mut out = [0i32; 4];
    // SAFETY: each descriptor was just created and lives until the end of this function
    unsafe {
        result::set_tensor4d_descriptor(t.0, NCHW, float, x).map_err(&e)?;
        result::set_filter4d_descriptor(f.0, float, NCHW, w).map_err(&e)?;
        result::set_convolution2d_descriptor(
            c.0,
            pad,
            pad,
            s,
            s,
            1,
            1,
            sys::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
            float,
        )
        .map_err(&e)?;
        result::set_convolution_math_type(c.0, math_type(tf32)).map_err(&e)?;
        let [n, ch, h, wd] = &mut out;
        sys::cudnnGetConvolution2dForwardOutputDim(c.0, t.0, f.0, n, ch, h, wd)
            .result()
            .map_err(&e)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every convolution and transposed convolution of every network (`conv::shapes`): the
    /// descriptors build with either math type and cuDNN's output shape is the op's own (for a
    /// transposed convolution, its adjoint's output is its input). Needs cuDNN's library, no
    /// GPU (tools/cuda-build-check.sh runs it).
    #[test]
    fn cudnn_descriptors_give_every_networks_shapes() {
        let all = super::super::shapes::every_network().unwrap();
        let mut checked = 0;
        for (net, calls) in &all {
            for c in calls {
                let p = c.problem().unwrap();
                let want: Vec<i32> = if c.transposed { &c.x } else { &c.y }
                    .iter()
                    .map(|&d| d as i32)
                    .collect();
                for tf32 in [false, true] {
                    let got = output_dims(&p, tf32).unwrap_or_else(|e| panic!("{net}: {e}"));
                    assert_eq!(got.to_vec(), want, "{net}: {c:?}");
                }
                checked += 1;
            }
        }
        eprintln!(
            "cuDNN {}: {checked} convolutions of {} networks",
            result::get_version(),
            all.len()
        );
        // a mismatch is refused by cuDNN, not computed
        let bad = Problem {
            x: [1, 3, 8, 8],
            w: [4, 5, 3, 3],
            stride: 1,
            pad: 1,
        };
        assert!(output_dims(&bad, false).is_err());
    }
}
