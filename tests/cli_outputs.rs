//! Where the image-writing commands write, through the real binary (issue 29): one output rule
//! for translate, stylize (--model and optimisation) and the dataset helpers — an existing output
//! needs --force, an output that is one of the inputs is refused even with it, an unwritable place
//! is found before any work, --skip-existing goes on with an interrupted folder run.

mod common;
mod image_commands;
use common::*;
use image_commands::*;
use std::path::{Path, PathBuf};
use std::process::Output;

#[test]
fn an_output_that_is_an_input_is_refused_even_with_force() {
    let ws = temp_workspace("out-self");
    let g = legacy_generator(&ws.join("g.pth"));
    transformer_net(&ws.join("m.safetensors"));
    write_image(&ws.join("photo.png"), 64, 48, 1);
    write_image(&ws.join("s.png"), 16, 16, 2);
    frames(&ws.join("frames"), 2);
    let photo = std::fs::read(ws.join("photo.png")).unwrap();
    let gp = g.to_str().unwrap();
    for force in [&[][..], &["--force"][..]] {
        for spelling in ["photo.png", "./frames/../photo.png"] {
            let out = translate(&ws, gp, "photo.png", spelling, force);
            failed_saying(&out, &["it is the input", "photo.png", "even with --force"]);
            let out = stylize_model(&ws, "m.safetensors", "photo.png", spelling, force);
            failed_saying(&out, &["it is the input", "even with --force"]);
        }
        // the network's own file, and a folder output that is the input folder
        let out = translate(&ws, gp, "photo.png", gp, force);
        failed_saying(&out, &["it is the input", "g.pth"]);
        let out = translate(&ws, gp, "frames", "frames", force);
        failed_saying(&out, &["--output frames", "it is the input"]);
        let out = stylize_model(&ws, "m.safetensors", "frames", "./frames/", force);
        failed_saying(&out, &["it is the input"]);
        let out = stylize_nst(&ws, "photo.png", "photo.png", force);
        failed_saying(&out, &["it is the input", "photo.png"]);
        let out = stylize_nst(&ws, "photo.png", "s.png", force);
        failed_saying(&out, &["it is the input", "s.png"]);
        assert!(!ws.join("run").exists(), "no run was started");
    }
    assert_eq!(std::fs::read(ws.join("photo.png")).unwrap(), photo);
    assert!(!ws.join("frames/f0.png.png").exists());
    // the dataset helpers replace their output whole: not an input, nor a folder holding one
    let out = aiart_dataset(
        &ws,
        &["edges", "--photos", "frames", "--out", "frames", "--force"],
    );
    failed_saying(&out, &["--out frames", "it is the input"]);
    std::fs::create_dir_all(ws.join("d/A")).unwrap();
    std::fs::create_dir_all(ws.join("d/B")).unwrap();
    write_image(&ws.join("d/A/x.png"), 8, 8, 1);
    write_image(&ws.join("d/B/x.png"), 8, 8, 2);
    let out = aiart_dataset(
        &ws,
        &[
            "combine", "--a", "d/A", "--b", "d/B", "--out", "d", "--force",
        ],
    );
    failed_saying(&out, &["--out d", "it holds the input", "d/A"]);
    let out = aiart_dataset(
        &ws,
        &[
            "resize", "frames", "--size", "8", "--out", "frames/.", "--force",
        ],
    );
    failed_saying(&out, &["it is the input"]);
    assert!(ws.join("d/A/x.png").is_file() && ws.join("frames/f1.png").is_file());
    assert_eq!(image::open(ws.join("frames/f1.png")).unwrap().width(), 24);
    let _ = std::fs::remove_dir_all(&ws);
}

fn aiart_dataset(ws: &Path, args: &[&str]) -> Output {
    run(bin()
        .current_dir(ws)
        .args(["dataset", "prepare"])
        .args(args))
}

