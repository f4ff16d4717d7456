//! `translate` and `stylize --model` in exact bands, through the real binary (issue 32): `--tile`
//! and a `--max-memory` the whole image passes give the untiled output within one level (a
//! ResNet generator, a U-Net with batch norm and dropout, a TransformerNet; bands that divide no
//! layer's height), a cap too small for even one band is refused before any work, the bands'
//! progress is said, and a folder goes image by image.

mod common;
mod image_commands;
use aiart::infer::locate::{load, locate, GenChoice};
use aiart::nn::gan::{GenConfig, Generator};
use aiart::nn::layers::NormKind;
use aiart::workspace::Workspace;
use candle_core::Device;
use common::*;
use image_commands::*;
use std::path::Path;

fn read(path: &Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

fn assert_within_a_level(a: &Path, b: &Path) {
    let (x, y) = (read(a), read(b));
    assert_eq!(x.dimensions(), y.dimensions());
    let most = x
        .as_raw()
        .iter()
        .zip(y.as_raw())
        .map(|(p, q)| p.abs_diff(*q))
        .max()
        .unwrap();
    assert!(
        most <= 1,
        "{} and {} differ by {most} levels",
        a.display(),
        b.display()
    );
}

fn ok(out: &std::process::Output) -> String {
    let t = text(out);
    assert!(out.status.success(), "{t}");
    t
}

/// A pix2pix checkpoint folder (meta.json + net_G) of a unet_64 (one dropout layer) with batch norm and dropout.
fn unet_checkpoint(ws: &Path) -> String {
    let c = GenConfig {
        arch: "unet_64".into(),
        input_nc: 3,
        output_nc: 3,
        ngf: 4,
        norm: NormKind::Batch,
        dropout: true,
    };
    let ck = ws.join("ck");
    std::fs::create_dir_all(&ck).unwrap();
    let g = Generator::seeded(&c, 4, 0.02, &Device::Cpu).unwrap();
    candle_core::safetensors::save(&g.params.state_dict(), ck.join("net_G.safetensors")).unwrap();
    let meta = serde_json::json!({
        "step": 1, "epoch": 1, "kind": "pix2pix", "direction": "AtoB",
        "netG": serde_json::to_value(&c).unwrap(),
    });
    std::fs::write(ck.join("meta.json"), meta.to_string()).unwrap();
    "ck".into()
}

/// `translate -c g.pth -i INPUT -o OUTPUT --max-memory CAP`: what it said, and its peak RSS in
/// bytes (wait4's rusage: the child's own, whatever else this test binary runs).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its rusage
fn translate_peak_rss(ws: &Path, [input, output, cap]: &[&str; 3]) -> (String, u64) {
    let log = ws.join(format!("{output}.log"));
    let child = bin()
        .current_dir(ws)
        .args(["translate", "-c", "g.pth", "-i", input, "-o", output])
        .args(["--max-memory", cap, "--device", "cpu"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: plain-old-data out parameters; the pid is our own child, reaped exactly once here.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(rc, child.id() as i32, "wait4");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{said}"
    );
    (said, usage.ru_maxrss as u64 * 1024)
}

#[test]
fn translate_in_bands_equals_the_whole_image() {
    let ws = temp_workspace("tiled-translate");
    legacy_generator(&ws.join("g.pth"));
    // 70×53: a ResNet pads it to 72×56; bands of 7 rows divide no layer's height
    write_image(&ws.join("photo.png"), 70, 53, 3);
    let whole = ok(&translate(&ws, "g.pth", "photo.png", "whole.png", &[]));
    assert!(!whole.contains("bands"), "{whole}");
    let said = ok(&translate(
        &ws,
        "g.pth",
        "photo.png",
        "bands.png",
        &["--tile", "7"],
    ));
    assert!(
        said.contains("photo.png: in ") && said.contains(" bands"),
        "{said}"
    );
    assert_within_a_level(&ws.join("whole.png"), &ws.join("bands.png"));
    // a cap the whole image passes starts the bands by itself, and the process keeps within it
    write_image(&ws.join("large.png"), 800, 600, 4);
    let choice = GenChoice {
        checkpoint: "g.pth".into(),
        direction: None,
        arch: None,
        norm: None,
        ngf: None,
        step: None,
    };
    let w = Workspace { root: ws.clone() };
    let g = load(
        &choice,
        locate(&w, &choice, &mut |_| {}).unwrap(),
        &Device::Cpu,
    )
    .unwrap();
    let untiled = aiart::nn::tiled::untiled_bytes(&g.program(), &[1, 3, 600, 800]).unwrap();
    ok(&translate(
        &ws,
        "g.pth",
        "large.png",
        "large-whole.png",
        &[],
    ));
    let cap = untiled.to_string();
    let (said, peak) = translate_peak_rss(&ws, &["large.png", "large-capped.png", &cap]);
    assert!(said.contains(" bands"), "{said}");
    assert!(
        peak <= untiled,
        "peak RSS {peak} B above --max-memory {untiled} B"
    );
    assert_within_a_level(&ws.join("large-whole.png"), &ws.join("large-capped.png"));
    // a U-Net with batch norm and dropout on (the reference's test): the same masks in bands
    let ck = unet_checkpoint(&ws);
    write_image(&ws.join("square.png"), 64, 64, 5);
    let args = ["--whole", "--seed", "3"];
    ok(&translate(&ws, &ck, "square.png", "u-whole.png", &args));
    let tiled = [&args[..], &["--tile", "5"]].concat();
    ok(&translate(&ws, &ck, "square.png", "u-bands.png", &tiled));
    assert_within_a_level(&ws.join("u-whole.png"), &ws.join("u-bands.png"));
    // and another seed gives another picture (the masks matter)
    let other = ["--whole", "--seed", "4"];
    ok(&translate(&ws, &ck, "square.png", "u-other.png", &other));
    let differ = read(&ws.join("u-whole.png")) != read(&ws.join("u-other.png"));
    assert!(differ, "the seed changes nothing: no dropout?");
    // no scratch folder is left in the output's folder
    let left: Vec<_> = std::fs::read_dir(&ws)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("aiart-tiles-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir_all(&ws).unwrap();
}

#[test]
fn stylize_model_in_bands_equals_the_whole_image() {
    let ws = temp_workspace("tiled-stylize");
    transformer_net(&ws.join("net.safetensors"));
    write_image(&ws.join("photo.png"), 45, 38, 1);
    ok(&stylize_model(
        &ws,
        "net.safetensors",
        "photo.png",
        "whole.png",
        &[],
    ));
    let said = ok(&stylize_model(
        &ws,
        "net.safetensors",
        "photo.png",
        "bands.png",
        &["--tile", "6"],
    ));
    assert!(said.contains(" bands"), "{said}");
    assert_within_a_level(&ws.join("whole.png"), &ws.join("bands.png"));
    // --tile 0: never in bands, whatever the cap
    let said = ok(&stylize_model(
        &ws,
        "net.safetensors",
        "photo.png",
        "never.png",
        &["--tile", "0", "--max-memory", "1KiB"],
    ));
    assert!(!said.contains("bands"), "{said}");
    let same = read(&ws.join("whole.png")) == read(&ws.join("never.png"));
    assert!(same, "--tile 0 is the whole image's forward");
    std::fs::remove_dir_all(&ws).unwrap();
}

#[test]
fn a_memory_cap_below_one_band_is_refused_before_any_work() {
    let ws = temp_workspace("tiled-cap");
    legacy_generator(&ws.join("g.pth"));
    transformer_net(&ws.join("net.safetensors"));
    write_image(&ws.join("photo.png"), 70, 53, 3);
    let out = translate(
        &ws,
        "g.pth",
        "photo.png",
        "out.png",
        &["--max-memory", "64KiB"],
    );
    let said = failed_saying(
        &out,
        &[
            "photo.png: 70×53 px",
            "--max-memory 64 KiB",
            "raise --max-memory",
        ],
    );
    assert!(
        !said.contains("band 1/"),
        "refused before the first band: {said}"
    );
    assert!(!ws.join("out.png").exists());
    let out = stylize_model(
        &ws,
        "net.safetensors",
        "photo.png",
        "out.png",
        &["--max-memory", "64KiB"],
    );
    failed_saying(&out, &["photo.png: 70×53 px", "raise --max-memory"]);
    assert!(!ws.join("out.png").exists());
    // a size that does not read is said with examples
    let out = translate(
        &ws,
        "g.pth",
        "photo.png",
        "out.png",
        &["--max-memory", "lots"],
    );
    failed_saying(&out, &["--max-memory", "2GiB"]);
    std::fs::remove_dir_all(&ws).unwrap();
}

#[test]
fn a_folder_goes_image_by_image_in_bands() {
    let ws = temp_workspace("tiled-folder");
    legacy_generator(&ws.join("g.pth"));
    std::fs::create_dir_all(ws.join("in")).unwrap();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        write_image(
            &ws.join(format!("in/{name}.png")),
            40 + 6 * i as u32,
            33,
            i as u8,
        );
    }
    let said = ok(&translate(&ws, "g.pth", "in", "out", &["--tile", "9"]));
    // each image's bands start after the one before has ended
    let events: Vec<String> = said
        .lines()
        .filter_map(|l| {
            let name = Path::new(l.split(": ").next()?)
                .file_name()?
                .to_string_lossy();
            if l.contains(": in ") && l.ends_with("the whole image's result)") {
                Some(format!("{name} starts"))
            } else if l.contains(" bands done in ") {
                Some(format!("{name} ends"))
            } else {
                None
            }
        })
        .collect();
    let want: Vec<String> = ["a", "b", "c"]
        .iter()
        .flat_map(|n| [format!("{n}.png starts"), format!("{n}.png ends")])
        .collect();
    assert_eq!(events, want, "{said}");
    for name in ["a", "b", "c"] {
        assert!(ws.join(format!("out/{name}.png")).is_file());
    }
    assert!(said.contains("translated 3 images to out"), "{said}");
    std::fs::remove_dir_all(&ws).unwrap();
}
