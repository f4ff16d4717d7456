//! The first update of CycleGAN and pix2pix against the reference's (issue 28), at 64 and 128 px,
//! weight by weight, and 20 CycleGAN steps at 64 px against its losses
//! (tests/fixtures/first_update_reference.safetensors, from tools/fixtures_first_update.py); and
//! the colorization model's (pix2pix from L to ab) first two steps on a shipped photo
//! (tests/fixtures/colorization_first_update.safetensors, from tools/fixtures_colorization.py).
//!
//! Adam's first step moves a weight by lr·g/(|g| + ε), ±lr for any gradient above ε, so a weight
//! that steps otherwise than the float64 reference's had a gradient of the wrong sign. PyTorch's
//! own float32 step does that to a few weights (a ReLU gate or an L1 sign tipped by rounding:
//! `off32`); ours may do it to no more than twice as many, plus one in 20,000.

use super::cyclegan::{CycleGan, Lambdas};
use super::pix2pix::Pix2Pix;
use crate::nn::gan::{DiscArch, DiscConfig, Discriminator, GenConfig, Generator};
use crate::nn::layers::NormKind;
use crate::nn::weights::{load_safetensors, StateDict};
use crate::preset::gan::GanMode;
use crate::train::optim::AdamConfig;
use candle_core::{DType, Device, Tensor};

const LR: f64 = 0.0002;

fn fixture() -> StateDict {
    load_fixture(
        std::env::var("AIART_FIRST_UPDATE_FIXTURE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| crate::test_fixture("first_update_reference.safetensors")),
    )
}

/// A fixture with its f16 tensors widened to f32.
fn load_fixture(path: std::path::PathBuf) -> StateDict {
    load_safetensors(path, &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            let v = match v.dtype() {
                DType::F16 => v.to_dtype(DType::F32).unwrap(),
                _ => v,
            };
            (k, v)
        })
        .collect()
}

fn sub(fx: &StateDict, prefix: &str) -> StateDict {
    crate::nn::gan::tests::sub(fx, prefix)
}

fn adam() -> AdamConfig {
    AdamConfig {
        lr: LR,
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
    }
}

fn gen(arch: &str, ngf: usize, norm: NormKind) -> GenConfig {
    crate::nn::gan::tests::gen(arch, ngf, norm, false)
}

fn basic_d(input_nc: usize, norm: NormKind) -> DiscConfig {
    DiscConfig {
        arch: DiscArch::Basic,
        input_nc,
        ndf: 4,
        n_layers: 3,
        norm,
    }
}

