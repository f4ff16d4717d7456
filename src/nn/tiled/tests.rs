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
    tiled_with(p, x, ctx, opts, plan::RECOMPUTE_MACS_PER_BYTE)
}

/// `tiled` with recomputation's exchange rate (0: none but the last layer; u64::MAX: every
/// convolution stored in a file is recomputed instead).
fn tiled_with(
    p: &Program,
    x: &Tensor,
    ctx: &Ctx,
    opts: &TileOptions,
    recompute: u64,
) -> (Tensor, Report) {
    let mut seen: Vec<Progress> = vec![];
    let mut bands = vec![];
    let report = run_planned(
        p,
        x,
        ctx,
        opts,
        recompute,
        &mut |pr| seen.push(pr),
        &mut |_, t| {
            bands.push(t);
            Ok(())
        },
    )
    .unwrap();
    let y = Tensor::cat(&bands, 2).unwrap();
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
    let scale = crate::max_abs(&whole);
    // every map in a file: stored (and the residual blocks written into the maps they read),
    // recomputed where it pays, recomputed wherever possible; then the maps in memory
    let in_memory = TileOptions {
        memory_maps: None,
        ..banded(dir.path(), 5)
    };
    for (opts, recompute) in [
        (banded(dir.path(), 6), 0),
        (banded(dir.path(), 6), plan::RECOMPUTE_MACS_PER_BYTE),
        (banded(dir.path(), 7), u64::MAX),
        (in_memory, plan::RECOMPUTE_MACS_PER_BYTE),
    ] {
        let (y, report) = tiled_with(&p, &x, &Ctx::eval(), &opts, recompute);
        assert_eq!(y.dims(), [1, 3, 68, 92]);
        let d = crate::max_abs_diff(&y, &whole);
        eprintln!(
            "TransformerNet ({recompute} MAC/B, {:?} in memory): max |Δ| {d:e} of max |y| {scale}, {} bands, {} B written",
            opts.memory_maps, report.bands, report.scratch_written
        );
        // relative to the output's size: a seeded network's output is a few units (a trained
        // one's reaches 255, where 2e-4 relative is a twentieth of a level)
        assert!(d < TOL * scale, "max |Δ| {d}");
        assert!(max_level_diff(&levels(&y), &levels(&whole)) <= 1);
        assert_eq!(report.scratch_written > 0, opts.memory_maps == Some(0));
    }
}

