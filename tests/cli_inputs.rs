//! Inputs as people have them, through the real binary: phone photos with an EXIF orientation,
//! folders with clashing names and bad files, datasets made by one helper and read by the next,
//! and the workspace's names for presets and datasets.

mod common;
use common::*;
use image::RgbImage;
use std::path::Path;

/// A JPEG with an APP1 Exif segment holding only `Orientation = o`, spliced after SOI.
fn jpeg_with_orientation(img: &RgbImage, o: u8) -> Vec<u8> {
    let mut jpeg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let jpeg = jpeg.into_inner();
    // big-endian TIFF header, one IFD entry: tag 0x0112 (Orientation), SHORT, count 1, value o
    let mut app1 = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    app1.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0]);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xff, 0xe1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// Stored 64 wide and 32 tall, red on the left and blue on the right, tagged Orientation 6
/// ("turn 90° clockwise to view"): every viewer shows it 32 wide, 64 tall, red on top.
fn phone_photo(path: &Path) {
    let stored = RgbImage::from_fn(64, 32, |x, _| {
        image::Rgb(if x < 32 { [230, 20, 20] } else { [20, 20, 230] })
    });
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, jpeg_with_orientation(&stored, 6)).unwrap();
}

/// The same picture as the phone shows it, stored upright (no tag).
fn upright_photo(path: &Path) {
    let img = RgbImage::from_fn(32, 64, |_, y| {
        image::Rgb(if y < 32 { [230, 20, 20] } else { [20, 20, 230] })
    });
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(path).unwrap();
}

/// Red on the top half and blue on the bottom half of the region x0..x0+w.
fn red_over_blue(img: &RgbImage, x0: u32, w: u32) -> bool {
    let h = img.height();
    let top = img.get_pixel(x0 + w / 2, h / 4);
    let bottom = img.get_pixel(x0 + w / 2, 3 * h / 4);
    top[0] > 150 && top[2] < 100 && bottom[2] > 150 && bottom[0] < 100
}

