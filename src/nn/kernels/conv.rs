//! 2-D convolution and its transpose as the layers call them (PyTorch's `F.conv2d` and
//! `F.conv_transpose2d`): picks the side that computes them — Winograd F(4×4, 3×3)
//! (`winograd.rs`) or im2col + GEMM (`gemm_conv.rs`) for f32 on the CPU, candle's conv elsewhere.

use candle_core::{Result, Tensor};

/// PyTorch's `F.conv_transpose2d(x, w, stride, padding, output_padding)`: the GEMM kernel for f32
/// on the CPU, candle's elsewhere.
pub fn conv_transpose2d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    output_padding: usize,
    stride: usize,
) -> Result<Tensor> {
    if !super::cpu_f32(&[x, w]) {
        return x.conv_transpose2d(w, padding, output_padding, stride, 1);
    }
    super::gemm_conv::conv_transpose2d_gemm(x, w, padding, output_padding, stride)
}

/// PyTorch's `F.conv2d(x, w, stride=stride, padding=padding)`: for f32 on the CPU, Winograd
/// F(4×4, 3×3) for 3×3 stride-1 kernels with enough channels (`winograd::suits`), else the GEMM
/// kernel; candle's conv elsewhere.
pub fn conv2d(x: &Tensor, w: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    if !super::cpu_f32(&[x, w]) {
        return x.conv2d(w, padding, stride, 1, 1);
    }
    if super::winograd::suits(x.dims(), w.dims(), stride) {
        return x
            .contiguous()?
            .apply_op2(&w.contiguous()?, super::winograd::Forward::new(padding));
    }
    super::gemm_conv::conv2d_im2col(x, w, padding, stride)
}

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
    /// kernels wide enough for Winograd (cases g, h).
    #[test]
    fn values_and_gradients_match_pytorch() {
        assert!(super::super::winograd::suits(
            &[2, 16, 9, 11],
            &[17, 16, 3, 3],
            1
        ));
        check_fixture("conv2d", 8, |x, w, c| conv2d(x, w, c[1], c[0]).unwrap());
    }

    /// The ResNet (3×3, stride 2, output padding 1) and U-Net (4×4, stride 2) upsamplers and more.
    #[test]
    fn transposed_values_and_gradients_match_pytorch() {
        check_fixture("conv_transpose2d", 4, |x, w, c| {
            conv_transpose2d(x, w, c[1], c[2], c[0]).unwrap()
        });
    }
}
