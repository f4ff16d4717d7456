//! The convolutions' self-check cases: every kind of convolution the networks make, small —
//! stride 1 and 2, padding and none, 1×1, 3×3, 4×4, 7×7 and 9×9 kernels, fewer and more output
//! than input channels, batch 1 and 2, odd sizes, and the transposed convolutions of the ResNet
//! and U-Net upsamplers — each with its values and both gradients (loss = Σ y·r).
//!
//! Tolerances (max|a − b| / max|b|): 1e-4 in full f32 (two f32 summation orders differ by a few
//! 1e-7 of the largest magnitude at these sizes; 1e-4 is the bound the issue sets for cuDNN's
//! FMA math); 5e-3 with TF32, whose inputs keep 10 mantissa bits (2⁻¹¹ ≈ 4.9e-4 relative per
//! product).

use super::{gradients, input, Case, Outputs, Side};
use crate::nn::kernels::conv::{self, Arith};
use crate::nn::kernels::switch::Op;
use candle_core::{Device, Result};

const TOL: f32 = 1e-4;
const TOL_TF32: f32 = 5e-3;

/// (name, x, w, stride, padding, output padding, transposed)
type Spec = (
    &'static str,
    [usize; 4],
    [usize; 4],
    usize,
    usize,
    usize,
    bool,
);

const SPECS: [Spec; 10] = [
    (
        "3×3, padding 1, batch 2, odd sizes",
        [2, 5, 9, 7],
        [6, 5, 3, 3],
        1,
        1,
        0,
        false,
    ),
    (
        "3×3, stride 2, padding 1",
        [1, 4, 9, 9],
        [8, 4, 3, 3],
        2,
        1,
        0,
        false,
    ),
    ("1×1", [2, 8, 5, 6], [3, 8, 1, 1], 1, 0, 0, false),
    (
        "4×4, stride 2, padding 1 (PatchGAN, U-Net)",
        [1, 3, 8, 10],
        [5, 3, 4, 4],
        2,
        1,
        0,
        false,
    ),
    (
        "4×4, padding 1, one output channel (PatchGAN's last)",
        [1, 6, 7, 7],
        [1, 6, 4, 4],
        1,
        1,
        0,
        false,
    ),
    (
        "7×7, no padding, fewer outputs than inputs (ResNet's last)",
        [1, 8, 13, 12],
        [3, 8, 7, 7],
        1,
        0,
        0,
        false,
    ),
    (
        "7×7, padding 3",
        [1, 3, 11, 10],
        [4, 3, 7, 7],
        1,
        3,
        0,
        false,
    ),
    (
        "9×9, padding 4 (TransformerNet)",
        [1, 3, 12, 12],
        [4, 3, 9, 9],
        1,
        4,
        0,
        false,
    ),
    (
        "transposed 3×3, stride 2, padding 1, output padding 1 (ResNet)",
        [1, 6, 5, 4],
        [6, 4, 3, 3],
        2,
        1,
        1,
        true,
    ),
    (
        "transposed 4×4, stride 2, padding 1, batch 2 (U-Net)",
        [2, 5, 3, 4],
        [5, 3, 4, 4],
        2,
        1,
        0,
        true,
    ),
];

/// y, dx and dw of one spec on `device` by `side`.
fn run(spec: Spec, device: &Device, side: Side) -> Result<Outputs> {
    let (_, xd, wd, stride, pad, out_pad, transposed) = spec;
    let (x, w) = (input(&xd, 1, device)?, input(&wd, 2, device)?);
    let (xt, wt) = (x.as_tensor(), w.as_tensor());
    let y = match (side, transposed) {
        (Side::Ours, false) => conv::conv2d(xt, wt, pad, stride, Arith::AsPyTorch)?,
        (Side::Ours, true) => conv::conv_transpose2d(xt, wt, pad, out_pad, stride)?,
        (Side::Candle, false) => xt.conv2d(wt, pad, stride, 1, 1)?,
        (Side::Candle, true) => xt.conv_transpose2d(wt, pad, out_pad, stride, 1)?,
    };
    let mut out = vec![("y", y.clone())];
    out.extend(gradients(&y, 3, &[("dx", &x), ("dw", &w)])?);
    Ok(out)
}

pub(super) fn cases() -> Vec<Case> {
    SPECS
        .into_iter()
        .map(|spec| Case {
            op: Op::Conv,
            name: spec.0.into(),
            tol: TOL,
            tol_tf32: TOL_TF32,
            run: Box::new(move |d, side| run(spec, d, side)),
        })
        .collect()
}