/// Over every weight and bias of the networks with a reference gradient |g| >= 1e-6 (above
/// float noise: a bias before a norm has a true gradient of 0): ([stepped more than 1e-6 from the
/// reference's step lr·g/(|g| + ε), of them], [the same among weights whose |g| is at least a
/// quarter of their tensor's median]).
fn off_steps(
    fx: &StateDict,
    prefix: &str,
    nets: &[(&str, &StateDict, StateDict)],
) -> ([usize; 2], [usize; 2]) {
    let (mut all, mut strong) = ([0, 0], [0, 0]);
    for (name, before, after) in nets {
        for (key, w1) in after {
            let Some(g) = fx.get(&format!("{prefix}.grad.{name}.{key}")) else {
                continue;
            };
            let scale = fx[&format!("{prefix}.gscale.{name}.{key}")]
                .to_vec1::<f32>()
                .unwrap()[0];
            let g: Vec<f32> = (g * scale as f64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let step: Vec<f32> = ((w1 - &before[key]).unwrap() / LR)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let mut mags: Vec<f32> = g.iter().map(|v| v.abs()).collect();
            mags.sort_by(f32::total_cmp);
            let median = mags[mags.len() / 2];
            for (s, g) in step.iter().zip(&g) {
                if g.abs() < 1e-6 {
                    continue;
                }
                let want = *g as f64 / (g.abs() as f64 + 1e-8);
                let off = ((*s as f64 - want).abs() * LR > 1e-6) as usize;
                all[0] += off;
                all[1] += 1;
                if g.abs() >= 0.25 * median {
                    strong[0] += off;
                    strong[1] += 1;
                }
            }
        }
    }
    (all, strong)
}

/// No weight with a gradient over a quarter of its tensor's median steps otherwise than the
/// reference's (a tipped gate moves a gradient by a few percent of the median, so only a wrong
/// gradient does that; one in 100,000 spared), and of all the others no more than twice as many as
/// PyTorch's own float32 step, plus 0.2% (the tipped gates of another rounding: measured 0.1% at
/// ngf 8, 128 px, where PyTorch's run had 1).
fn assert_first_update(fx: &StateDict, prefix: &str, nets: &[(&str, &StateDict, StateDict)]) {
    let ([off, counted], [off_strong, strong]) = off_steps(fx, prefix, nets);
    let off32: Vec<f32> = fx[&format!("{prefix}.off32")].to_vec1().unwrap();
    assert!(
        counted > 20_000 && strong > counted / 2,
        "{prefix}: {counted} weights, {strong} strong"
    );
    assert!(
        off_strong <= strong / 100_000,
        "{prefix}: {off_strong} of {strong} weights with a gradient over a quarter of their \
         tensor's median stepped more than 1e-6 from the reference's (PyTorch's float32: {})",
        off32[1]
    );
    let allowed = 2 * off32[0] as usize + counted / 500;
    assert!(
        off <= allowed,
        "{prefix}: {off} of {counted} weights stepped more than 1e-6 from the reference's \
         (PyTorch's float32 step: {}; allowed {allowed})",
        off32[0]
    );
}

fn state(fx: &StateDict, prefix: &str) -> StateDict {
    sub(fx, prefix)
}

fn cyclegan(fx: &StateDict) -> CycleGan {
    let dev = Device::Cpu;
    let cfg: Vec<f32> = fx["cyc.cfg"].to_vec1().unwrap();
    let gc = gen("resnet_6blocks", cfg[0] as usize, NormKind::Instance);
    let dc = DiscConfig {
        ndf: cfg[1] as usize,
        ..basic_d(3, NormKind::Instance)
    };
    let g = |n: &str| {
        Generator::from_state_dict(&gc, state(fx, &format!("cyc.init.{n}")), "fx", &dev).unwrap()
    };
    let d = |n: &str| {
        Discriminator::from_state_dict(&dc, state(fx, &format!("cyc.init.{n}")), "fx", &dev)
            .unwrap()
    };
    let lambdas = Lambdas {
        a: 10.0,
        b: 7.0,
        identity: 0.5,
    };
    CycleGan::new(
        g("G_A"),
        g("G_B"),
        d("D_A"),
        d("D_B"),
        adam(),
        GanMode::Lsgan,
        lambdas,
        50,
        0,
    )
    .unwrap()
}

fn images(fx: &StateDict, size: usize) -> (Tensor, Tensor) {
    (
        fx[&format!("cyc.s{size}.A")].clone(),
        fx[&format!("cyc.s{size}.B")].clone(),
    )
}

#[test]
fn cyclegan_first_update_equals_the_reference_at_64_and_128_px() {
    let fx = fixture();
    for size in [64, 128] {
        let mut m = cyclegan(&fx);
        let (a, b) = images(&fx, size);
        m.step(&a, &b).unwrap();
        let init = |n: &str| state(&fx, &format!("cyc.init.{n}"));
        let (ga, gb, da, db) = (init("G_A"), init("G_B"), init("D_A"), init("D_B"));
        assert_first_update(
            &fx,
            &format!("cyc.s{size}"),
            &[
                ("G_A", &ga, m.g_a.params.state_dict()),
                ("G_B", &gb, m.g_b.params.state_dict()),
                ("D_A", &da, m.d_a.params.state_dict()),
                ("D_B", &db, m.d_b.params.state_dict()),
            ],
        );
    }
}

/// The reference's own float32 runs (its code on 2 and on 1 thread: the same sums in another
/// order) and float64 run, as (|float32 − float64| per step and loss, float64 losses).
fn reference_losses(fx: &StateDict, prefix: &str) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let l32: Vec<Vec<Vec<f32>>> = fx[&format!("{prefix}.losses32")].to_vec3().unwrap();
    let l64: Vec<Vec<f32>> = fx[&format!("{prefix}.losses64")].to_vec2().unwrap();
    let spread = (0..l64.len())
        .map(|s| {
            (0..l64[s].len())
                .map(|i| {
                    l32.iter()
                        .map(|run| (run[s][i] - l64[s][i]).abs())
                        .fold(0f32, f32::max)
                })
                .collect()
        })
        .collect();
    (spread, l64)
}

/// Whether every loss of a step is within ten times the reference's float32 spread `spread`
/// of its float64 value (a floor of one f32 ulp of the loss).
fn within(got: &[(String, f64)], want: &[f32], spread: f32) -> Result<(), String> {
    for ((name, g), w) in got.iter().zip(want) {
        let d = (*g as f32 - w).abs();
        let allowed = 10.0 * spread.max(f32::EPSILON * w.abs());
        if d > allowed {
            return Err(format!(
                "{name} = {g}, the reference's {w}: {d:.3e} apart, allowed {allowed:.3e}"
            ));
        }
    }
    Ok(())
}

/// 20 steps at 64 px. Steps 1 and 2 (the losses before and after the first update) within ten
/// times the reference's own float32 spread at that step. From step 3 the trajectories of every
/// float32 implementation leave float64's one by one tipped gate or another (measured: the
/// reference's own 1-thread run leaves at step 4, its 2-thread run at step 6, ours at step 3):
/// then ours may go no further from float64 than ten times the furthest any of the reference's
/// float32 runs goes in the 20 steps.
#[test]
fn cyclegan_20_steps_at_64_px_stay_within_the_reference_float_spread() {
    let fx = fixture();
    let mut m = cyclegan(&fx);
    let (a, b) = images(&fx, 64);
    let (spread, l64) = reference_losses(&fx, "cyc.s64");
    assert_eq!(l64.len(), 20);
    let furthest = spread.iter().flatten().fold(0f32, |x, y| x.max(*y));
    for (step, want) in l64.iter().enumerate() {
        let got = m.step(&a, &b).unwrap();
        let allowed = if step < 2 {
            spread[step].iter().fold(0f32, |x, y| x.max(*y))
        } else {
            furthest
        };
        if let Err(e) = within(&got, want, allowed) {
            panic!("step {}: {e}", step + 1);
        }
    }
}

