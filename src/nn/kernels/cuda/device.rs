//! Launching our kernels on a CUDA device (only with the `cuda` feature): the module of a kernel
//! is loaded once per device (candle's `get_or_load_custom_func`, keyed `aiart_<stem>`), the
//! operands' device pointers are taken in `Launch::args` order and pushed with the scalars, and
//! the launch goes on the device's one stream, ordered after every candle op before it.

use super::launch::{Launch, Value};
use candle_core::cuda::cudarc::driver::{
    CudaSlice, CudaView, CudaViewMut, DevicePtr, DevicePtrMut, LaunchConfig, PushKernelArg,
};
use candle_core::cuda::{CudaDevice, CudaStorage, WrapErr};
use candle_core::{Layout, Result, Shape};

/// One buffer of a launch.
pub(crate) enum Buf<'a> {
    /// read by the kernel
    In(CudaView<'a, f32>),
    /// written by the kernel (a fresh output)
    Out(&'a mut CudaSlice<f32>),
    /// read and written (an in-place operand)
    InOut(CudaViewMut<'a, f32>),
    /// written through a shared view: the optimiser's moments, which candle passes to an
    /// in-place op as a read-only operand. Sound because the moments tensor belongs to the
    /// optimiser alone and every use of it is ordered on the device's one stream.
    Written(CudaView<'a, f32>),
}

/// The f32 elements of a contiguous operand, or an error naming the op and the operand.
pub(crate) fn input<'a>(
    op: &str,
    s: &'a CudaStorage,
    l: &Layout,
    what: &str,
) -> Result<CudaView<'a, f32>> {
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("{op}: a contiguous {what} only")
    };
    Ok(s.as_cuda_slice::<f32>()?.slice(a..b))
}

/// A fresh output of `n` f32 values, not zeroed (every kernel writes each of its elements).
pub(crate) fn output(dev: &CudaDevice, n: usize) -> Result<CudaSlice<f32>> {
    // SAFETY: the launch that follows writes all n elements before anything reads them
    unsafe { dev.alloc::<f32>(n) }
}

/// The output as a custom op's result.
pub(crate) fn wrap(
    out: CudaSlice<f32>,
    dev: &CudaDevice,
    shape: impl Into<Shape>,
) -> (CudaStorage, Shape) {
    (CudaStorage::wrap_cuda_slice(out, dev.clone()), shape.into())
}

/// A scalar or pointer argument, stored until the launch has read it.
enum Raw {
    U64(u64),
    U32(u32),
    F32(f32),
}

/// Runs `launch` on `dev` with `bufs` (`Value::Buf(i)` is `bufs[i]`), after checking the
/// arguments against the kernel's declared parameters.
pub(crate) fn run(dev: &CudaDevice, launch: &Launch, bufs: &mut [Buf<'_>]) -> Result<()> {
    launch.check(bufs.len()).map_err(candle_core::Error::wrap)?;
    let k = launch.kernel;
    let module = format!("aiart_{}", k.module.stem());
    let func = dev.get_or_load_custom_func(k.name, &module, super::ptx(k.module))?;
    let stream = dev.cuda_stream();
    let mut pointers = Vec::with_capacity(bufs.len());
    let mut guards = Vec::with_capacity(bufs.len());
    for b in bufs.iter_mut() {
        let (p, g) = match b {
            Buf::In(v) | Buf::Written(v) => v.device_ptr(&stream),
            Buf::Out(s) => s.device_ptr_mut(&stream),
            Buf::InOut(v) => v.device_ptr_mut(&stream),
        };
        pointers.push(p);
        guards.push(g);
    }
    let raw: Vec<Raw> = launch
        .args
        .iter()
        .map(|v| match *v {
            Value::Buf(i) => Raw::U64(pointers[i]),
            Value::Null => Raw::U64(0),
            Value::U32(x) => Raw::U32(x),
            Value::U64(x) => Raw::U64(x),
            Value::F32(x) => Raw::F32(x),
        })
        .collect();
    let mut builder = func.builder();
    for r in &raw {
        match r {
            Raw::U64(x) => builder.arg(x),
            Raw::U32(x) => builder.arg(x),
            Raw::F32(x) => builder.arg(x),
        };
    }
    let g = launch.geometry;
    let cfg = LaunchConfig {
        grid_dim: g.grid,
        block_dim: g.block,
        shared_mem_bytes: g.shared,
    };
    // SAFETY: the arguments match the kernel's parameter list (checked above, and against the
    // PTX by ptx_signatures.rs); every pointer is a live buffer of the size the launch implies
    unsafe { builder.launch(cfg) }.w()?;
    drop(guards);
    Ok(())
}
