//! Tiled equals untiled: each network with bands that do not divide its activations, scratch
//! maps in files, the same dropout masks; the budget bounds the engine's peak.

use super::*;
use crate::nn::gan::{GenConfig, Generator};
use crate::nn::layers::NormKind;
use crate::nn::transformer_net::{TransformerNet, TransformerNetConfig};
use crate::rng::SeededRng;

fn generator(arch: &str, norm: NormKind, dropout: bool, seed: u64) -> Generator {
    let c = GenConfig {
        arch: arch.into(),
        input_nc: 3,
        output_nc: 3,
        ngf: 8,
        norm,
        dropout,
    };
    // frozen, as `translate` builds it (Winograd where it suits)
    Generator::seeded(&c, seed, 0.02, &Device::Cpu)
        .unwrap()
        .frozen()
        .unwrap()
}

fn image(h: usize, w: usize, lo: f32, hi: f32, seed: u64) -> Tensor {
    SeededRng::new(seed)
        .uniform((1, 3, h, w), lo, hi, &Device::Cpu)
        .unwrap()
}

/// A scratch parent of this test's own, removed at the end.
fn scratch_parent() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("aiart-tiled-test-")
        .tempdir()
        .unwrap()
}

fn banded(dir: &std::path::Path, rows: usize) -> TileOptions {
    TileOptions {
        band_rows: Some(rows),
        memory_maps: Some(0),
        ..TileOptions::new(dir)
    }
}

/// Runs tiled with progress checked: it starts at 0, rises by one, ends at the total.
fn tiled(p: &Program, x: &Tensor, ctx: &Ctx, opts: &TileOptions) -> (Tensor, Report) {
    let mut seen: Vec<Progress> = vec![];
    let (y, report) = run(p, x, ctx, opts, &mut |pr| seen.push(pr)).unwrap();
    let total = seen[0].total;
    assert_eq!(total, report.bands);
    for (i, pr) in seen.iter().enumerate() {
        assert_eq!(*pr, Progress { done: i, total });
    }
    // the scratch folder is gone
    let left: Vec<_> = std::fs::read_dir(&opts.scratch_dir).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
    (y, report)
}

/// Levels of 255 of a GAN output in [-1, 1], as `translate` writes them.
fn gan_levels(y: &Tensor) -> Vec<u8> {
    crate::data::transform::to_image(y).unwrap().into_raw()
}

fn max_level_diff(a: &[u8], b: &[u8]) -> u8 {
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap()
}

/// The float tolerance: each band computes the same sums as the whole image, but Winograd's
/// 4×4 output tiles start at the band's first row rather than the image's, and the statistics are
/// summed in another order (f64 here, per plane in the fused kernels): ~1e-5 relative rounding
/// (kernels::conv), carried through up to 23 layers. A tenth of a level of 255.
const TOL: f32 = 2e-4;

#[test]
fn resnet_9blocks_instance_tiled_equals_untiled() {
    let g = generator("resnet_9blocks", NormKind::Instance, false, 1);
    let x = image(76, 100, -1.0, 1.0, 2);
    let p = g.program();
    let whole = g.forward(&x, &Ctx::test(0)).unwrap();
    let dir = scratch_parent();
    // 7 rows: no layer's height (76, 38, 19) is a multiple
    let (y, report) = tiled(&p, &x, &Ctx::test(0), &banded(dir.path(), 7));
    assert!(report.tiled && report.scratch_written > 0);
    assert_eq!(y.dims(), whole.dims());
    let d = crate::max_abs_diff(&y, &whole);
    eprintln!("resnet_9blocks: max |Δ| {d:e}, {} bands", report.bands);
    assert!(d < TOL, "max |Δ| {d}");
    assert!(max_level_diff(&gan_levels(&y), &gan_levels(&whole)) <= 1);
}