#[test]
fn pix2pix_first_update_equals_the_reference_at_64_and_128_px() {
    let fx = fixture();
    let dev = Device::Cpu;
    for size in [64usize, 128] {
        let p = format!("p2p.s{size}");
        let (g0, d0) = (
            state(&fx, &format!("{p}.init.G")),
            state(&fx, &format!("{p}.init.D")),
        );
        let g = Generator::from_state_dict(
            &gen(&format!("unet_{size}"), 2, NormKind::Batch),
            g0.clone(),
            "fx",
            &dev,
        )
        .unwrap();
        let d =
            Discriminator::from_state_dict(&basic_d(6, NormKind::Batch), d0.clone(), "fx", &dev)
                .unwrap();
        let mut m = Pix2Pix::new(g, d, adam(), GanMode::Vanilla, 100.0, 0).unwrap();
        m.ctx.dropout = false;
        let (a, b) = images(&fx, size);
        let (spread, l64) = reference_losses(&fx, &p);
        for step in 0..2 {
            let got = m.step(&a, &b).unwrap();
            if step == 0 {
                assert_first_update(
                    &fx,
                    &p,
                    &[
                        ("G", &g0, m.g.params.state_dict()),
                        ("D", &d0, m.d.params.state_dict()),
                    ],
                );
            }
            let allowed = spread[step].iter().fold(0f32, |x, y| x.max(*y));
            if let Err(e) = within(&got, &l64[step], allowed) {
                panic!("{size} px step {}: {e}", step + 1);
            }
        }
    }
}

/// The reference's colorization model (a Pix2PixModel with input_nc 1, output_nc 2) on its
/// dataset's L and ab of a shipped photo: the networks built as a colorization preset builds them
/// (`gen_config` / `disc_config`: G from 1 channel to 2, D on 1 + 2), the first update weight by
/// weight and two steps' losses as the pix2pix case (the reference's float32 runs include one
/// with oneDNN off: its threaded runs agree to an ulp here by chance, which is no scale); and the
/// photo's L and ab as the reference's dataset makes them.
#[test]
fn colorization_first_update_equals_the_reference() {
    use crate::preset::gan::{DatasetMode, GanPreset};
    let fx = load_fixture(crate::test_fixture("colorization_first_update.safetensors"));
    let dev = Device::Cpu;
    let (h, w, _) = fx["rgb"].dims3().unwrap();
    let raw: Vec<u8> = fx["rgb"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|&v| v as u8)
        .collect();
    let photo = image::RgbImage::from_raw(w as u32, h as u32, raw).unwrap();
    let (l, ab) = crate::data::lab::colorization_pair(&photo);
    let a = Tensor::from_vec(l, (1, 1, h, w), &dev).unwrap();
    let b = Tensor::from_vec(ab, (1, 2, h, w), &dev).unwrap();
    assert!(crate::max_abs_diff(&a, &fx["A"]) <= 2.5e-7, "the photo's L");
    assert!(
        crate::max_abs_diff(&b, &fx["B"]) <= 2.5e-7,
        "the photo's ab"
    );

    let mut p = GanPreset {
        kind: "pix2pix".into(),
        ..Default::default()
    };
    p.data.dataset_mode = Some(DatasetMode::Colorization);
    p.model.net_g = Some("unet_64".into());
    (p.model.ngf, p.model.ndf, p.model.no_dropout) = (2, 4, Some(true));
    let p = p.effective();
    let (gc, dc) = (super::gen_config(&p), super::disc_config(&p));
    assert_eq!((gc.input_nc, gc.output_nc, dc.input_nc), (1, 2, 3));
    let (g0, d0) = (state(&fx, "col.init.G"), state(&fx, "col.init.D"));
    let g = Generator::from_state_dict(&gc, g0.clone(), "fx", &dev).unwrap();
    let d = Discriminator::from_state_dict(&dc, d0.clone(), "fx", &dev).unwrap();
    let mut m = Pix2Pix::new(g, d, adam(), GanMode::Vanilla, 100.0, 0).unwrap();
    m.ctx.dropout = false;
    let (spread, l64) = reference_losses(&fx, "col");
    for step in 0..2 {
        let got = m.step(&fx["A"], &fx["B"]).unwrap();
        if step == 0 {
            assert_first_update(
                &fx,
                "col",
                &[
                    ("G", &g0, m.g.params.state_dict()),
                    ("D", &d0, m.d.params.state_dict()),
                ],
            );
        }
        let allowed = spread[step].iter().fold(0f32, |x, y| x.max(*y));
        if let Err(e) = within(&got, &l64[step], allowed) {
            panic!("colorization step {}: {e}", step + 1);
        }
    }
}
