//! The library's side of translate and stylize --model: a checkpoint located by run, step folder
//! and file (a damaged newest step passed over, with a warning), loaded, and one image through it
//! whole and in bands (equal within a level), and a budget too small refused before the forward.

use super::locate::{load, locate, GenChoice};
use super::stylize::{self, Stylization};
use super::translate::Translation;
use super::Tiling;
use crate::nn::gan::{GenConfig, Generator};
use crate::nn::layers::{Ctx, NormKind};
use crate::nn::transformer_net::TransformerNet;
use crate::preset::gan::Direction;
use crate::workspace::Workspace;
use candle_core::Device;
use image::RgbImage;
use std::path::Path;

fn config() -> GenConfig {
    GenConfig {
        arch: "resnet_6blocks".into(),
        input_nc: 3,
        output_nc: 3,
        ngf: 4,
        norm: NormKind::Instance,
        dropout: false,
    }
}

/// A pix2pix run trained BtoA: checkpoints at steps 2 (whole) and 4 (its generator cut short).
fn pix2pix_run(ws: &Path) -> std::path::PathBuf {
    let root = ws.join("runs/r");
    let g = Generator::seeded(&config(), 3, 0.02, &Device::Cpu).unwrap();
    let sd = g.params.state_dict();
    for step in [2u64, 4] {
        let ck = root.join(format!("checkpoints/step-{step:08}"));
        std::fs::create_dir_all(&ck).unwrap();
        let file = ck.join("net_G.safetensors");
        candle_core::safetensors::save(&sd, &file).unwrap();
        if step == 4 {
            let bytes = std::fs::read(&file).unwrap();
            std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        }
        let meta = serde_json::json!({
            "step": step, "epoch": 1, "kind": "pix2pix", "direction": "BtoA",
            "netG": serde_json::to_value(config()).unwrap(),
        });
        std::fs::write(ck.join("meta.json"), meta.to_string()).unwrap();
    }
    let info = serde_json::json!({
        "id": "r", "kind": "pix2pix", "preset": "p.toml", "device": "cpu", "pid": 1,
        "host": "h", "started": 0.0, "started_iso": ""
    });
    std::fs::write(root.join("run.json"), info.to_string()).unwrap();
    root
}

fn choice(checkpoint: &str, direction: Option<Direction>) -> GenChoice {
    GenChoice {
        checkpoint: checkpoint.into(),
        direction,
        arch: None,
        norm: None,
        ngf: None,
        step: None,
    }
}

fn picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7 + y) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8])
    })
}

fn max_level_diff(a: &RgbImage, b: &RgbImage) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap()
}

#[test]
fn a_run_a_step_and_a_file_locate_the_generator_and_its_direction() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace {
        root: dir.path().to_path_buf(),
    };
    let root = pix2pix_run(dir.path());
    let mut warned = vec![];
    // the run (relative to the workspace): step 4 does not read, step 2 is taken, said
    let found = locate(&ws, &choice("runs/r", None), &mut |w| warned.push(w)).unwrap();
    let step2 = root.join("checkpoints/step-00000002");
    assert_eq!(found.file, step2.join("net_G.safetensors"));
    assert_eq!(found.aligned, Some(Direction::BtoA));
    assert_eq!(found.config.as_ref().unwrap().arch, "resnet_6blocks");
    assert!(found.read.contains(&step2.join("meta.json")));
    assert!(
        warned.iter().any(|w| w.contains("step 4 does not read")),
        "{warned:?}"
    );
    // the step folder, and the file beside its meta.json
    let by_step = locate(&ws, &choice(step2.to_str().unwrap(), None), &mut |_| {}).unwrap();
    assert_eq!(by_step.file, found.file);
    let file = step2.join("net_G.safetensors");
    let by_file = locate(&ws, &choice(file.to_str().unwrap(), None), &mut |_| {}).unwrap();
    assert_eq!(by_file.file, file);
    assert!(by_file.config.is_none(), "read from the weights' keys");
    // the way it was not trained is refused, naming where that is said
    let e = locate(&ws, &choice("runs/r", Some(Direction::AtoB)), &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("trained BtoA") && e.contains("meta.json"), "{e}");
    let e = locate(&ws, &choice("runs/none", None), &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no such checkpoint"), "{e}");
    // loading: from meta.json, and from the file's keys alone
    let g = load(&choice("runs/r", None), found, &Device::Cpu).unwrap();
    assert_eq!(g.config.ngf, 4);
    let g2 = load(&choice("runs/r", None), by_file, &Device::Cpu).unwrap();
    assert_eq!(g2.config.arch, "resnet_6blocks");
}

