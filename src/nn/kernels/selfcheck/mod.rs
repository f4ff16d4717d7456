//! The self-check of our ops' CUDA sides (issue 30): when a CUDA device opens, before the first
//! step, every op whose CUDA side is written and on runs a few small cases — its values and every
//! gradient — on the device and on the CPU, and an op whose case errors, panics or disagrees
//! beyond its tolerance is switched off for the process (`switch::switch_off`: one warning naming
//! it; its layers use candle's ops). `tests/gpu.rs` runs the same cases strictly, and a CPU unit
//! test runs them CPU against CPU and against candle's composed ops, so the harness and the
//! cases are checked where no GPU is.
//!
//! The registry: `cases(op)` has one arm per op, each naming a function of the op's own file
//! here (`conv.rs`, …) that returns its cases.

mod conv;
mod ops;

use super::switch::{self, Op};
use candle_core::{Device, Result, Tensor, Var};

/// Which implementation a case runs: our op (on whatever device its operands are: the CPU or
/// the CUDA side), or candle's composed ops (the fallback the layers use; a CPU-side reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Ours,
    Candle,
}

/// What a case computes, by name (the values first, then each gradient), on the device it ran on.
pub type Outputs = Vec<(&'static str, Tensor)>;

/// How a case runs: its outputs on a device by a side.
pub type Run = Box<dyn Fn(&Device, Side) -> Result<Outputs> + Send + Sync>;

/// One small case of an op.
pub struct Case {
    pub op: Op,
    /// What it covers ("3×3 stride 2 padding 1"), for messages
    pub name: String,
    /// The largest max|a − b| / max|b| of any output allowed between two sides in full f32
    pub tol: f32,
    /// The same where TF32 is allowed (`[train] tf32`; only convolutions use it)
    pub tol_tf32: f32,
    /// Runs the case with inputs made on `device` (seeded, so every run sees the same values)
    pub run: Run,
}

impl Case {
    /// The tolerance that applies now: `tol_tf32` where TF32 is allowed.
    pub fn tolerance(&self, tf32: bool) -> f32 {
        if tf32 && self.op == Op::Conv {
            self.tol_tf32
        } else {
            self.tol
        }
    }
}

/// The cases of `op`: `conv.rs` for the convolutions, `ops.rs` for our own kernels. An op with a
/// CUDA side and no case is switched off by `check_device` (nothing would have checked it).
pub fn cases(op: Op) -> Vec<Case> {
    match op {
        Op::Conv => conv::cases(),
        Op::Pad
        | Op::InstanceNorm
        | Op::AffineInstanceNorm
        | Op::BatchNorm
        | Op::Bias
        | Op::Leaky
        | Op::Gate
        | Op::MaxPool
        | Op::Upsample
        | Op::Adam => ops::cases(op),
    }
}

/// Why a case failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    #[error("it failed: {0}")]
    Error(String),
    #[error("its {output} has shape {got:?}, the CPU side's {want:?}")]
    Shape {
        output: String,
        got: Vec<usize>,
        want: Vec<usize>,
    },
    #[error("its {output} differs from the CPU side's by {err:.2e} of the largest magnitude (tolerance {tol:.0e})")]
    Differs { output: String, err: f32, tol: f32 },
    #[error("it gives {got} outputs, the CPU side {want}")]
    Count { got: usize, want: usize },
}

/// Runs `f`, a panic turned into an error (a panicking CUDA side must not take the run down).
fn caught<T>(f: impl FnOnce() -> Result<T>) -> std::result::Result<T, Failure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::Error(first_line(&e.to_string()))),
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            Err(Failure::Error(format!("panicked: {msg}")))
        }
    }
}

/// The first line of an error (candle appends a backtrace when RUST_BACKTRACE is set).
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// max |a − b| / max |b| over two tensors of one shape (NaN where either holds a NaN).
fn relative_error(a: &Tensor, b: &Tensor) -> Result<f32> {
    let a = a.flatten_all()?.to_vec1::<f32>()?;
    let b = b.flatten_all()?.to_vec1::<f32>()?;
    let mut diff = 0f32;
    let mut largest = 0f32;
    for (x, y) in a.iter().zip(&b) {
        let d = (x - y).abs();
        if d.is_nan() {
            return Ok(f32::NAN);
        }
        diff = diff.max(d);
        largest = largest.max(y.abs());
    }
    Ok(diff / largest.max(1e-6))
}

