//! Our own CPU kernels (issue 9), as candle custom ops, used only on the CPU device: on CUDA the
//! callers keep candle's own ops, so the GPU path never depends on a kernel without a GPU side.
//! Each kernel gives the same numbers as the candle ops it replaces (tested side by side).

pub mod adam;
pub mod batchnorm;
pub mod bias;
pub mod conv;
pub mod norm;
pub mod pad;

/// A pointer that rayon tasks may share, each writing elements no other task touches.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: used only where each task writes a disjoint set of elements (see the call sites).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// (a method, so closures capture the whole `Shared`, not its raw pointer field)
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}
pub mod winograd;

/// Checks every case `<prefix>.<name>` of tests/fixtures/kernels_reference.safetensors
/// (tools/fixtures_kernels.py) of a one-input op: `op(x, cfg)` against PyTorch's y, and the
/// gradient of loss = Σ y·r against its dx, both to `tol` of the largest magnitude.
#[cfg(test)]
pub(crate) fn check_unary_fixture(
    prefix: &str,
    min_cases: usize,
    tol: f32,
    op: impl Fn(&candle_core::Tensor, &[usize]) -> candle_core::Tensor,
) {
    use candle_core::{Device, Tensor, Var};
    let fx = crate::nn::weights::load_safetensors(
        crate::test_fixture("kernels_reference.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let mut cases: Vec<String> = fx
        .keys()
        .filter_map(|k| k.strip_suffix(".x").map(str::to_string))
        .filter(|k| k.starts_with(&format!("{prefix}.")))
        .collect();
    cases.sort();
    assert!(cases.len() >= min_cases, "{cases:?}");
    let max_rel = |a: &Tensor, b: &Tensor| {
        let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        let m = b.abs().unwrap().max_all().unwrap();
        d.to_scalar::<f32>().unwrap() / m.to_scalar::<f32>().unwrap().max(1e-6)
    };
    for case in cases {
        let get = |s: &str| fx[&format!("{case}.{s}")].clone();
        let cfg: Vec<usize> = get("cfg")
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|v| *v as usize)
            .collect();
        let x = Var::from_tensor(&get("x")).unwrap();
        let y = op(x.as_tensor(), &cfg);
        assert_eq!(y.dims(), get("y").dims(), "{case}");
        assert!(
            max_rel(&y, &get("y")) < tol,
            "{case}: y {}",
            max_rel(&y, &get("y"))
        );
        let grads = (&y * get("r"))
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let dx = grads.get(x.as_tensor()).unwrap();
        assert!(
            max_rel(dx, &get("dx")) < tol,
            "{case}: dx {}",
            max_rel(dx, &get("dx"))
        );
    }
}
