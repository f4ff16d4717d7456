//! Truncated JPEGs (arnab39/cycleGAN-PyTorch #9, PIL's "image file is truncated") and Netpbm
//! files (the reference's `.ppm`) through the real binary: `dataset inspect`, `dataset prepare
//! resize`, `translate` and `stylize` (style transfer and `--model`). Every damaged file is made
//! here from a valid one.

mod common;
use common::*;
use std::path::Path;

/// A picture with detail everywhere, so that its JPEG scan is long.
fn busy(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x * 37 + y * 91 + (x * y) % 53) as u8;
        image::Rgb([v, v.wrapping_mul(3), 255 - v])
    })
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(vec![]);
    busy(w, h)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

/// The same JPEG cut three ways: in its headers, mid-scan, and just before its EOI marker; and
/// one complete with bytes after EOI, which must read.
fn damaged_jpegs(dir: &Path, w: u32, h: u32) {
    let whole = jpeg(w, h);
    std::fs::write(dir.join("cut-head.jpg"), &whole[..40]).unwrap();
    std::fs::write(dir.join("cut-mid.jpg"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(dir.join("cut-eoi.jpg"), &whole[..whole.len() - 2]).unwrap();
    let mut tail = whole.clone();
    tail.extend(b"\0\0\0\0 bytes a camera left after the end");
    std::fs::write(dir.join("tail.jpg"), tail).unwrap();
}

fn ppm(path: &Path, w: u32, h: u32) {
    let mut out = std::io::Cursor::new(vec![]);
    busy(w, h)
        .write_to(&mut out, image::ImageFormat::Pnm)
        .unwrap();
    std::fs::write(path, out.into_inner()).unwrap();
}

/// The line of `t` that names `file`.
fn line_of<'a>(t: &'a str, file: &str) -> &'a str {
    t.lines()
        .find(|l| l.contains(file))
        .unwrap_or_else(|| panic!("{file} is not named: {t}"))
}

const CUTS: [&str; 3] = ["cut-head.jpg", "cut-mid.jpg", "cut-eoi.jpg"];

#[test]
fn inspect_and_resize_name_truncated_jpegs_and_read_ppm() {
    let ws = temp_workspace("trunc-dataset");
    let d = ws.join("datasets/d");
    for s in ["trainA", "trainB"] {
        std::fs::create_dir_all(d.join(s)).unwrap();
    }
    damaged_jpegs(&d.join("trainA"), 48, 32);
    ppm(&d.join("trainA/p.ppm"), 48, 32);
    ppm(&d.join("trainB/q.PGM"), 24, 24);
    let out = run(bin()
        .current_dir(&ws)
        .args(["dataset", "inspect", "datasets/d"]));
    let t = text(&out);
    for cut in CUTS {
        assert!(line_of(&t, cut).contains("truncated"), "{cut}: {t}");
    }
    for fine in ["tail.jpg", "p.ppm", "q.PGM"] {
        assert!(!t.contains(fine), "{fine} is read without a problem: {t}");
    }

    let before = std::fs::read(d.join("trainA/cut-mid.jpg")).unwrap();
    let out = run(bin().current_dir(&ws).args([
        "dataset",
        "prepare",
        "resize",
        "datasets/d",
        "--size",
        "16",
        "--out",
        "small",
    ]));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for cut in CUTS {
        assert!(line_of(&t, cut).contains("truncated"), "{cut}: {t}");
        // kept as it was, never written as a grey-filled PNG
        assert!(!ws.join(format!("small/trainA/{cut}.png")).exists());
        assert!(!ws
            .join("small/trainA")
            .join(cut.replace(".jpg", ".png"))
            .exists());
    }
    assert_eq!(
        std::fs::read(ws.join("small/trainA/cut-mid.jpg")).unwrap(),
        before
    );
    assert_eq!(
        image::image_dimensions(ws.join("small/trainA/tail.png")).unwrap(),
        (16, 11)
    );
    assert_eq!(
        image::image_dimensions(ws.join("small/trainA/p.png")).unwrap(),
        (16, 11)
    );
    assert_eq!(
        image::image_dimensions(ws.join("small/trainB/q.png")).unwrap(),
        (16, 16)
    );
}

#[test]
fn translate_refuses_a_truncated_input_and_reads_a_ppm() {
    let ws = temp_workspace("trunc-translate");
    let pth = repo().join("tests/fixtures/resnet_legacy_net_G.pth");
    std::fs::create_dir_all(ws.join("in")).unwrap();
    damaged_jpegs(&ws.join("in"), 32, 32);
    ppm(&ws.join("in/p.ppm"), 32, 32);
    let translate = |input: &str, output: &str| {
        run(bin().current_dir(&ws).args([
            "translate",
            "--checkpoint",
            pth.to_str().unwrap(),
            "--input",
            input,
            "--output",
            output,
            "--eval",
        ]))
    };
    let out = translate("in/cut-mid.jpg", "one.png");
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(line_of(&t, "cut-mid.jpg").contains("truncated"), "{t}");
    assert!(!ws.join("one.png").exists());

    let out = translate("in", "out");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for cut in CUTS {
        assert!(line_of(&t, cut).contains("truncated"), "{cut}: {t}");
        assert!(!ws.join("out").join(cut.replace(".jpg", ".png")).exists());
    }
    for made in ["p.png", "tail.png"] {
        assert_eq!(
            image::image_dimensions(ws.join("out").join(made)).unwrap(),
            (32, 32),
            "{made}: {t}"
        );
    }
}

#[test]
fn stylize_refuses_truncated_content_style_and_model_inputs() {
    let ws = temp_workspace("trunc-stylize");
    damaged_jpegs(&ws, 48, 40);
    busy(40, 40).save(ws.join("s.png")).unwrap();
    let vgg = tiny_vgg();
    let nst = |content: &str, style: &str| {
        run(bin().current_dir(&ws).args([
            "stylize",
            "--quiet",
            "--content",
            content,
            "--style",
            style,
            "--size",
            "32",
            "--iterations",
            "2",
            "--vgg",
            vgg.to_str().unwrap(),
            "--run-dir",
            "run",
            "-o",
            "out.png",
        ]))
    };
    for (content, style, bad) in [
        ("cut-mid.jpg", "s.png", "cut-mid.jpg"),
        ("s.png", "cut-eoi.jpg", "cut-eoi.jpg"),
    ] {
        let out = nst(content, style);
        let t = text(&out);
        assert!(!out.status.success(), "{t}");
        assert!(line_of(&t, bad).contains("truncated"), "{t}");
        assert!(!ws.join("out.png").exists());
    }

    let model = repo().join("tests/fixtures/fast_style_legacy.pth");
    let fast = |input: &str, output: &str| {
        run(bin().current_dir(&ws).args([
            "stylize",
            "--quiet",
            "--model",
            model.to_str().unwrap(),
            "--input",
            input,
            "--output",
            output,
        ]))
    };
    let out = fast("cut-head.jpg", "fast.png");
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(line_of(&t, "cut-head.jpg").contains("truncated"), "{t}");
    assert!(!ws.join("fast.png").exists());
    ppm(&ws.join("p.ppm"), 20, 18);
    let out = fast("p.ppm", "fast.png");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        image::image_dimensions(ws.join("fast.png")).unwrap(),
        (20, 18)
    );
}
