//! `model.input_nc` / `model.output_nc` (issue 34 item 2) through the real binary: pix2pix 1 → 3
//! and 3 → 1 (BtoA), CycleGAN 1 ↔ 1 and 1 ↔ 3 train from a preset and their checkpoints translate;
//! a reference-layout legacy `.pth` with input_nc 1 translates a photo as PyTorch does
//! (tools/fixtures_grayscale.py), whole and in bands; a bad count is refused naming the field.

mod common;
use common::*;
use std::collections::HashMap;
use std::path::Path;

fn shapes(path: &Path) -> HashMap<String, Vec<usize>> {
    candle_core::safetensors::load(path, &candle_core::Device::Cpu)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .map(|(k, v)| (k, v.dims().to_vec()))
        .collect()
}

fn is_gray(path: &Path) -> bool {
    let img = image::open(path).unwrap().into_rgb8();
    img.pixels().all(|p| p[0] == p[1] && p[1] == p[2])
}

/// Trains `preset` (text) in `ws` to its end and returns the run folder; every logged loss finite.
fn train(ws: &Path, name: &str, preset: &str) -> std::path::PathBuf {
    std::fs::write(ws.join(format!("{name}.toml")), preset).unwrap();
    let run_dir = ws.join("runs").join(name);
    let out = run(bin().current_dir(ws).args([
        "train",
        &format!("{name}.toml"),
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(out.status.success(), "{name}: {}", text(&out));
    assert_eq!(read_json(&run_dir.join("status.json"))["state"], "finished");
    let m = read_jsonl(&run_dir.join("metrics.jsonl"));
    assert_eq!(m.len(), 4, "{name}: 2 images × 2 epochs");
    for r in &m {
        for (k, v) in r {
            if let Some(x) = v.as_f64() {
                assert!(x.is_finite(), "{name}: {k} = {x}");
            }
        }
    }
    assert!(run_dir.join("samples/step-00000004.png").is_file());
    run_dir
}

fn translate(ws: &Path, args: &[&str]) -> String {
    let out = run(bin().current_dir(ws).arg("translate").args(args));
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    text(&out)
}

const LOG: &str = "[log]\nprint_every = 1\nsample_every = 2\ncheckpoint_every = 4\n";

#[test]
fn pix2pix_one_to_three_and_three_to_one_train_and_translate() {
    let ws = temp_workspace("channels-p2p");
    let train_dir = ws.join("data/train");
    std::fs::create_dir_all(&train_dir).unwrap();
    for i in 0..2 {
        aligned(i).save(train_dir.join(format!("{i}.png"))).unwrap();
    }
    picture(7).save(ws.join("photo.png")).unwrap();
    let preset = |direction: &str, i: usize, o: usize| {
        format!(
            "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\ndirection = \"{direction}\"\n\
             load_size = 32\ncrop_size = 32\n[model]\nnetG = \"unet_32\"\nngf = 4\nndf = 4\n\
             input_nc = {i}\noutput_nc = {o}\n[train]\nn_epochs = 1\nn_epochs_decay = 1\n{LOG}"
        )
    };
    for (name, direction, i, o) in [("gray-in", "AtoB", 1, 3), ("gray-out", "BtoA", 3, 1)] {
        let run_dir = train(&ws, name, &preset(direction, i, o));
        let ck = run_dir.join("checkpoints/step-00000004");
        let g = shapes(&ck.join("net_G.safetensors"));
        assert_eq!(
            g["model.model.0.weight"],
            [4, i, 4, 4],
            "{name}: G takes input_nc"
        );
        assert_eq!(g["model.model.3.weight"][1], o, "{name}: G gives output_nc");
        let d = shapes(&ck.join("net_D.safetensors"));
        assert_eq!(
            d["model.0.weight"],
            [4, i + o, 4, 4],
            "{name}: D sees A and B"
        );
        let meta = read_json(&ck.join("meta.json"));
        assert_eq!(meta["netG"]["input_nc"], i);
        assert!(meta["preset"]
            .as_str()
            .unwrap()
            .contains(&format!("input_nc = {i}")));
        let out = format!("{name}.png");
        translate(
            &ws,
            &[
                "--checkpoint",
                run_dir.to_str().unwrap(),
                "--input",
                "photo.png",
                "--output",
                &out,
                "--whole",
                "--eval",
            ],
        );
        assert_eq!(image::open(ws.join(&out)).unwrap().width(), 32);
        assert_eq!(
            is_gray(&ws.join(&out)),
            o == 1,
            "{name}: a 1-channel output is gray"
        );
    }
}

#[test]
fn cyclegan_with_grayscale_domains_trains_and_translates_both_ways() {
    let ws = temp_workspace("channels-cyc");
    for d in ["trainA", "trainB"] {
        let dir = ws.join("data").join(d);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..2 {
            let k = if d == "trainB" { 5 } else { 0 };
            picture(i + k).save(dir.join(format!("{i}.png"))).unwrap();
        }
    }
    picture(9).save(ws.join("photo.png")).unwrap();
    let preset = |i: usize, o: usize, identity: f64| {
        format!(
            "kind = \"cyclegan\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
             [model]\nnetG = \"resnet_1blocks\"\nngf = 2\nndf = 2\ninput_nc = {i}\noutput_nc = {o}\n\
             [train]\nn_epochs = 1\nn_epochs_decay = 1\nlambda_identity = {identity:?}\n{LOG}"
        )
    };
    // 1 ↔ 1 with the identity loss; 1 ↔ 3 without it (the reference asserts equal counts for it)
    for (name, i, o, identity) in [("gray", 1, 1, 0.5), ("gray-to-rgb", 1, 3, 0.0)] {
        let run_dir = train(&ws, name, &preset(i, o, identity));
        let ck = run_dir.join("checkpoints/step-00000004");
        let first = |net: &str| shapes(&ck.join(format!("net_{net}.safetensors")));
        assert_eq!(
            first("G_A")["model.1.weight"],
            [2, i, 7, 7],
            "{name}: G_A: A in"
        );
        assert_eq!(first("G_A")["model.18.weight"][0], o, "{name}: G_A: B out");
        assert_eq!(
            first("G_B")["model.1.weight"],
            [2, o, 7, 7],
            "{name}: G_B: B in"
        );
        assert_eq!(first("G_B")["model.18.weight"][0], i, "{name}: G_B: A out");
        assert_eq!(
            first("D_A")["model.0.weight"],
            [2, o, 4, 4],
            "{name}: D_A judges B"
        );
        assert_eq!(
            first("D_B")["model.0.weight"],
            [2, i, 4, 4],
            "{name}: D_B judges A"
        );
        for (direction, gray) in [("AtoB", o == 1), ("BtoA", i == 1)] {
            let out = format!("{name}-{direction}.png");
            translate(
                &ws,
                &[
                    "--checkpoint",
                    run_dir.to_str().unwrap(),
                    "--direction",
                    direction,
                    "--input",
                    "photo.png",
                    "--output",
                    &out,
                ],
            );
            assert_eq!(is_gray(&ws.join(&out)), gray, "{name} {direction}");
        }
    }
    // the reference's test page of the 1 ↔ 1 run: real_A as the network saw it, fake_B, rec_A,
    // all gray (the page's background and captions are gray too)
    translate(
        &ws,
        &[
            "--checkpoint",
            ws.join("runs/gray").to_str().unwrap(),
            "--both-ways",
            "--input",
            "photo.png",
            "--output",
            "page.png",
        ],
    );
    assert!(
        is_gray(&ws.join("page.png")),
        "real_A shown as its grayscale"
    );
}

/// The legacy `.pth` with input_nc 1: its counts read from the weights, the photo's PIL grayscale
/// in, the output PyTorch's to the level (rounded here, a float there), whole and in bands.
#[test]
fn a_reference_pth_with_one_input_channel_translates_as_pytorch() {
    let ws = temp_workspace("channels-pth");
    let pth = repo().join("tests/fixtures/gray_in_net_G.pth");
    let photo = repo().join("tests/fixtures/grayscale_in.png");
    let want = candle_core::safetensors::load(
        repo().join("tests/fixtures/gray_in_reference.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap()["out"]
        .squeeze(0)
        .unwrap()
        .permute((1, 2, 0))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    for (out, extra) in [("whole.png", vec![]), ("bands.png", vec!["--tile", "5"])] {
        let mut args = vec![
            "--checkpoint",
            pth.to_str().unwrap(),
            "--input",
            photo.to_str().unwrap(),
            "--output",
            out,
        ];
        args.extend(extra);
        let said = translate(&ws, &args);
        assert_eq!(said.contains("bands"), out == "bands.png", "{said}");
        let got = image::open(ws.join(out)).unwrap().into_rgb8();
        assert_eq!(got.dimensions(), (32, 24));
        for (k, (&g, &w)) in got.as_raw().iter().zip(&want).enumerate() {
            let w = ((w + 1.0) / 2.0 * 255.0).clamp(0.0, 255.0);
            assert!(
                (g as f32 - w).abs() <= 1.0,
                "{out}: value {k}: {g}, PyTorch {w}"
            );
        }
    }
}

#[test]
fn a_channel_count_no_dataset_feeds_is_refused_naming_the_field() {
    let ws = temp_workspace("channels-bad");
    std::fs::create_dir_all(ws.join("data/train")).unwrap();
    aligned(0).save(ws.join("data/train/0.png")).unwrap();
    std::fs::write(
        ws.join("bad.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"unet_32\"\noutput_nc = 0\n",
    )
    .unwrap();
    let out = run(bin()
        .current_dir(&ws)
        .args(["train", "bad.toml", "--run-dir", "runs/bad"]));
    assert!(!out.status.success());
    assert!(
        text(&out)
            .contains("bad.toml:8:1: model.output_nc: must be 1 (grayscale) or 3 (RGB), got 0"),
        "{}",
        text(&out)
    );
    assert!(!ws.join("runs/bad").exists(), "refused before any work");
}

/// init_from weights with other channel counts than the preset's: refused naming the fields to
/// set; with them set, the run starts from those weights.
#[test]
fn init_from_weights_of_other_channel_counts_names_the_fields_to_set() {
    let ws = temp_workspace("channels-init");
    std::fs::create_dir_all(ws.join("data/train")).unwrap();
    for i in 0..2 {
        aligned(i)
            .save(ws.join(format!("data/train/{i}.png")))
            .unwrap();
    }
    std::fs::create_dir_all(ws.join("start")).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/gray_in_net_G.pth"),
        ws.join("start/latest_net_G.pth"),
    )
    .unwrap();
    let preset = |channels: &str| {
        format!(
            "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
             [model]\nnetG = \"resnet_2blocks\"\nnorm = \"instance\"\nno_dropout = true\nngf = 4\nndf = 4\n\
             init_from = \"start\"\n{channels}[train]\nn_epochs = 1\nn_epochs_decay = 1\n{LOG}"
        )
    };
    std::fs::write(ws.join("rgb.toml"), preset("")).unwrap();
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "rgb.toml", "--run-dir", "runs/rgb", "--quiet"]));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("takes 1 channel(s) and gives 3")
            && text(&out).contains("set model.input_nc = 1 and model.output_nc = 3"),
        "{}",
        text(&out)
    );
    assert!(
        !ws.join("runs/rgb").exists(),
        "refused before the run starts"
    );
    let run_dir = train(&ws, "gray", &preset("input_nc = 1\n"));
    let g = shapes(&run_dir.join("checkpoints/step-00000004/net_G.safetensors"));
    assert_eq!(g["model.1.weight"], [4, 1, 7, 7]);
}