#[test]
fn an_existing_output_needs_force() {
    let ws = temp_workspace("out-exists");
    let g = legacy_generator(&ws.join("g.pth"));
    write_image(&ws.join("photo.png"), 64, 48, 1);
    write_image(&ws.join("s.png"), 16, 16, 2);
    write_image(&ws.join("old.png"), 8, 8, 3);
    let old = std::fs::read(ws.join("old.png")).unwrap();
    let gp = g.to_str().unwrap();
    let out = translate(&ws, gp, "photo.png", "old.png", &[]);
    failed_saying(&out, &["old.png already exists", "--force"]);
    let out = stylize_nst(&ws, "photo.png", "old.png", &[]);
    failed_saying(&out, &["old.png already exists", "--force"]);
    assert!(!ws.join("run").exists(), "refused before the run was made");
    assert_eq!(std::fs::read(ws.join("old.png")).unwrap(), old);
    let out = translate(&ws, gp, "photo.png", "old.png", &["--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(image::open(ws.join("old.png")).unwrap().width(), 64);
    let out = stylize_nst(&ws, "photo.png", "old.png", &["--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(image::open(ws.join("old.png")).unwrap().width(), 32);
    let _ = std::fs::remove_dir_all(&ws);
}

/// A folder nobody but a privileged user can write: None (with the reason printed) where this
/// process writes it all the same (root ignores permissions).
fn read_only_folder(dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join("probe");
    if std::fs::write(&probe, b"x").is_ok() {
        let _ = std::fs::remove_file(&probe);
        eprintln!(
            "skipping the read-only folder case: this process writes into a 0555 folder (root); \
             the folder-under-a-file case still runs"
        );
        return None;
    }
    Some(dir.to_path_buf())
}

#[test]
fn an_unwritable_output_is_found_before_any_work() {
    let ws = temp_workspace("out-unwritable");
    let g = legacy_generator(&ws.join("g.pth"));
    transformer_net(&ws.join("m.safetensors"));
    frames(&ws.join("frames"), 3);
    write_image(&ws.join("photo.png"), 64, 48, 1);
    write_image(&ws.join("s.png"), 16, 16, 2);
    std::fs::write(ws.join("file"), b"a regular file").unwrap();
    let mut places = vec!["file/out".to_string()];
    if let Some(ro) = read_only_folder(&ws.join("ro")) {
        places.push(format!("{}/out", ro.display()));
        places.push(ro.display().to_string());
    }
    // a folder that refuses new files to root too
    if Path::new("/proc/self").is_dir() {
        places.push("/proc/self/aiart-out".into());
    }
    let gp = g.to_str().unwrap();
    for place in &places {
        let one_img = format!("{place}/x.png");
        for out in [
            translate(&ws, gp, "frames", place, &[]),
            translate(&ws, gp, "photo.png", &one_img, &[]),
            stylize_model(&ws, "m.safetensors", "frames", place, &[]),
            stylize_model(&ws, "m.safetensors", "photo.png", &one_img, &[]),
        ] {
            let t = failed_saying(
                &out,
                &[place.as_str(), "cannot write there", "nothing was done"],
            );
            assert!(!t.contains("skipping"), "no image was tried: {t}");
            assert_eq!(t.matches("error:").count(), 1, "one error: {t}");
        }
        let out = stylize_nst(&ws, "photo.png", &one_img, &[]);
        failed_saying(&out, &[place.as_str(), "cannot write there"]);
        assert!(!ws.join("run").exists(), "refused before the run was made");
        let edges = format!("{place}/edges");
        let out = aiart_dataset(&ws, &["edges", "--photos", "frames", "--out", &edges]);
        failed_saying(&out, &[place.as_str(), "cannot write there"]);
    }
    if ws.join("ro").exists() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(ws.join("ro"), std::fs::Permissions::from_mode(0o755));
    }
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn skip_existing_goes_on_with_an_interrupted_folder_run() {
    let ws = temp_workspace("out-skip");
    let g = legacy_generator(&ws.join("g.pth"));
    transformer_net(&ws.join("m.safetensors"));
    frames(&ws.join("frames"), 4);
    let gp = g.to_str().unwrap();
    for (cmd, verb) in [("translate", "translated"), ("stylize", "stylized")] {
        let go = |extra: &[&str]| match cmd {
            "translate" => translate(&ws, gp, "frames", cmd, extra),
            _ => stylize_model(&ws, "m.safetensors", "frames", cmd, extra),
        };
        let out = go(&[]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(last_line(&out), format!("{verb} 4 images to {cmd}"));
        let dir = ws.join(cmd);
        // as an interruption leaves it: one result missing, one cut short (another tool's copy)
        let whole = std::fs::read(dir.join("f1.png")).unwrap();
        std::fs::remove_file(dir.join("f0.png")).unwrap();
        std::fs::write(dir.join("f1.png"), &whole[..whole.len() / 2]).unwrap();
        let kept = std::fs::metadata(dir.join("f2.png"))
            .unwrap()
            .modified()
            .unwrap();
        let out = go(&[]);
        failed_saying(&out, &["3 outputs already exist", "--skip-existing"]);
        let out = go(&["--skip-existing"]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(
            last_line(&out),
            format!("{verb} 2 images to {cmd}; 2 skipped (already there, --skip-existing)")
        );
        let redone = image::open(dir.join("f1.png")).expect("redone whole");
        assert_eq!((redone.width(), redone.height()), (24, 16));
        if cmd == "stylize" {
            assert_eq!(std::fs::read(dir.join("f1.png")).unwrap(), whole);
        }
        assert!(dir.join("f0.png").is_file());
        let now = std::fs::metadata(dir.join("f2.png"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(now, kept, "a complete result is not made again");
        let out = go(&["--skip-existing"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            last_line(&out).contains("all 4 outputs are already in"),
            "{}",
            text(&out)
        );
        let out = go(&["--skip-existing", "--force"]);
        failed_saying(&out, &["--skip-existing", "--force"]);
    }
    let _ = std::fs::remove_dir_all(&ws);
}

/// Optimisation-based style transfer from flags, two steps at 32 px, `extra` after them.
fn stylize_flags(ws: &Path, extra: &[&str]) -> Output {
    let base = [
        "stylize",
        "--content",
        "photo.png",
        "--style",
        "s.png",
        "--size",
        "32",
        "--iterations",
        "2",
        "--quiet",
        "--run-dir",
        "run",
    ];
    run(bin()
        .current_dir(ws)
        .env_remove("AIART_VGG")
        .args(base)
        .args(extra))
}

#[test]
fn every_file_a_command_reads_is_an_input() {
    let ws = temp_workspace("out-reads");
    write_image(&ws.join("photo.png"), 64, 48, 1);
    write_image(&ws.join("s.png"), 16, 16, 2);
    // the bundled default VGG of this workspace, one given by --vgg, and one a preset names
    std::fs::create_dir_all(ws.join("weights")).unwrap();
    let bundled = ws.join("weights/vgg19-caffe-q8.safetensors");
    std::fs::copy(tiny_vgg(), &bundled).unwrap();
    std::fs::copy(tiny_vgg(), ws.join("v.safetensors")).unwrap();
    let preset = "kind = \"nst\"\n[model]\nvgg_weights = \"v.safetensors\"\n";
    std::fs::write(ws.join("p.toml"), preset).unwrap();
    let vgg = std::fs::read(tiny_vgg()).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&[], "weights/vgg19-caffe-q8.safetensors"),
        (&["--vgg", "v.safetensors"], "./v.safetensors"),
        (&["--preset", "p.toml"], "v.safetensors"),
        (&["--preset", "p.toml"], "p.toml"),
    ];
    for (flags, output) in cases {
        let mut extra = flags.to_vec();
        extra.extend(["--output", output, "--force"]);
        let out = stylize_flags(&ws, &extra);
        failed_saying(&out, &["it is the input", "even with --force"]);
        assert!(
            !ws.join("run").exists(),
            "refused before the run: {extra:?}"
        );
    }
    assert_eq!(std::fs::read(&bundled).unwrap(), vgg);
    assert_eq!(std::fs::read(ws.join("v.safetensors")).unwrap(), vgg);
    assert_eq!(std::fs::read_to_string(ws.join("p.toml")).unwrap(), preset);
    // the preset's VGG is the one used: another output is made with it
    let out = stylize_flags(&ws, &["--preset", "p.toml", "--output", "r.png"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(ws.join("r.png").is_file());

    // translate: the reference's train_opt.txt beside a generator file is read too
    let g = legacy_generator(&ws.join("ck/g.pth"));
    std::fs::write(ws.join("ck/train_opt.txt"), "direction: AtoB\n").unwrap();
    let out = translate(
        &ws,
        g.to_str().unwrap(),
        "photo.png",
        "ck/train_opt.txt",
        &["--force"],
    );
    failed_saying(&out, &["it is the input", "train_opt.txt"]);
    assert_eq!(
        std::fs::read_to_string(ws.join("ck/train_opt.txt")).unwrap(),
        "direction: AtoB\n"
    );
    // stylize --model: a checkpoint folder's meta.json as well as its network
    std::fs::create_dir_all(ws.join("fast")).unwrap();
    transformer_net(&ws.join("fast/transformer_net.safetensors"));
    let meta = r#"{"kind":"fast_neural_style"}"#;
    std::fs::write(ws.join("fast/meta.json"), meta).unwrap();
    for output in ["fast/meta.json", "fast/transformer_net.safetensors"] {
        let out = stylize_model(&ws, "fast", "photo.png", output, &["--force"]);
        failed_saying(&out, &["it is the input", output]);
    }
    assert_eq!(
        std::fs::read_to_string(ws.join("fast/meta.json")).unwrap(),
        meta
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn an_output_folder_inside_the_input_folder_is_not_an_input() {
    let ws = temp_workspace("out-nested");
    let g = legacy_generator(&ws.join("g.pth"));
    transformer_net(&ws.join("m.safetensors"));
    let gp = g.to_str().unwrap();
    for (cmd, verb) in [("translate", "translated"), ("stylize", "stylized")] {
        // a folder of its own: the other command's results would be inputs of this one
        let input = format!("frames-{cmd}");
        frames(&ws.join(&input), 3);
        let output = format!("{input}/out");
        let go = |extra: &[&str]| match cmd {
            "translate" => translate(&ws, gp, &input, &output, extra),
            _ => stylize_model(&ws, "m.safetensors", &format!("./{input}"), &output, extra),
        };
        let out = go(&[]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(last_line(&out), format!("{verb} 3 images to {output}"));
        // as an interruption leaves it: one result not made yet
        let dir = ws.join(&output);
        std::fs::remove_file(dir.join("f0.png")).unwrap();
        let out = go(&["--skip-existing"]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(
            last_line(&out),
            format!("{verb} 1 images to {output}; 2 skipped (already there, --skip-existing)")
        );
        let out = go(&["--force"]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(last_line(&out), format!("{verb} 3 images to {output}"));
        assert!(!dir.join("out").exists(), "no result of a result");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
    }
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn resize_without_out_writes_a_new_folder_beside_the_dataset() {
    let ws = temp_workspace("out-resize");
    std::fs::create_dir_all(ws.join("ds")).unwrap();
    write_image(&ws.join("ds/a.jpg"), 32, 16, 1);
    write_image(&ws.join("ds/b.png"), 16, 32, 2);
    std::fs::write(ws.join("ds/notes.txt"), "kept").unwrap();
    let before: Vec<Vec<u8>> = ["a.jpg", "b.png"]
        .iter()
        .map(|f| std::fs::read(ws.join("ds").join(f)).unwrap())
        .collect();
    let out = aiart_dataset(&ws, &["resize", "ds", "--size", "8"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(last_line(&out).contains("ds-8px"), "{}", text(&out));
    assert_eq!(image::open(ws.join("ds-8px/a.png")).unwrap().width(), 8);
    assert_eq!(image::open(ws.join("ds-8px/b.png")).unwrap().height(), 8);
    assert_eq!(
        std::fs::read_to_string(ws.join("ds-8px/notes.txt")).unwrap(),
        "kept"
    );
    let after: Vec<Vec<u8>> = ["a.jpg", "b.png"]
        .iter()
        .map(|f| std::fs::read(ws.join("ds").join(f)).unwrap())
        .collect();
    assert_eq!(after, before, "the dataset is unchanged");
    assert_eq!(std::fs::read_dir(ws.join("ds")).unwrap().count(), 3);
    let out = aiart_dataset(&ws, &["resize", "ds", "--size", "8"]);
    failed_saying(&out, &["ds-8px already exists", "--force"]);
    let out = aiart_dataset(&ws, &["resize", "ds", "--size", "8", "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&ws);
}
