//! The CUDA sides of our ops (issue 30): kernels written in CUDA C++ (`*.cu` here, one file per
//! op family), compiled to PTX at build time by `build.rs` with the toolkit that builds candle's
//! own kernels (nvcc `-ptx --fmad=false`, `CUDA_COMPUTE_CAP`), embedded in the binary and loaded
//! once per device (`device.rs`). Each op's `cuda_fwd` (in the op's own file) takes its launch
//! from `launch.rs`, where every kernel's argument list and geometry are data, tested in every
//! build: the geometry at every workload's shape, every kernel by host emulation of the same
//! `.cu` files against the op's CPU side (`emulate.rs`, CI), and, in a CUDA build, the built PTX's
//! parameter lists (`ptx_signatures.rs`, run by tools/cuda-build-check.sh).

pub mod launch;

#[cfg(feature = "cuda")]
pub(crate) mod device;

#[cfg(test)]
pub(crate) mod emulate;

#[cfg(all(test, feature = "cuda"))]
mod ptx_signatures;

/// The PTX of one module, as build.rs wrote it into `OUT_DIR`.
#[cfg(feature = "cuda")]
pub fn ptx(module: launch::Module) -> &'static str {
    use launch::Module;
    match module {
        Module::Pad => include_str!(concat!(env!("OUT_DIR"), "/pad.ptx")),
        Module::Activation => include_str!(concat!(env!("OUT_DIR"), "/activation.ptx")),
        Module::Bias => include_str!(concat!(env!("OUT_DIR"), "/bias.ptx")),
        Module::Pool => include_str!(concat!(env!("OUT_DIR"), "/pool.ptx")),
        Module::Upsample => include_str!(concat!(env!("OUT_DIR"), "/upsample.ptx")),
        Module::Adam => include_str!(concat!(env!("OUT_DIR"), "/adam.ptx")),
        Module::Norm => include_str!(concat!(env!("OUT_DIR"), "/norm.ptx")),
        Module::BatchNorm => include_str!(concat!(env!("OUT_DIR"), "/batchnorm.ptx")),
    }
}
