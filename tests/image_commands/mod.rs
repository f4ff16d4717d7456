//! Helpers shared by the tests of the image-writing commands (cli_outputs.rs,
//! cli_translate_checkpoints.rs): inputs made here, the commands spawned through the real binary.
#![allow(dead_code)]

use super::common::*;
use aiart::nn::transformer_net::TransformerNet;
use candle_core::Device;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The reference's ResNet generator in the legacy .pth format (a fixture), copied to `to`.
pub fn legacy_generator(to: &Path) -> PathBuf {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(repo().join("tests/fixtures/resnet_legacy_net_G.pth"), to).unwrap();
    to.to_path_buf()
}

/// A seeded fast style TransformerNet saved at `path`.
pub fn transformer_net(path: &Path) {
    let net = TransformerNet::seeded(1, &Device::Cpu).unwrap();
    candle_core::safetensors::save(&net.state_dict(), path).unwrap();
}

pub fn aiart(ws: &Path, args: &[&str]) -> Output {
    run(bin().current_dir(ws).args(args).args(["--device", "cpu"]))
}

pub fn translate(ws: &Path, checkpoint: &str, input: &str, output: &str, extra: &[&str]) -> Output {
    let mut a = vec![
        "translate",
        "--checkpoint",
        checkpoint,
        "--input",
        input,
        "--output",
        output,
    ];
    a.extend(extra);
    aiart(ws, &a)
}

pub fn stylize_model(ws: &Path, model: &str, input: &str, output: &str, extra: &[&str]) -> Output {
    let mut a = vec![
        "stylize", "--model", model, "--input", input, "--output", output,
    ];
    a.extend(extra);
    aiart(ws, &a)
}

/// Optimisation-based style transfer with the tiny VGG, two steps.
pub fn stylize_nst(ws: &Path, content: &str, output: &str, extra: &[&str]) -> Output {
    let vgg = tiny_vgg();
    let mut a = vec![
        "stylize",
        "--content",
        content,
        "--style",
        "s.png",
        "--size",
        "32",
        "--quiet",
        "--vgg",
        vgg.to_str().unwrap(),
        "--iterations",
        "2",
        "--run-dir",
        "run",
        "--output",
        output,
    ];
    a.extend(extra);
    run(bin().current_dir(ws).args(&a))
}

pub fn failed_saying(out: &Output, says: &[&str]) -> String {
    let t = text(out);
    assert!(!out.status.success(), "should have failed: {t}");
    for s in says {
        assert!(t.contains(s), "`{s}` not in: {t}");
    }
    t
}

pub fn frames(dir: &Path, n: u8) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        write_image(&dir.join(format!("f{i}.png")), 24, 16, i);
    }
}