#[test]
fn stylize_reads_a_phone_photo_upright() {
    let ws = temp_workspace("exif-stylize");
    phone_photo(&ws.join("phone.jpg"));
    write_image(&ws.join("s.png"), 40, 40, 2);
    let vgg = tiny_vgg();
    let out = run(bin().current_dir(&ws).args([
        "stylize",
        "--quiet",
        "--content",
        "phone.jpg",
        "--style",
        "s.png",
        "--size",
        "64",
        "--iterations",
        "2",
        "--vgg",
        vgg.to_str().unwrap(),
        "--run-dir",
        "run",
        "-o",
        "out.png",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        image::image_dimensions(ws.join("out.png")).unwrap(),
        (32, 64),
        "the photo as the phone shows it: 32 wide, 64 tall"
    );
}

#[test]
fn dataset_helpers_read_phone_photos_upright() {
    let ws = temp_workspace("exif-prepare");
    phone_photo(&ws.join("photos/p.jpg"));
    let out = run(bin().current_dir(&ws).args([
        "dataset", "prepare", "resize", "photos", "--size", "32", "--out", "small",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let small = image::open(ws.join("small/p.png")).unwrap().to_rgb8();
    assert_eq!(small.dimensions(), (16, 32));
    assert!(red_over_blue(&small, 0, 16), "upright: red on top");

    // A: the phone photo; B: the same picture stored upright, of the same name
    phone_photo(&ws.join("A/x.jpg"));
    upright_photo(&ws.join("B/x.jpg"));
    let out = run(bin().current_dir(&ws).args([
        "dataset", "prepare", "combine", "--a", "A", "--b", "B", "--out", "AB",
    ]));
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(!t.contains("resized"), "the halves match: {t}");
    let ab = image::open(ws.join("AB/train/x.png")).unwrap().to_rgb8();
    assert_eq!(ab.dimensions(), (64, 64), "two 32×64 halves");
    assert!(red_over_blue(&ab, 0, 32) && red_over_blue(&ab, 32, 32));

    // a B of another size is fitted to A, and the warning names both files and sizes
    let sideways = RgbImage::from_pixel(64, 32, image::Rgb([0, 200, 0]));
    std::fs::create_dir_all(ws.join("B2")).unwrap();
    sideways
        .save_with_format(ws.join("B2/x.jpg"), image::ImageFormat::Jpeg)
        .unwrap();
    let out = run(bin().current_dir(&ws).args([
        "dataset", "prepare", "combine", "--a", "A", "--b", "B2", "--out", "AB2",
    ]));
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("A/x.jpg is 32×64 but")
            && t.contains("B2/x.jpg is 64×32")
            && t.contains("resized"),
        "{t}"
    );
}

#[test]
fn translate_a_folder_keeps_every_output_and_goes_past_bad_inputs() {
    let ws = temp_workspace("translate-folder");
    let pth = repo().join("tests/fixtures/resnet_legacy_net_G.pth");
    std::fs::create_dir_all(ws.join("in/sub")).unwrap();
    write_image(&ws.join("in/a.png"), 32, 32, 1);
    write_image(&ws.join("in/a.jpg"), 32, 32, 4);
    write_image(&ws.join("in/b.png"), 1, 1, 2);
    write_image(&ws.join("in/c.png"), 24, 20, 3);
    write_image(&ws.join("in/sub/c.png"), 32, 32, 5);
    std::fs::write(ws.join("in/d.png"), b"not a png").unwrap();
    let translate = |extra: &[&str]| {
        run(bin()
            .current_dir(&ws)
            .args([
                "translate",
                "--checkpoint",
                pth.to_str().unwrap(),
                "--input",
                "in",
                "--output",
                "out",
                "--eval",
            ])
            .args(extra))
    };
    let out = translate(&[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("in/b.png: 1×1 px") && t.contains("at least 5 px"),
        "the tiny one is named with its size and the limit: {t}"
    );
    assert!(t.contains("in/d.png") && t.contains("cannot read"), "{t}");
    let last = last_line(&out);
    assert!(
        last.contains("translated 4 of 6") && last.contains("2 failed"),
        "{last}"
    );
    for f in ["a.png.png", "a.jpg.png", "c.png", "sub/c.png"] {
        assert!(ws.join("out").join(f).is_file(), "{f}: {t}");
    }
    assert_eq!(
        image::image_dimensions(ws.join("out/c.png")).unwrap(),
        (24, 20)
    );
    assert_ne!(
        std::fs::read(ws.join("out/a.png.png")).unwrap(),
        std::fs::read(ws.join("out/a.jpg.png")).unwrap(),
        "two inputs, two results"
    );
    assert!(!ws.join("out/b.png").exists() && !ws.join("out/d.png").exists());

    // nothing is replaced without --force
    let before = std::fs::read(ws.join("out/c.png")).unwrap();
    std::fs::write(ws.join("out/c.png"), b"mine").unwrap();
    let out = translate(&[]);
    let t = text(&out);
    assert!(
        !out.status.success() && t.contains("out/c.png") && t.contains("--force"),
        "{t}"
    );
    assert_eq!(std::fs::read(ws.join("out/c.png")).unwrap(), b"mine");
    let out = translate(&["--force"]);
    assert_eq!(out.status.code(), Some(1), "the bad inputs still fail");
    assert_eq!(std::fs::read(ws.join("out/c.png")).unwrap(), before);
}

fn inspect_is_clean(ws: &Path, dataset: &str) {
    let out = run(bin().current_dir(ws).args(["dataset", "inspect", dataset]));
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("aligned") && t.contains("no problems found"),
        "{t}"
    );
}

#[test]
fn dataset_helpers_chain_into_what_inspect_accepts() {
    let ws = temp_workspace("chain");
    std::fs::create_dir_all(ws.join("photos")).unwrap();
    for (i, (w, h)) in [(48, 32), (30, 40), (36, 36)].into_iter().enumerate() {
        write_image(&ws.join(format!("photos/{i}.png")), w, h, i as u8);
    }
    let out = run(bin().current_dir(&ws).args([
        "dataset", "prepare", "edges", "--photos", "photos", "--out", "e2p",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let sizes: Vec<(u32, u32)> = (0..3)
        .map(|i| image::image_dimensions(ws.join(format!("e2p/train/{i}.png"))).unwrap())
        .collect();
    assert_eq!(sizes, [(64, 32), (60, 30), (72, 36)], "2:1 pairs");
    inspect_is_clean(&ws, "e2p");

    let out = run(bin()
        .current_dir(&ws)
        .args(["dataset", "prepare", "resize", "e2p", "--size", "16"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(last_line(&out).contains("e2p-16px"), "{}", text(&out));
    for i in 0..3 {
        assert_eq!(
            image::image_dimensions(ws.join(format!("e2p-16px/train/{i}.png"))).unwrap(),
            (32, 16),
            "each half resized to 16"
        );
    }
    assert_eq!(
        image::image_dimensions(ws.join("e2p/train/0.png")).unwrap(),
        (64, 32),
        "the dataset itself is unchanged"
    );
    inspect_is_clean(&ws, "e2p-16px");

    // flat A/B folders make an aligned dataset; unpaired files are named, not dropped silently
    std::fs::create_dir_all(ws.join("A")).unwrap();
    std::fs::create_dir_all(ws.join("B")).unwrap();
    for i in 0..3 {
        write_image(&ws.join(format!("A/{i}.png")), 20, 20, i);
    }
    for i in 0..2 {
        write_image(&ws.join(format!("B/{i}.png")), 20, 20, i + 5);
    }
    write_image(&ws.join("B/extra.png"), 20, 20, 9);
    let out = run(bin().current_dir(&ws).args([
        "dataset", "prepare", "combine", "--a", "A", "--b", "B", "--out", "AB",
    ]));
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("A/2.png") && t.contains("B/extra.png"), "{t}");
    assert!(
        t.contains("2 pairs") && t.contains("2 file(s) without a partner"),
        "{t}"
    );
    assert_eq!(
        image::image_dimensions(ws.join("AB/train/1.png")).unwrap(),
        (40, 20)
    );
    inspect_is_clean(&ws, "AB");
}

#[test]
fn commands_take_the_workspace_names_and_paths() {
    let elsewhere = temp_workspace("names-cwd");
    let repo = repo();
    let in_repo = |args: &[&str]| {
        run(bin()
            .current_dir(&elsewhere)
            .arg("--workspace")
            .arg(&repo)
            .args(args))
    };
    // a dataset by the name `dataset list` prints, and by a path relative to the workspace
    for name in ["edges2photo", "datasets/edges2photo"] {
        let out = in_repo(&["dataset", "inspect", name]);
        let t = text(&out);
        assert!(out.status.success(), "{name}: {t}");
        assert!(t.starts_with("edges2photo") && t.contains("aligned"), "{t}");
        let out = in_repo(&["dataset", "validate", name]);
        assert!(out.status.success(), "{}", text(&out));
    }
    // what does not exist is an error that says what is there
    let out = in_repo(&["dataset", "inspect", "edges2fotos"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("no dataset `edges2fotos`") && t.contains("edges2photo"),
        "{t}"
    );
    let out = in_repo(&["dataset", "validate", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // presets by name in check, train, stylize and sweep
    let out = in_repo(&["preset", "check", "nst-quick"]);
    assert!(
        out.status.success() && text(&out).contains("valid nst preset"),
        "{}",
        text(&out)
    );
    for args in [
        vec!["preset", "check", "nst-quik"],
        vec!["train", "nst-quik"],
        vec!["stylize", "--preset", "nst-quik"],
        vec!["sweep", "nst-quik", "--grid", "train.lr=0.01,0.02"],
    ] {
        let out = in_repo(&args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {t}");
        assert!(
            t.contains("no preset `nst-quik`") && t.contains("nst-quick"),
            "{args:?}: {t}"
        );
    }
    let vgg = tiny_vgg();
    let vgg = vgg.to_str().unwrap();
    let out = in_repo(&[
        "stylize",
        "--quiet",
        "--preset",
        "nst-quick",
        "--vgg",
        vgg,
        "--size",
        "32",
        "--iterations",
        "1",
        "--run-dir",
        elsewhere.join("styl").to_str().unwrap(),
        "-o",
        "out.png",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(elsewhere.join("out.png").is_file());
    let vgg_set = format!("model.vgg_weights=\"{vgg}\"");
    let out = in_repo(&[
        "train",
        "nst-quick",
        "--quiet",
        "--set",
        &vgg_set,
        "--set",
        "data.image_size=32",
        "--max-steps",
        "1",
        "--run-dir",
        elsewhere.join("tr").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(read_json(&elsewhere.join("tr/run.json"))["preset"]
        .as_str()
        .unwrap()
        .ends_with("presets/nst-quick.toml"));
}

#[test]
fn detach_prints_its_lines_apart_in_one_stream() {
    let ws = temp_workspace("detach-lines");
    write_image(&ws.join("c.png"), 32, 32, 1);
    write_image(&ws.join("s.png"), 32, 32, 2);
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::write(
        ws.join("presets/quick.toml"),
        format!(
            "kind = \"nst\"\n[data]\ncontent = \"c.png\"\nstyle = \"s.png\"\nimage_size = 32\n\
             [model]\nvgg_weights = \"{}\"\n[train]\niterations = 3\n",
            tiny_vgg().display()
        ),
    )
    .unwrap();
    let root = ws.join("runs/q");
    // stdout and stderr into one pipe, as a terminal shows them: the trainer may finish (its log
    // is then echoed) or still run; either way the run directory is a line of its own
    let out = run(std::process::Command::new("sh")
        .arg("-c")
        .arg("\"$0\" --workspace \"$1\" train quick --detach --run-dir \"$2\" 2>&1")
        .arg(env!("CARGO_BIN_EXE_aiart"))
        .arg(&ws)
        .arg(&root)
        .env_remove("AIART_HOME"));
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.lines().any(|l| l == root.to_str().unwrap()),
        "the run directory alone on a line: {t:?}"
    );
    assert!(
        wait_for(120, || std::fs::read_to_string(root.join("status.json"))
            .is_ok_and(|s| s.contains("\"finished\""))),
        "{}",
        std::fs::read_to_string(root.join("train.log")).unwrap_or_default()
    );
}

#[test]
fn every_flag_and_argument_has_help_text() {
    for args in [
        &["dataset", "prepare", "combine"][..],
        &["dataset", "prepare", "edges"],
        &["dataset", "prepare", "split"],
        &["dataset", "prepare", "resize"],
        &["dataset", "inspect"],
        &["dataset", "validate"],
        &["dataset", "fetch"],
        &["translate"],
        &["stylize"],
        &["train"],
        &["sweep"],
        &["sweep", "show"],
        &["sweep", "stop"],
        &["runs", "show"],
        &["runs", "set"],
        &["runs", "pause"],
        &["preset", "check"],
        &["view"],
        &["bench"],
    ] {
        let out = run(bin().args(args).arg("--help"));
        let t = text(&out);
        assert!(out.status.success(), "{args:?}: {t}");
        let lines: Vec<&str> = t.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let entry = l.trim_start();
            let is_entry = l.starts_with("  ")
                && (entry.starts_with("--") || entry.starts_with('-') || entry.starts_with('<'));
            if !is_entry || l.starts_with("        ") {
                continue;
            }
            let described = entry.split("  ").filter(|p| !p.trim().is_empty()).count() > 1
                || lines
                    .get(i + 1)
                    .is_some_and(|n| n.starts_with("          "));
            assert!(described, "{args:?}: `{entry}` has no help text\n{t}");
        }
    }
}

#[test]
fn dataset_helpers_name_what_they_cannot_read_and_lose_nothing() {
    let ws = temp_workspace("prepare-bad");
    std::fs::create_dir_all(ws.join("photos")).unwrap();
    write_image(&ws.join("photos/0.png"), 24, 24, 1);
    std::fs::write(ws.join("photos/bad.png"), b"not a png").unwrap();
    write_image(&ws.join("photos/2.png"), 24, 24, 2);
    let out = run(bin().current_dir(&ws).args([
        "dataset", "prepare", "edges", "--photos", "photos", "--out", "e2p",
    ]));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("photos/bad.png: cannot read"), "{t}");
    let last = last_line(&out);
    assert!(
        last.contains("2 edge/photo pairs") && last.contains("1 could not be read"),
        "{last}"
    );
    assert!(ws.join("e2p/train/0.png").is_file() && ws.join("e2p/train/2.png").is_file());

    // resizing (into photos-12px) copies what it cannot read, and files that are not images
    std::fs::write(ws.join("photos/notes.txt"), b"where these came from").unwrap();
    let out = run(bin()
        .current_dir(&ws)
        .args(["dataset", "prepare", "resize", "photos", "--size", "12"]));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("photos/bad.png") && t.contains("copied unchanged"),
        "{t}"
    );
    for dir in ["photos", "photos-12px"] {
        assert_eq!(
            std::fs::read(ws.join(dir).join("bad.png")).unwrap(),
            b"not a png"
        );
        assert_eq!(
            std::fs::read(ws.join(dir).join("notes.txt")).unwrap(),
            b"where these came from"
        );
    }
    assert_eq!(
        image::image_dimensions(ws.join("photos-12px/0.png")).unwrap(),
        (12, 12)
    );
    assert_eq!(
        image::image_dimensions(ws.join("photos/0.png")).unwrap(),
        (24, 24)
    );
}
