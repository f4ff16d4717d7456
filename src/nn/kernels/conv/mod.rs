//! 2-D convolution and its transpose as the layers call them (PyTorch's `F.conv2d` and
//! `F.conv_transpose2d`): picks the side that computes them — Winograd F(4×4, 3×3)
//! (`winograd.rs`) or im2col + GEMM (`gemm_conv.rs`) for f32 on the CPU; cuDNN (`cuda.rs`, the
//! CUDA side of `gemm_conv.rs`'s ops, with the `cudnn` feature) for f32 on a CUDA device whose
//! `conv` side is on (`switch`); candle's conv elsewhere (a `cuda` build without `cudnn`, other
//! dtypes, the side switched off).
//!
//! Winograd only where the caller allows it (`Arith::Fast`: networks built for inference —
//! translation, stylisation, samples — and style transfer's VGG, which optimises an image and
//! follows no reference trajectory). Its transforms scale by up to 8 and 1/24, so its values and
//! input gradients are 10–16× further from the exact ones than PyTorch's float32 convolution
//! (tests/fixtures/small_ops_reference, `small_shapes.rs`). In training that was enough to move
//! weights the other way from the reference's (issue 28): the extra rounding tips ReLU/LeakyReLU
//! gates and L1 signs that PyTorch's rounding leaves alone, and at 64 px, where a map holds few
//! positions, one tipped gate moves a weight's gradient by percents. The GEMM side rounds as
//! PyTorch's does (within 1.5× on every case).

#[cfg(feature = "cudnn")]
pub(super) mod cuda;
pub mod problem;

use candle_core::{Result, Tensor};
use std::sync::atomic::{AtomicBool, Ordering};

/// `[train] tf32` as the convolutions' CUDA side reads it (on by default, as PyTorch's
/// `torch.backends.cudnn.allow_tf32`).
static TF32: AtomicBool = AtomicBool::new(true);

/// Whether cuDNN may compute f32 convolutions with TensorFloat-32 (`[train] tf32`): on, each
/// convolution descriptor keeps `CUDNN_DEFAULT_MATH` (TF32 where the GPU has it); off, it gets
/// `CUDNN_FMA_MATH` (full f32), as PyTorch sets when `allow_tf32` is False
/// (aten/src/ATen/native/cudnn/Conv_v7.cpp). Set per process before the first step
/// (`device::set_tf32`); the cuDNN plans are kept per math type, so a change applies to the
/// next call. Nothing on the CPU.
pub fn set_tf32(on: bool) {
    TF32.store(on, Ordering::Relaxed);
}

/// The math the convolutions' CUDA side uses now: true = TF32 allowed (see `set_tf32`).
pub fn tf32() -> bool {
    TF32.load(Ordering::Relaxed)
}

/// How a convolution may round on the CPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arith {
    /// As PyTorch's float32 convolution does (GEMM): every network that trains against a
    /// reference.
    #[default]
    AsPyTorch,
    /// Winograd F(4×4, 3×3) where it suits: ~1e-5 relative, 10–16× PyTorch's rounding.
    Fast,
}

/// PyTorch's `F.conv_transpose2d(x, w, stride, padding, output_padding)` with x (N, Cin, H, W) and
/// w (Cin, Cout, kh, kw): the GEMM kernel for f32 on the CPU, cuDNN's backward-data on CUDA (with
/// `cudnn`, the side on), candle's elsewhere. Errors: shapes that do not fit (`problem.rs`).
pub fn conv_transpose2d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    output_padding: usize,
    stride: usize,
) -> Result<Tensor> {
    #[cfg(test)]
    if let Some(y) = shapes::record(true, x, w, stride, padding, output_padding)? {
        return Ok(y);
    }
    if !super::switch::ours(super::switch::Op::Conv, &[x, w]) {
        return x.conv_transpose2d(w, padding, output_padding, stride, 1);
    }
    super::gemm_conv::conv_transpose2d_gemm(x, w, padding, output_padding, stride)
}