#[test]
fn unet_256_batch_norm_with_dropout_tiled_equals_untiled() {
    let g = generator("unet_256", NormKind::Batch, true, 3);
    let x = image(256, 512, -1.0, 1.0, 4);
    let p = g.program();
    // the reference's test: the image's own statistics, dropout on, masks from the seed
    let whole = g.forward(&x, &Ctx::test(5)).unwrap();
    let dir = scratch_parent();
    let (y, report) = tiled(&p, &x, &Ctx::test(5), &banded(dir.path(), 5));
    assert!(report.tiled);
    let d = crate::max_abs_diff(&y, &whole);
    eprintln!("unet_256: max |Δ| {d:e}, {} bands", report.bands);
    assert!(d < TOL, "max |Δ| {d}");
    assert!(max_level_diff(&gan_levels(&y), &gan_levels(&whole)) <= 1);
    // the masks matter: another seed gives another image
    let other = g.forward(&x, &Ctx::test(6)).unwrap();
    assert!(crate::max_abs_diff(&other, &whole) > 100.0 * TOL);
    // and under --eval (running statistics, no dropout) as well
    let whole = g.forward(&x, &Ctx::eval()).unwrap();
    let (y, _) = tiled(&p, &x, &Ctx::eval(), &banded(dir.path(), 11));
    assert!(crate::max_abs_diff(&y, &whole) < TOL);
}

#[test]
fn transformer_net_tiled_equals_untiled() {
    let cfg = TransformerNetConfig {
        channels: [8, 16, 32],
        residual_blocks: 3,
    };
    let net = TransformerNet::seeded_with(&cfg, 7, &Device::Cpu).unwrap();
    let net = TransformerNet::for_inference(net.state_dict(), "seeded", &Device::Cpu).unwrap();
    // sides not multiples of 4: the output is 92×68, as the reference rounds
    let x = image(67, 90, 0.0, 255.0, 8);
    let p = net.program();
    let whole = net.forward(&x).unwrap();
    let dir = scratch_parent();
    let (y, report) = tiled(&p, &x, &Ctx::eval(), &banded(dir.path(), 6));
    assert_eq!(y.dims(), [1, 3, 68, 92]);
    let d = crate::max_abs_diff(&y, &whole);
    let scale = crate::max_abs(&whole);
    eprintln!(
        "TransformerNet: max |Δ| {d:e} of max |y| {scale}, {} bands",
        report.bands
    );
    // relative to the output's size: a seeded network's output is a few units (a trained one's
    // reaches 255, where 2e-4 relative is a twentieth of a level)
    assert!(d < TOL * scale, "max |Δ| {d}");
    let levels = |t: &Tensor| -> Vec<u8> {
        t.clamp(0f32, 255f32)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .into_iter()
            .map(|v| v as u8)
            .collect()
    };
    assert!(max_level_diff(&levels(&y), &levels(&whole)) <= 1);
}

/// A budget below the untiled estimate: bands sized by it, the engine's peak within it, the
/// result the untiled one; and a budget above it runs the network's own forward.
#[test]
fn the_budget_bounds_the_peak() {
    let g = generator("resnet_6blocks", NormKind::Instance, false, 9);
    let x = image(256, 192, -1.0, 1.0, 10);
    let p = g.program();
    let untiled = untiled_bytes(&p, x.dims()).unwrap();
    let dir = scratch_parent();
    let budget = untiled / 4;
    let opts = TileOptions {
        budget,
        ..TileOptions::new(dir.path())
    };
    let (y, report) = tiled(&p, &x, &Ctx::test(0), &opts);
    assert!(report.tiled);
    assert!(
        report.peak_bytes <= budget,
        "peak {} > budget {budget}",
        report.peak_bytes
    );
    assert!(report.bands > 10, "{report:?}");
    let whole = g.forward(&x, &Ctx::test(0)).unwrap();
    assert!(crate::max_abs_diff(&y, &whole) < TOL);
    let opts = TileOptions {
        budget: untiled,
        ..TileOptions::new(dir.path())
    };
    let (y, report) = run(&p, &x, &Ctx::test(0), &opts, &mut |_| {}).unwrap();
    assert!(!report.tiled && report.bands == 1);
    assert_eq!(crate::max_abs_diff(&y, &whole), 0.0);
}

#[test]
fn errors_name_the_scratch_folder_and_the_layer() {
    let g = generator("resnet_6blocks", NormKind::Instance, false, 1);
    let p = g.program();
    let x = image(16, 16, -1.0, 1.0, 2);
    let missing = std::env::temp_dir().join(format!("aiart-no-such-dir-{}", std::process::id()));
    let e = run(&p, &x, &Ctx::test(0), &banded(&missing, 4), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains(&missing.display().to_string()), "{e}");
    // 4 px: the blocks' reflection padding (at 1 px) cannot mirror
    let x = image(4, 16, -1.0, 1.0, 2);
    let dir = scratch_parent();
    let e = run(&p, &x, &Ctx::test(0), &banded(dir.path(), 4), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("reflection padding"), "{e}");
}