/// Runs `case` by our side on `device` and by `reference` on the CPU, and compares every output:
/// the largest relative error (max|a − b| / max|b|) on success, or why it failed: an error or a
/// panic on either side, another shape or number of outputs, an error above `tol` (a NaN is
/// above any tolerance).
pub fn compare(
    case: &Case,
    device: &Device,
    reference: Side,
    tol: f32,
) -> std::result::Result<f32, Failure> {
    let ours = caught(|| {
        (case.run)(device, Side::Ours)?
            .into_iter()
            .map(|(n, t)| Ok((n, t.to_device(&Device::Cpu)?)))
            .collect::<Result<Vec<_>>>()
    })?;
    let want = caught(|| (case.run)(&Device::Cpu, reference))
        .map_err(|f| Failure::Error(format!("the CPU reference: {f}")))?;
    if ours.len() != want.len() {
        return Err(Failure::Count {
            got: ours.len(),
            want: want.len(),
        });
    }
    let mut worst = 0f32;
    for ((name, a), (_, b)) in ours.iter().zip(&want) {
        if a.dims() != b.dims() {
            return Err(Failure::Shape {
                output: name.to_string(),
                got: a.dims().to_vec(),
                want: b.dims().to_vec(),
            });
        }
        let err = relative_error(a, b).map_err(|e| Failure::Error(first_line(&e.to_string())))?;
        if err.is_nan() || err > tol {
            return Err(Failure::Differs {
                output: name.to_string(),
                err,
                tol,
            });
        }
        worst = worst.max(err);
    }
    Ok(worst)
}

/// The check when a CUDA device opens: every op whose CUDA side is on runs its cases against its
/// CPU side at the tolerance of the math in force (`conv::tf32()`); the first case that fails
/// switches the op off, with one warning naming the op, the case and why. Returns the ops
/// switched off, with why. Nothing to do on the CPU.
pub fn check_device(device: &Device) -> Vec<(Op, String)> {
    let mut off = vec![];
    if device.is_cpu() {
        return off;
    }
    let tf32 = super::conv::tf32();
    for op in Op::ALL {
        if !switch::cuda_enabled(op) {
            continue;
        }
        let cases = cases(op);
        if cases.is_empty() {
            // a side nothing has checked does not run
            let why = "the self-check has no case for it".to_string();
            switch::switch_off(op, &why);
            off.push((op, why));
            continue;
        }
        for case in cases {
            if let Err(f) = compare(&case, device, Side::Ours, case.tolerance(tf32)) {
                let why = format!("the self-check's case `{}`: {f}", case.name);
                switch::switch_off(op, &why);
                off.push((op, why));
                break;
            }
        }
    }
    off
}

/// A seeded N(0, 1) tensor of `shape`, made on the CPU and moved to `device` (so both sides of a
/// case see the same values), as a variable whose gradient backward returns.
pub(crate) fn input(shape: &[usize], seed: u64, device: &Device) -> Result<Var> {
    let t = crate::rng::SeededRng::new(seed).normal(shape, 0.0, 1.0, &Device::Cpu)?;
    Var::from_tensor(&t.to_device(device)?)
}

