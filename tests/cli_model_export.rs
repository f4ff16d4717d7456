//! `aiart model export` through the real binary: a fast style network and a reference generator
//! written as .pth and ONNX, the .pth read back by aiart itself (`stylize --model`, `translate`)
//! giving the same pictures, the ONNX file decoded, and the output rule. onnxruntime and PyTorch
//! check the same files in tools/export_check.py (not in CI).

mod common;
use common::*;
use std::path::Path;

fn export(ws: &Path, args: &[&str]) -> std::process::Output {
    run(bin().current_dir(ws).arg("model").arg("export").args(args))
}

fn pixels(p: &Path) -> Vec<u8> {
    image::open(p).unwrap().to_rgb8().into_raw()
}

#[test]
fn a_fast_style_network_exports_to_pth_and_onnx() {
    let ws = temp_workspace("export-fast");
    write_image(&ws.join("photo.png"), 40, 28, 3);
    let model = repo().join("tests/fixtures/fast_style_trained.model");
    let model = model.to_str().unwrap();
    let out = export(&ws, &[model, "--pth", "net.pth", "--onnx", "net.onnx"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    // the fixture is a narrow TransformerNet: the reference's own class would refuse it
    assert!(
        t.contains("warning") && t.contains("residual blocks"),
        "{t}"
    );
    assert!(t.contains("net.onnx: fast style graph"), "{t}");
    // the .pth paints what the original paints
    for (m, o) in [(model, "a.png"), ("net.pth", "b.png")] {
        let out = run(bin().current_dir(&ws).args([
            "stylize",
            "--model",
            m,
            "--input",
            "photo.png",
            "--output",
            o,
            "--device",
            "cpu",
        ]));
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(pixels(&ws.join("a.png")), pixels(&ws.join("b.png")));
    let onnx = std::fs::read(ws.join("net.onnx")).unwrap();
    assert!(onnx.len() > 1000);
    // an existing output needs --force; the place is checked before anything is written
    let before = std::fs::read(ws.join("net.pth")).unwrap();
    let out = export(&ws, &[model, "--pth", "net.pth"]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("--pth") && t.contains("net.pth") && t.contains("--force"),
        "{t}"
    );
    assert_eq!(std::fs::read(ws.join("net.pth")).unwrap(), before);
    let out = export(&ws, &[model, "--pth", "net.pth", "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    // the input is never an output
    let copy = ws.join("copy.model");
    std::fs::copy(model, &copy).unwrap();
    let out = export(&ws, &["copy.model", "--pth", "copy.model", "--force"]);
    assert!(
        !out.status.success() && text(&out).contains("is the input"),
        "{}",
        text(&out)
    );
    // nothing to write, a direction for a network that has none
    let out = export(&ws, &[model]);
    assert!(
        !out.status.success() && text(&out).contains("--pth"),
        "{}",
        text(&out)
    );
    let out = export(&ws, &[model, "--onnx", "x.onnx", "--direction", "BtoA"]);
    assert!(
        !out.status.success() && text(&out).contains("--direction"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_reference_generator_exports_and_translates_the_same() {
    let ws = temp_workspace("export-gan");
    write_image(&ws.join("photo.png"), 32, 32, 4);
    let g = repo().join("tests/fixtures/resnet_legacy_net_G.pth");
    let g = g.to_str().unwrap();
    let out = export(&ws, &[g, "--pth", "g.pth", "--onnx", "g.onnx"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("g.onnx: generator graph"),
        "{}",
        text(&out)
    );
    for (c, o) in [(g, "a.png"), ("g.pth", "b.png")] {
        let out = run(bin().current_dir(&ws).args([
            "translate",
            "--checkpoint",
            c,
            "--input",
            "photo.png",
            "--output",
            o,
            "--device",
            "cpu",
        ]));
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(pixels(&ws.join("a.png")), pixels(&ws.join("b.png")));
    let _ = std::fs::remove_dir_all(&ws);
}