/// PyTorch's `F.conv2d(x, w, stride=stride, padding=padding)` with x (N, C, H, W) and w (K, C, kh,
/// kw): for f32 on the CPU, with `Arith::Fast` Winograd F(4×4, 3×3) for 3×3 stride-1 kernels with
/// enough channels (`winograd::suits`), else the GEMM kernel; on CUDA (with `cudnn`, the side on)
/// cuDNN whatever `arith` says; candle's conv elsewhere.
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    arith: Arith,
) -> Result<Tensor> {
    #[cfg(test)]
    if let Some(y) = shapes::record(false, x, w, stride, padding, 0)? {
        return Ok(y);
    }
    if !super::switch::ours(super::switch::Op::Conv, &[x, w]) {
        return x.conv2d(w, padding, stride, 1, 1);
    }
    let cpu = x.device().is_cpu();
    if cpu && arith == Arith::Fast && super::winograd::suits(x.dims(), w.dims(), stride) {
        return x
            .contiguous()?
            .apply_op2(&w.contiguous()?, super::winograd::Forward::new(padding));
    }
    super::gemm_conv::conv2d_im2col(x, w, padding, stride)
}

#[cfg(test)]
pub(crate) mod shapes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::testing::{fixture_cases, max_rel};
    use candle_core::Var;

    /// Every case `<prefix>.<name>` of tests/fixtures/kernels_reference.safetensors
    /// (tools/fixtures_kernels.py): `op(x, w, cfg)` against PyTorch's y, and both gradients of
    /// loss = Σ y·r against its dx and dw.
    fn check_fixture(
        prefix: &str,
        min_cases: usize,
        op: impl Fn(&Tensor, &Tensor, &[usize]) -> Tensor,
    ) {
        let (fx, cases) = fixture_cases(prefix, min_cases);
        for case in cases {
            let get = |s: &str| fx[&format!("{case}.{s}")].clone();
            let cfg: Vec<usize> = get("cfg")
                .to_vec1::<f32>()
                .unwrap()
                .iter()
                .map(|v| *v as usize)
                .collect();
            let x = Var::from_tensor(&get("x")).unwrap();
            let w = Var::from_tensor(&get("w")).unwrap();
            let y = op(x.as_tensor(), w.as_tensor(), &cfg);
            assert_eq!(y.dims(), get("y").dims(), "{case}");
            assert!(max_rel(&y, &get("y")) < 1e-5, "{case}: y");
            let loss = (&y * get("r")).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            for (v, name) in [(&x, "dx"), (&w, "dw")] {
                let (got, want) = (grads.get(v.as_tensor()).unwrap(), get(name));
                assert!(
                    max_rel(got, &want) < 1e-5,
                    "{case}: {name} {}",
                    max_rel(got, &want)
                );
            }
        }
    }

    /// Odd sizes, stride 2, padding, batch > 1, 1×1, 4×4 and 7×7 kernels, and 3×3 stride-1
    /// kernels wide enough for Winograd (cases g, h; with gradients recorded they take GEMM).
    #[test]
    fn values_and_gradients_match_pytorch() {
        assert!(super::super::winograd::suits(
            &[2, 16, 9, 11],
            &[17, 16, 3, 3],
            1
        ));
        for arith in [Arith::AsPyTorch, Arith::Fast] {
            check_fixture("conv2d", 8, |x, w, c| {
                conv2d(x, w, c[1], c[0], arith).unwrap()
            });
        }
    }

    /// Winograd takes a 3×3 convolution only where `Arith::Fast` allows it, gradients recorded
    /// or not.
    #[test]
    fn winograd_only_where_the_caller_allows_it() {
        use crate::nn::kernels::testing::rand;
        let (x, w) = (rand(&[1, 16, 9, 11], 1), rand(&[24, 16, 3, 3], 2));
        let wino = x
            .apply_op2(&w, super::super::winograd::Forward::new(1))
            .unwrap();
        let gemm = super::super::gemm_conv::conv2d_im2col(&x, &w, 1, 1).unwrap();
        assert!(
            crate::max_abs_diff(&wino, &gemm) > 0.0,
            "the two sides round alike"
        );
        let xv = Var::from_tensor(&x).unwrap();
        for x in [&x, xv.as_tensor()] {
            let fast = conv2d(x, &w, 1, 1, Arith::Fast).unwrap();
            assert_eq!(crate::max_abs_diff(&fast, &wino), 0.0);
            let exact = conv2d(x, &w, 1, 1, Arith::AsPyTorch).unwrap();
            assert_eq!(crate::max_abs_diff(&exact, &gemm), 0.0);
        }
    }

    /// The ResNet (3×3, stride 2, output padding 1) and U-Net (4×4, stride 2) upsamplers and more.
    #[test]
    fn transposed_values_and_gradients_match_pytorch() {
        check_fixture("conv_transpose2d", 4, |x, w, c| {
            conv_transpose2d(x, w, c[1], c[2], c[0]).unwrap()
        });
    }
}