/// The gradients of loss = Σ y·r (r seeded) with respect to `vars`, each named; an error names
/// a variable that got none.
pub(crate) fn gradients(y: &Tensor, seed: u64, vars: &[(&'static str, &Var)]) -> Result<Outputs> {
    let r = crate::rng::SeededRng::new(seed)
        .normal(y.dims(), 0.0, 1.0, &Device::Cpu)?
        .to_device(y.device())?;
    let grads = (y * r)?.sum_all()?.backward()?;
    vars.iter()
        .map(|&(name, v)| match grads.get(v.as_tensor()) {
            Some(g) => Ok((name, g.clone())),
            None => candle_core::bail!("no gradient for {name}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every case of every op, CPU against CPU (the same numbers) and against candle's composed
    /// ops (within the case's tolerance): what `check_device` and tests/gpu.rs run, checked here.
    #[test]
    fn every_case_agrees_on_the_cpu_with_itself_and_with_candle() {
        let cpu = Device::Cpu;
        let mut n = 0;
        for op in Op::ALL {
            for case in cases(op) {
                let same = compare(&case, &cpu, Side::Ours, 0.0);
                assert_eq!(same, Ok(0.0), "{}: {}", op.name(), case.name);
                // candle's composed ops add a gradient's contributions in their own order (pad's
                // reflected border), so an exact case is held to a few f32 ulps against them
                let candle = compare(&case, &cpu, Side::Candle, case.tol.max(1e-6));
                assert!(candle.is_ok(), "{}: {}: {candle:?}", op.name(), case.name);
                n += 1;
            }
        }
        assert!(n >= conv::cases().len() && n >= 9, "{n} cases");
    }

    /// Every op has cases: a CUDA side the check cannot run is switched off, so an op without
    /// cases would never run on a GPU.
    #[test]
    fn every_op_has_cases_that_run() {
        for op in Op::ALL {
            let cases = cases(op);
            assert!(!cases.is_empty(), "{} has no self-check case", op.name());
            for case in &cases {
                let outs = (case.run)(&Device::Cpu, Side::Ours).unwrap();
                assert!(!outs.is_empty(), "{}: {}", op.name(), case.name);
            }
        }
    }

    /// The harness catches what it must: an output off by more than the tolerance, a NaN,
    /// another shape, an error, a panic, a missing output; and the CPU check switches nothing off.
    #[test]
    fn the_harness_catches_every_kind_of_failure() {
        let cpu = Device::Cpu;
        let case = |run: Run| Case {
            op: Op::Conv,
            name: "test".into(),
            tol: 1e-4,
            tol_tf32: 5e-3,
            run,
        };
        fn base(d: &Device) -> Result<Tensor> {
            input(&[2, 3], 1, d).map(|v| v.as_tensor().clone())
        }
        let off_by = |eps: f64| {
            case(Box::new(move |d: &Device, side| {
                let t = base(d)?;
                let t = if side == Side::Ours { (t + eps)? } else { t };
                Ok(vec![("y", t)])
            }))
        };
        assert!(matches!(
            compare(&off_by(1e-2), &cpu, Side::Candle, 1e-4),
            Err(Failure::Differs { .. })
        ));
        assert!(compare(&off_by(1e-7), &cpu, Side::Candle, 1e-4).is_ok());
        let nan = case(Box::new(|d, side| {
            let t = base(d)?;
            Ok(vec![(
                "y",
                if side == Side::Ours {
                    (t * f64::NAN)?
                } else {
                    t
                },
            )])
        }));
        assert!(matches!(
            compare(&nan, &cpu, Side::Candle, 1.0),
            Err(Failure::Differs { .. })
        ));
        let shape = case(Box::new(|d, side| {
            let t = base(d)?;
            Ok(vec![("y", if side == Side::Ours { t.t()? } else { t })])
        }));
        assert!(matches!(
            compare(&shape, &cpu, Side::Candle, 1.0),
            Err(Failure::Shape { .. })
        ));
        let error = case(Box::new(|d, side| {
            if side == Side::Ours {
                candle_core::bail!("no kernel")
            }
            Ok(vec![("y", base(d)?)])
        }));
        let e = compare(&error, &cpu, Side::Candle, 1.0).unwrap_err();
        assert_eq!(e, Failure::Error("no kernel".into()));
        let panics = case(Box::new(|d, side| {
            assert!(side != Side::Ours, "returned_count > 0");
            Ok(vec![("y", base(d)?)])
        }));
        let e = compare(&panics, &cpu, Side::Candle, 1.0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("panicked") && e.contains("returned_count"),
            "{e}"
        );
        let fewer = case(Box::new(|d, side| {
            let t = base(d)?;
            Ok(match side {
                Side::Ours => vec![("y", t)],
                Side::Candle => vec![("y", t.clone()), ("dx", t)],
            })
        }));
        assert_eq!(
            compare(&fewer, &cpu, Side::Candle, 1.0),
            Err(Failure::Count { got: 1, want: 2 })
        );
        let msg = Failure::Differs {
            output: "dw".into(),
            err: 3.14e-2,
            tol: 1e-4,
        }
        .to_string();
        assert_eq!(
            msg,
            "its dw differs from the CPU side's by 3.14e-2 of the largest magnitude (tolerance 1e-4)"
        );
        assert!(check_device(&cpu).is_empty());
    }
}