#[test]
fn one_image_translates_whole_and_in_bands_alike() {
    let dir = tempfile::tempdir().unwrap();
    let g = Generator::seeded(&config(), 3, 0.02, &Device::Cpu)
        .unwrap()
        .frozen()
        .unwrap();
    let ctx = Ctx::test(0);
    let t = |tile: Option<usize>, max_memory: Option<u64>| Translation {
        g: &g,
        ctx: &ctx,
        device: &Device::Cpu,
        tiling: Tiling { max_memory, tile },
        scratch_dir: None,
    };
    // 45×38: a ResNet pads it to 48×40 and crops back
    let img = picture(45, 38);
    let mut bands = vec![];
    let (whole, r) = t(None, None)
        .image(img.clone(), dir.path(), "img", &mut |p| bands.push(p))
        .unwrap();
    assert!(!r.tiled);
    assert_eq!(whole.dimensions(), (45, 38));
    assert_eq!(bands.last().unwrap().total, 1);
    bands.clear();
    let (tiled, r) = t(Some(7), None)
        .image(img.clone(), dir.path(), "img", &mut |p| bands.push(p))
        .unwrap();
    assert!(r.tiled && r.bands > 10, "{r:?}");
    assert_eq!(bands.last().unwrap().done, r.bands);
    assert!(max_level_diff(&whole, &tiled) <= 1);
    // a cap that holds not even a band of one row: refused before the forward, said
    let e = t(None, Some(64 << 10))
        .image(img, dir.path(), "img: 45×38 px", &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("img: 45×38 px") && e.contains("raise --max-memory"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no scratch left"
    );
}

/// A colorization generator (1 channel in, 2 out) takes the photo's L and writes the RGB photo
/// from that L and its ab: the same in bands as whole (a ResNet padded and cropped, a U-Net
/// resized and its ab resized back), at the input's size, its L the input's where no colour was
/// clipped (seeded weights give little colour).
#[test]
fn a_colorization_generator_recolours_whole_and_in_bands_alike() {
    use crate::data::lab::rgb8_to_lab;
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::test(0);
    for (arch, norm) in [
        ("resnet_6blocks", NormKind::Instance),
        ("unet_32", NormKind::Batch),
    ] {
        let c = GenConfig {
            arch: arch.into(),
            input_nc: 1,
            output_nc: 2,
            norm,
            ..config()
        };
        assert!(c.is_colorization());
        let g = Generator::seeded(&c, 3, 0.02, &Device::Cpu)
            .unwrap()
            .frozen()
            .unwrap();
        let t = |tile: Option<usize>| Translation {
            g: &g,
            ctx: &ctx,
            device: &Device::Cpu,
            tiling: Tiling {
                max_memory: None,
                tile,
            },
            scratch_dir: None,
        };
        let img = picture(45, 38);
        let (whole, r) = t(None)
            .image(img.clone(), dir.path(), "img", &mut |_| {})
            .unwrap();
        assert!(!r.tiled);
        assert_eq!(whole.dimensions(), (45, 38), "{arch}");
        let (tiled, r) = t(Some(7))
            .image(img.clone(), dir.path(), "img", &mut |_| {})
            .unwrap();
        assert!(r.tiled && r.bands > 5, "{arch}: {r:?}");
        assert!(max_level_diff(&whole, &tiled) <= 1, "{arch}");
        let dl: Vec<f64> = img
            .pixels()
            .zip(whole.pixels())
            .map(|(a, b)| (rgb8_to_lab(a.0)[0] - rgb8_to_lab(b.0)[0]).abs())
            .collect();
        let mean = dl.iter().sum::<f64>() / dl.len() as f64;
        // 8-bit truncation moves L by about 0.5 at most
        assert!(mean < 0.6, "{arch}: mean |ΔL| {mean}");
        // the network's input is the dataset's A
        let (a, _) = crate::data::lab::colorization_pair(&img);
        assert_eq!(super::translate::l_plane(&img), a);
    }
}

/// A U-Net's ab planes resized back keep negative values (the image crate clamps f32 samples to
/// [0, 1]: a plane of -0.5 came back 0, every colour's a or b below 0 lost).
#[test]
fn ab_planes_resize_with_their_sign() {
    let plane: Vec<f32> = (0..32 * 32)
        .map(|i| if i % 32 < 16 { -0.5 } else { 0.25 })
        .collect();
    let out = super::translate::resize_plane(&plane, (32, 32), (45, 38));
    assert_eq!(out.len(), 45 * 38);
    assert!((out[0] + 0.5).abs() < 1e-5, "{}", out[0]);
    assert!((out[44] - 0.25).abs() < 1e-5, "{}", out[44]);
    assert!(out.iter().all(|v| (-1.0..=1.0).contains(v)));
}

#[test]
fn one_image_stylises_whole_and_in_bands_alike() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.safetensors");
    let seeded = TransformerNet::seeded(5, &Device::Cpu).unwrap();
    candle_core::safetensors::save(&seeded.state_dict(), &file).unwrap();
    let net = stylize::load(&file, &Device::Cpu).unwrap();
    let s = |tile: Option<usize>| Stylization {
        net: &net,
        device: &Device::Cpu,
        tiling: Tiling {
            max_memory: None,
            tile,
        },
        scratch_dir: None,
    };
    let img = picture(37, 30);
    let (whole, r) = s(None).image(&img, dir.path(), "img", &mut |_| {}).unwrap();
    assert!(!r.tiled);
    assert_eq!(whole.dimensions(), (37, 30));
    let (tiled, r) = s(Some(5))
        .image(&img, dir.path(), "img", &mut |_| {})
        .unwrap();
    assert!(r.tiled);
    assert!(max_level_diff(&whole, &tiled) <= 1);
    // a file that is no TransformerNet is said to be one thing or another
    let gan = dir.path().join("g.safetensors");
    let g = Generator::seeded(&config(), 3, 0.02, &Device::Cpu).unwrap();
    candle_core::safetensors::save(&g.params.state_dict(), &gan).unwrap();
    let e = stylize::load(&gan, &Device::Cpu).err().unwrap().to_string();
    assert!(e.contains("aiart translate"), "{e}");
}
