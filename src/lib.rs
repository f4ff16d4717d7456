//! aiart: a terminal workbench for making art with neural networks.
//!
//! Data flows one way: preset -> trainer -> run directory -> (dashboard); see docs/ARCHITECTURE.md.

pub mod atomic;
pub mod bench;
pub mod data;
pub mod device;
pub mod human;
pub mod infer;
pub mod launch;
pub mod nn;
pub mod nst;
pub mod preset;
pub mod report;
pub mod rng;
pub mod run;
pub mod train;
pub mod tui;
pub mod workspace;

/// Path of a test fixture shipped in `tests/fixtures/`.
#[doc(hidden)]
pub fn test_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// max |a − b| over all elements (tests).
#[doc(hidden)]
pub fn max_abs_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>())
        .expect("same shapes")
}

/// max |a| (tests).
#[doc(hidden)]
pub fn max_abs(a: &candle_core::Tensor) -> f32 {
    a.abs()
        .and_then(|d| d.flatten_all()?.max(0)?.to_scalar::<f32>())
        .expect("a tensor")
}