/// The plan for a 6000×4000 photo through the full-size TransformerNet under 2 GiB: the
/// first two convolutions and the last recomputed where read (deconv2's would cost more than it
/// saves with the halo of 24-MiB bands counted), each residual block in two maps (its sum written
/// into the map of the sum before), the H/4 maps in memory, deconv1's and deconv2's in files.
#[test]
fn a_24_megapixel_transformer_net_keeps_its_residual_blocks_in_memory() {
    let net = TransformerNet::seeded(1, &Device::Cpu).unwrap();
    let p = net.program();
    let sh = shapes(&p, (3, 4000, 6000)).unwrap();
    let opts = TileOptions::new(std::env::temp_dir());
    let plan = plan::plan(&p, &sh, &opts, &Ctx::eval(), plan::RECOMPUTE_MACS_PER_BYTE);
    let kept: Vec<NodeId> = (0..p.nodes.len())
        .filter(|&i| stored(&p.nodes[i]))
        .collect();
    let names: Vec<String> = kept
        .iter()
        .map(|&i| {
            let step = plan
                .steps
                .iter()
                .find(|s| s.node == i && s.kind != plan::Kind::Output);
            let what = match step.map(|s| s.kind) {
                None => "computed where read".to_string(),
                Some(plan::Kind::Stats) => "statistics, recomputed".to_string(),
                Some(k) => format!("{k:?}, file {}", plan.in_file[i]),
            };
            format!("{i} {:?}: {what}", sh[i])
        })
        .collect();
    eprintln!("{names:#?}");
    let virt: Vec<bool> = kept.iter().map(|&i| plan.virt[i]).collect();
    // conv1, conv2, then conv3 and 5 × (conv, conv, sum), deconv1's conv, deconv2's, deconv3
    assert_eq!(virt.len(), 2 + 1 + 15 + 3);
    assert!(virt[0] && virt[1] && virt[20], "{names:#?}");
    assert!(virt[2..20].iter().all(|v| !v), "{names:#?}");
    let in_file: Vec<NodeId> = kept.iter().copied().filter(|&i| plan.in_file[i]).collect();
    assert_eq!(in_file, [kept[18], kept[19]], "{names:#?}");
    let reused = plan
        .steps
        .iter()
        .filter(|s| matches!(s.kind, plan::Kind::Reuse { .. }))
        .count();
    assert_eq!(reused, 10, "{names:#?}");
    assert!(plan.peak <= opts.budget, "peak {}", plan.peak);
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

/// The plan for a 6016×4000 photo through resnet_9blocks ngf 64 under 2 GiB: the head (a 6 GB
/// map) recomputed where read (the first downsampling and the last upsampling would pay at taller
/// bands, not with the halo of the 6–7-row bands that 24-MiB tensors leave them), each residual
/// block in two maps.
#[test]
fn a_24_megapixel_resnet_9blocks_recomputes_its_head() {
    let c = GenConfig {
        arch: "resnet_9blocks".into(),
        input_nc: 3,
        output_nc: 3,
        ngf: 64,
        norm: NormKind::Instance,
        dropout: false,
    };
    let g = Generator::seeded(&c, 1, 0.02, &Device::Cpu).unwrap();
    let p = g.program();
    let sh = shapes(&p, (3, 4000, 6016)).unwrap();
    let opts = TileOptions::new(std::env::temp_dir());
    let plan = plan::plan(&p, &sh, &opts, &Ctx::test(0), plan::RECOMPUTE_MACS_PER_BYTE);
    let kept: Vec<NodeId> = (0..p.nodes.len())
        .filter(|&i| stored(&p.nodes[i]))
        .collect();
    for &i in &kept {
        let step = plan
            .steps
            .iter()
            .find(|s| s.node == i && s.kind != plan::Kind::Output);
        eprintln!(
            "{i} {:?}: virtual {}, {:?}, file {}, rows {:?}",
            sh[i],
            plan.virt[i],
            step.map(|s| s.kind),
            plan.in_file[i],
            step.map(|s| s.rows)
        );
    }
    // the head (64 channels at full size)
    assert!(plan.virt[kept[0]]);
    let reused = plan
        .steps
        .iter()
        .filter(|s| matches!(s.kind, plan::Kind::Reuse { .. }))
        .count();
    assert_eq!(reused, 18);
    assert!(plan.peak <= opts.budget, "peak {}", plan.peak);
}

/// Grayscale networks (`input_nc` / `output_nc` 1) go through the same engine: their first and
/// last convolutions only change width.
#[test]
fn one_channel_generators_tiled_equal_untiled() {
    for (arch, norm, (input_nc, output_nc), (h, w), rows) in [
        ("resnet_2blocks", NormKind::Instance, (1, 1), (64, 76), 7),
        ("resnet_2blocks", NormKind::Instance, (1, 3), (64, 76), 5),
        ("unet_64", NormKind::Batch, (3, 1), (64, 128), 9),
    ] {
        let c = GenConfig {
            arch: arch.into(),
            input_nc,
            output_nc,
            ngf: 8,
            norm,
            dropout: false,
        };
        let g = Generator::seeded(&c, 8, 0.02, &Device::Cpu)
            .unwrap()
            .frozen()
            .unwrap();
        let x = SeededRng::new(9)
            .uniform((1, input_nc, h, w), -1.0, 1.0, &Device::Cpu)
            .unwrap();
        let p = g.program();
        let whole = g.forward(&x, &Ctx::test(0)).unwrap();
        assert_eq!(whole.dims(), [1, output_nc, h, w]);
        let dir = scratch_parent();
        let (y, report) = tiled(&p, &x, &Ctx::test(0), &banded(dir.path(), rows));
        assert!(
            report.tiled && report.bands > 1,
            "{arch} {input_nc}->{output_nc}"
        );
        let d = crate::max_abs_diff(&y, &whole);
        assert!(d < TOL, "{arch} {input_nc}->{output_nc}: max |Δ| {d}");
        assert!(max_level_diff(&gan_levels(&y), &gan_levels(&whole)) <= 1);
    }
}
