//! Which device runs our ops (issue 30): every op of `kernels/` has a CPU side, and some have a
//! CUDA side. An op runs its own side where every operand is f32 on one device that the op has a
//! side for and that side is switched on; elsewhere its layers use candle's composed ops, as
//! before (the fallback).
//!
//! A CUDA side is switched off by hand (`AIART_CUDA_OPS=off`, or a comma-separated list of the
//! op names that stay on) or by the self-check that runs when a CUDA device opens (an op whose
//! small case errors or disagrees with its CPU side is switched off for the process, with one
//! warning naming it). The CPU sides are always on.

use candle_core::{DType, Device, Tensor};
use std::sync::Mutex;

/// One of our ops, by the name users see (`AIART_CUDA_OPS`, status.json, `aiart runs show`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// convolution and transposed convolution, values and both gradients (cuDNN on CUDA)
    Conv,
    /// reflection padding and its gradient
    Pad,
    /// instance norm (+ReLU) without affine parameters, and its gradient
    InstanceNorm,
    /// instance norm with affine parameters, and its gradients
    AffineInstanceNorm,
    /// batch norm in training mode, and its gradients
    BatchNorm,
    /// per-channel bias (+ReLU), and the channel sum of its gradient
    Bias,
    /// LeakyReLU
    Leaky,
    /// ReLU's gradient gate
    Gate,
    /// 2×2 max-pooling and its gradient
    MaxPool,
    /// nearest ×2 upsampling and its adjoint
    Upsample,
    /// the fused Adam update
    Adam,
}

impl Op {
    pub const ALL: [Op; 11] = [
        Op::Conv,
        Op::Pad,
        Op::InstanceNorm,
        Op::AffineInstanceNorm,
        Op::BatchNorm,
        Op::Bias,
        Op::Leaky,
        Op::Gate,
        Op::MaxPool,
        Op::Upsample,
        Op::Adam,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Conv => "conv",
            Op::Pad => "pad",
            Op::InstanceNorm => "instance_norm",
            Op::AffineInstanceNorm => "affine_instance_norm",
            Op::BatchNorm => "batch_norm",
            Op::Bias => "bias",
            Op::Leaky => "leaky_relu",
            Op::Gate => "relu_gate",
            Op::MaxPool => "max_pool",
            Op::Upsample => "upsample",
            Op::Adam => "adam",
        }
    }

    pub fn parse(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether this build has a CUDA side for the op (with the `cuda` feature; the `conv` side
    /// needs `cudnn` too).
    pub fn has_cuda_side(self) -> bool {
        // Each op joins this list when its CUDA side is written (issue 30).
        const WRITTEN: &[Op] = &[
            Op::Pad,
            Op::InstanceNorm,
            Op::AffineInstanceNorm,
            Op::BatchNorm,
            Op::Bias,
            Op::Leaky,
            Op::Gate,
            Op::MaxPool,
            Op::Upsample,
            Op::Adam,
        ];
        // ... or this one when that side is cuDNN's (the `cudnn` feature)
        const WRITTEN_CUDNN: &[Op] = &[Op::Conv];
        cfg!(feature = "cuda")
            && (WRITTEN.contains(&self) || cfg!(feature = "cudnn") && WRITTEN_CUDNN.contains(&self))
    }
}

/// `AIART_CUDA_OPS` could not be read: it names an op that does not exist.
#[derive(Debug, thiserror::Error)]
#[error(
    "AIART_CUDA_OPS: unknown op `{name}`; it takes `off`, `on`, or a comma-separated list of: {}",
    Op::ALL.map(Op::name).join(", ")
)]
pub struct UnknownOp {
    pub name: String,
}

/// Which CUDA sides `AIART_CUDA_OPS` leaves on: unset, empty or `on` all of them, `off` none, else
/// the listed ones.
pub fn parse_setting(value: Option<&str>) -> Result<Vec<Op>, UnknownOp> {
    let value = value.map(str::trim).unwrap_or("");
    match value {
        "" | "on" => Ok(Op::ALL.to_vec()),
        "off" => Ok(Vec::new()),
        list => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Op::parse(s).ok_or_else(|| UnknownOp { name: s.into() }))
            .collect(),
    }
}

