//! Our own kernels (issue 9), as candle custom ops. Each op has a CPU side and, as issue 30 writes
//! them, a CUDA side; `switch::ours` decides per call which device's side runs, and elsewhere the
//! callers keep candle's own ops, so no path depends on a side that is not written or is off.
//! Each kernel gives the same numbers as the candle ops it replaces (tested side by side).

pub mod activation;
pub mod adam;
pub mod batchnorm;
pub mod bias;
pub mod conv;
pub mod cuda;
mod gemm_conv;
pub mod norm;
pub mod pad;
pub mod pool;
pub mod selfcheck;
pub mod switch;
pub mod upsample;

/// (mean, biased variance) of the `n` values of a sequence, accumulated in f64 (two passes).
fn moments<'a, I>(values: I, n: usize) -> (f64, f64)
where
    I: Iterator<Item = &'a f32> + Clone,
{
    let n = n.max(1) as f64;
    let mean = values.clone().map(|&v| v as f64).sum::<f64>() / n;
    let var = values.map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// The f32 values of a contiguous CPU tensor, or an error naming the op and the operand.
fn f32_slice<'a>(
    op: &str,
    s: &'a candle_core::CpuStorage,
    l: &candle_core::Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    let candle_core::CpuStorage::F32(v) = s else {
        candle_core::bail!("{op}: f32 {what} only")
    };
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("{op}: a contiguous {what} only")
    };
    Ok(&v[a..b])
}

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

#[cfg(test)]
mod small_shapes;

/// Helpers of the kernels' tests.
#[cfg(test)]
pub(crate) mod testing {
    use candle_core::{Device, Tensor};

    /// Seeded N(0, 1) values of the given shape.
    pub fn rand(shape: &[usize], seed: u64) -> Tensor {
        crate::rng::SeededRng::new(seed)
            .normal(shape, 0.0, 1.0, &Device::Cpu)
            .unwrap()
    }

    /// The kernels' PyTorch fixtures (tests/fixtures/kernels_reference.safetensors, from
    /// tools/fixtures_kernels.py) and the names of the cases `<prefix>.<name>` in them, sorted;
    /// at least `min_cases` of them.
    pub fn fixture_cases(
        prefix: &str,
        min_cases: usize,
    ) -> (std::collections::HashMap<String, Tensor>, Vec<String>) {
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
        (fx.into_iter().collect(), cases)
    }

    /// max |a − b|
    pub fn max_abs(a: &Tensor, b: &Tensor) -> f32 {
        let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        d.to_scalar::<f32>().unwrap()
    }

    /// max |t|
    pub fn largest(t: &Tensor) -> f32 {
        t.abs().unwrap().max_all().unwrap().to_scalar().unwrap()
    }

    /// max |a − b| / max |b|
    pub fn max_rel(a: &Tensor, b: &Tensor) -> f32 {
        max_abs(a, b) / largest(b).max(1e-6)
    }

    /// Checks every case `<prefix>.<name>` of tests/fixtures/kernels_reference.safetensors
    /// (tools/fixtures_kernels.py) of a one-input op: `op(x, cfg)` against PyTorch's y, and the
    /// gradient of loss = Σ y·r against its dx, both to `tol` of the largest magnitude.
    pub fn check_unary_fixture(
        prefix: &str,
        min_cases: usize,
        tol: f32,
        op: impl Fn(&candle_core::Tensor, &[usize]) -> candle_core::Tensor,
    ) {
        use candle_core::Var;
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

    /// Checks every case `<prefix>.<name>` of an op of (x, w, b): y against PyTorch's, and the
    /// gradients named in `grads` (of "dx", "dw", "db") of loss = Σ y·r, to `tol` of the largest
    /// magnitude.
    pub fn check_affine_fixture(
        prefix: &str,
        min_cases: usize,
        tol: f32,
        grads: &[&str],
        op: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor,
    ) {
        use candle_core::Var;
        let (fx, cases) = fixture_cases(prefix, min_cases);
        for case in cases {
            let get = |s: &str| fx[&format!("{case}.{s}")].clone();
            let vars: Vec<Var> = ["x", "w", "b"]
                .iter()
                .map(|n| Var::from_tensor(&get(n)).unwrap())
                .collect();
            let y = op(
                vars[0].as_tensor(),
                vars[1].as_tensor(),
                vars[2].as_tensor(),
            );
            assert_eq!(y.dims(), get("y").dims(), "{case}");
            assert!(
                max_rel(&y, &get("y")) < tol,
                "{case}: y {}",
                max_rel(&y, &get("y"))
            );
            let g = (&y * get("r"))
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for (v, name) in vars.iter().zip(["dx", "dw", "db"]) {
                if grads.contains(&name) {
                    let got = g.get(v.as_tensor()).unwrap();
                    let e = max_rel(got, &get(name));
                    assert!(e < tol, "{case}: {name} {e}");
                }
            }
        }
    }
}
