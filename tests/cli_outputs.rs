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