/// The ops switched off in this process (by hand or by the self-check), with why.
static OFF: Mutex<Vec<(Op, String)>> = Mutex::new(Vec::new());

/// Reads `AIART_CUDA_OPS` and switches off the CUDA sides it leaves out. Call before a CUDA
/// device's first step; an unknown name is an error naming the variable and the valid names.
pub fn apply_setting() -> Result<(), UnknownOp> {
    let raw = std::env::var("AIART_CUDA_OPS").ok();
    let on = parse_setting(raw.as_deref())?;
    for op in Op::ALL {
        if !on.contains(&op) {
            mark_off(op, "switched off by AIART_CUDA_OPS".into());
        }
    }
    Ok(())
}

/// Switches the CUDA side of `op` off for the rest of the process, with one warning on stderr
/// naming it and why; its layers use candle's composed ops from then on.
pub fn switch_off(op: Op, why: &str) {
    if mark_off(op, why.into()) {
        eprintln!(
            "warning: CUDA op `{}` switched off: {why}; its layers use candle's ops",
            op.name()
        );
    }
}

/// Marks `op` off; whether it was on.
fn mark_off(op: Op, why: String) -> bool {
    let mut off = OFF.lock().unwrap_or_else(|e| e.into_inner());
    if off.iter().any(|(o, _)| *o == op) {
        return false;
    }
    off.push((op, why));
    true
}

/// Whether the CUDA side of `op` is written in this build and not switched off.
pub fn cuda_enabled(op: Op) -> bool {
    op.has_cuda_side()
        && !OFF
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|(o, _)| *o == op)
}

/// The names of the CUDA ops in use on a CUDA device (for status.json and `aiart runs show`), in
/// `Op::ALL`'s order.
pub fn cuda_ops_in_use() -> Vec<&'static str> {
    Op::ALL
        .into_iter()
        .filter(|&op| cuda_enabled(op))
        .map(Op::name)
        .collect()
}

/// The CUDA ops switched off, with why, in the order they were switched off.
pub fn cuda_ops_off() -> Vec<(&'static str, String)> {
    OFF.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(op, why)| (op.name(), why.clone()))
        .collect()
}

/// Whether `op`'s own side takes these operands: all f32 on one device, the CPU or a CUDA device
/// whose side of `op` is on. Elsewhere the caller uses candle's ops.
pub fn ours(op: Op, ts: &[&Tensor]) -> bool {
    let Some(first) = ts.first() else {
        return false;
    };
    let same = ts
        .iter()
        .all(|t| t.dtype() == DType::F32 && t.device().same_device(first.device()));
    same && match first.device() {
        Device::Cpu => true,
        Device::Cuda(_) => cuda_enabled(op),
        Device::Metal(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_reads_on_off_and_lists() {
        assert_eq!(parse_setting(None).unwrap(), Op::ALL.to_vec());
        assert_eq!(parse_setting(Some(" on ")).unwrap(), Op::ALL.to_vec());
        assert!(parse_setting(Some("off")).unwrap().is_empty());
        assert_eq!(
            parse_setting(Some("conv, adam,")).unwrap(),
            vec![Op::Conv, Op::Adam]
        );
        let e = parse_setting(Some("conv,pooling")).unwrap_err().to_string();
        assert!(e.contains("`pooling`") && e.contains("max_pool"), "{e}");
        for op in Op::ALL {
            assert_eq!(Op::parse(op.name()), Some(op));
        }
    }

    #[test]
    fn the_cpu_sides_take_f32_on_one_device_only() {
        let f = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        let d = Tensor::zeros(3, DType::F64, &Device::Cpu).unwrap();
        assert!(ours(Op::Pad, &[&f, &f]));
        assert!(!ours(Op::Pad, &[&f, &d]));
        assert!(!ours(Op::Pad, &[]));
    }
}
