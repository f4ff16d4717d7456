//! Every op at the small shapes the GAN networks reach (issue 28: planes 1×1 to 9×9, odd sizes,
//! stride 2 onto odd sizes, batch 2, with and without bias, each norm), against PyTorch in float64
//! (tests/fixtures/small_ops_reference.safetensors, from tools/fixtures_small_ops.py). Each value
//! and gradient may differ from float64 by a small multiple of PyTorch's own float32 error on the
//! same case, and no more: an op whose gradient departs by more than rounding fails here.

use super::testing::{largest, max_abs};
use candle_core::{Device, Tensor, Var};
use std::collections::HashMap;

/// Ours may be this many times PyTorch's float32 error (sums in another order round differently;
/// measured: at most 1.5× on every case, where Winograd F(4×4, 3×3) was 10–16×), plus a floor of a
/// few ulps of the largest magnitude.
const TIMES_TORCH: f32 = 3.0;
const ULPS: f32 = 4.0 * f32::EPSILON;

fn fixture() -> HashMap<String, Tensor> {
    crate::nn::weights::load_safetensors(
        crate::test_fixture("small_ops_reference.safetensors"),
        &Device::Cpu,
    )
    .unwrap()
    .into_iter()
    .collect()
}

/// The op of a case, applied to its inputs (x and, where it has them, w and b).
fn apply(op: &str, cfg: &[usize], ins: &[Tensor]) -> Tensor {
    use super::*;
    let x = &ins[0];
    match op {
        "conv2d" => conv::conv2d(x, &ins[1], cfg[1], cfg[0], conv::Arith::AsPyTorch).unwrap(),
        "conv_transpose2d" => conv::conv_transpose2d(x, &ins[1], cfg[1], cfg[2], cfg[0]).unwrap(),
        "instance_norm" => norm::instance_norm(x, cfg[0] == 1).unwrap(),
        "affine_instance_norm" => norm::affine_instance_norm(x, &ins[1], &ins[2], cfg[0] == 1)
            .unwrap()
            .unwrap(),
        "batch_norm" => batchnorm::batch_norm_train(x, &ins[1], &ins[2])
            .unwrap()
            .unwrap(),
        "bias" => bias::bias_relu(x, &ins[1], cfg[0] == 1).unwrap(),
        "reflection_pad" => pad::reflect_pad(x, cfg[0]).unwrap(),
        "leaky_relu" => activation::leaky_relu(x, 0.2).unwrap(),
        "upsample" => upsample::upsample_nearest_2x(x).unwrap(),
        _ => panic!("small_ops fixture: no op {op}"),
    }
}

/// Each case's y and gradients against float64, each within `TIMES_TORCH` × PyTorch's float32
/// error + a few ulps: the arithmetic every trained network uses (`Arith::AsPyTorch`).
#[test]
fn every_op_at_small_shapes_is_as_exact_as_pytorch() {
    let fx = fixture();
    let mut cases: Vec<&str> = fx.keys().filter_map(|k| k.strip_suffix(".x")).collect();
    cases.sort();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut failures = vec![];
    for case in cases {
        let get = |s: &str| fx.get(&format!("{case}.{s}"));
        let op = case.split('.').next().unwrap();
        let cfg: Vec<usize> = get("cfg")
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|v| *v as usize)
            .collect();
        let err: Vec<f32> = get("err").unwrap().to_vec1().unwrap();
        let vars: Vec<Var> = ["x", "w", "b"]
            .iter()
            .filter_map(|n| get(n))
            .map(|t| Var::from_tensor(t).unwrap())
            .collect();
        let ins: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let y = apply(op, &cfg, &ins);
        let grads = (&y * get("r").unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let mut got = vec![("y", y.clone())];
        for (v, name) in vars.iter().zip(["dx", "dw", "db"]) {
            got.push((name, grads.get(v.as_tensor()).unwrap().clone()));
        }
        for (i, (name, ours)) in got.iter().enumerate() {
            let want = get(name).unwrap();
            assert_eq!(ours.dims(), want.dims(), "{case}: {name}");
            let scale = largest(want);
            let allowed = TIMES_TORCH * err[i] + ULPS * scale;
            let e = max_abs(ours, want);
            if e.is_nan() || e > allowed {
                failures.push(format!(
                    "{case}: {name} off by {e:.3e}, PyTorch f32 by {:.3e} (largest {scale:.3e})",
                    err[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
