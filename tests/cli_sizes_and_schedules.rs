//! Through the real binary: sizes the networks, preprocessing or batches cannot take are found
//! before step 0 (issue 18.1); unreadable files are named with their folder (18.2); a converged or
//! diverging optimisation keeps its result (18.4); a finished run continues to a longer schedule
//! (18.6); a run's total is the steps it takes (21.3).

mod common;
use common::*;
use image::GenericImageView;
use std::path::Path;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn image(path: &Path, w: u32, h: u32, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    write_image(path, w, h, seed);
}

fn events(run: &Path, kind: &str) -> Vec<String> {
    read_jsonl(&run.join("events.jsonl"))
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect()
}

fn assert_has(t: &str, wants: &[&str]) {
    for w in wants {
        assert!(t.contains(w), "`{w}` missing from:\n{t}");
    }
}

#[test]
fn pix2pix_none_unet_128_is_refused_before_step_0_naming_the_image() {
    let ws = temp_workspace("size-p2p");
    image(&ws.join("data/train/wide.png"), 200, 70, 1);
    write(
        &ws.join("p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\npreprocess = \"none\"\n\
         [model]\nnetG = \"unet_128\"\nngf = 4\nndf = 4\n",
    );
    // the preset alone cannot decide: it is valid, and says what the images must be
    let out = run(bin().current_dir(&ws).args(["preset", "check", "p.toml"]));
    assert!(out.status.success(), "{}", text(&out));
    assert_has(&text(&out), &["multiple of 128", "dataset validate"]);
    // the images decide: dataset validate with the preset, and train, name the file and the rule
    let out = run(bin()
        .current_dir(&ws)
        .args(["dataset", "validate", "data", "--preset", "p.toml"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert_has(
        &t,
        &[
            "wide.png",
            "100×70",
            "100×72",
            "none",
            "unet_128",
            "multiple of 128",
            "128×128",
        ],
    );
    assert!(!t.contains("conv2d"), "{t}");
    let out = run(bin()
        .current_dir(&ws)
        .args(["train", "p.toml", "--run-dir", "runs/r"]));
    assert!(!out.status.success());
    let t = text(&out);
    assert_has(&t, &["wide.png", "100×72", "multiple of 128"]);
    assert!(!t.contains("conv2d") && !t.contains("kernel"), "{t}");
    assert!(!ws.join("runs").exists(), "no run directory is made");
    // nor by a detached start
    let out = run(bin().current_dir(&ws).args(["train", "p.toml", "--detach"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_has(&text(&out), &["wide.png", "multiple of 128"]);
    assert!(!ws.join("runs").exists(), "no run directory is made");
    // without a preset, validate says the sizes were not checked
    let out = run(bin().current_dir(&ws).args(["dataset", "validate", "data"]));
    assert!(out.status.success());
    assert!(text(&out).contains("--preset"), "{}", text(&out));
}

#[test]
fn cyclegan_scale_width_portraits_are_refused_before_step_0() {
    let ws = temp_workspace("size-cyc");
    image(&ws.join("data/trainA/a.png"), 70, 100, 1);
    image(&ws.join("data/trainB/b.png"), 70, 100, 2);
    write(
        &ws.join("c.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"data\"\npreprocess = \"scale_width\"\n\
         load_size = 64\ncrop_size = 64\n[model]\nngf = 4\nndf = 4\n",
    );
    let out = run(bin().current_dir(&ws).args(["preset", "check", "c.toml"]));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(bin().current_dir(&ws).args(["train", "c.toml"]));
    assert!(!out.status.success());
    let t = text(&out);
    assert_has(
        &t,
        &[
            "trainA/a.png",
            "trainB/b.png",
            "70×100",
            "64×91",
            "scale_width",
            "resnet_9blocks",
            "multiple of 4",
        ],
    );
    assert!(!t.contains("shape mismatch"), "{t}");
    assert!(!ws.join("runs").exists(), "no run directory is made");
    let out = run(bin()
        .current_dir(&ws)
        .args(["dataset", "validate", "data", "--preset", "c.toml"]));
    assert_eq!(out.status.code(), Some(1));
    assert_has(&text(&out), &["trainA/a.png", "64×91"]);
    // a width the generator cannot take is the preset's own problem
    let out = run(bin().current_dir(&ws).args([
        "preset",
        "check",
        "c.toml",
        "--set",
        "data.load_size=66",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert_has(
        &text(&out),
        &["data.load_size", "multiple of 4", "64 or 68"],
    );
}

/// pix2pix's `none` rounds each side to a multiple of 4 as the reference does, and says so.
#[test]
fn preprocess_none_rounds_to_4_as_the_reference_and_says_so() {
    let ws = temp_workspace("size-none");
    for i in 0..2 {
        image(&ws.join(format!("data/train/{i}.png")), 66, 30, i);
    }
    write(
        &ws.join("p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\npreprocess = \"none\"\n\
         [model]\nnetG = \"resnet_2blocks\"\nnetD = \"pixel\"\nngf = 4\nndf = 4\n\
         [train]\nn_epochs = 1\nn_epochs_decay = 0\n",
    );
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "p.toml", "--run-dir", "runs/r", "--quiet"]));
    assert!(out.status.success(), "{}", text(&out));
    assert_has(
        &text(&out),
        &["33×30", "32×32", "multiple of 4", "reference"],
    );
    let warned = events(&ws.join("runs/r"), "warning");
    assert!(
        warned.iter().any(|w| w.contains("32×32")),
        "the run says so too: {warned:?}"
    );
    assert_eq!(read_json(&ws.join("runs/r/status.json"))["step"], 2);
}

#[test]
fn unreadable_files_are_named_with_their_folder() {
    let ws = temp_workspace("badB");
    for i in 0..3 {
        image(&ws.join(format!("data/trainA/{i}.png")), 32, 32, i);
    }
    write(
        &ws.join("data/trainB/notes.jpg"),
        "this is text, not a JPEG",
    );
    // a PNG cut after its header: its size reads, its pixels do not
    let mut png = vec![];
    image::RgbImage::from_pixel(32, 32, image::Rgb([9, 99, 199]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    std::fs::write(ws.join("data/trainB/cut.png"), &png[..60]).unwrap();
    write(
        &ws.join("c.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"resnet_2blocks\"\nngf = 4\nndf = 4\n",
    );
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "c.toml", "--run-dir", "runs/r", "--quiet"]));
    assert!(!out.status.success());
    let t = text(&out);
    assert_has(
        &t,
        &["trainB", "notes.jpg", "cut.png", "none of its 2 images"],
    );
    assert!(!t.contains("5 images"), "{t}");
    // the skipped files are reported as warnings too, before the error
    let warned = events(&ws.join("runs/r"), "warning").join("\n");
    assert_has(&warned, &["notes.jpg", "cut.png"]);
    let err = events(&ws.join("runs/r"), "error").join("\n");
    assert_has(&err, &["trainB", "cut.png"]);
}

/// pix2pix on two 64×32 pairs: 2 steps an epoch.
fn small_pix2pix(ws: &Path, epochs: u64, decay: u64) {
    for i in 0..2 {
        image(&ws.join(format!("data/train/{i}.png")), 64, 32, i as u8);
    }
    write(
        &ws.join("p.toml"),
        &format!(
            "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
             [model]\nnetG = \"unet_32\"\nngf = 2\nndf = 2\n[train]\nlr = 0.0002\n\
             n_epochs = {epochs}\nn_epochs_decay = {decay}\n[log]\nsample_every = 3\ncheckpoint_every = 0\n"
        ),
    );
}

#[test]
fn max_steps_is_the_runs_total_and_its_end_says_so() {
    let ws = temp_workspace("maxsteps");
    small_pix2pix(&ws, 5, 5);
    let out = run(bin().current_dir(&ws).args([
        "train",
        "p.toml",
        "--run-dir",
        "runs/m",
        "--max-steps",
        "3",
        "--quiet",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let status = read_json(&ws.join("runs/m/status.json"));
    assert_eq!(status["step"], 3);
    assert_eq!(
        status["total_steps"], 3,
        "the steps it takes, not the schedule's 20"
    );
    assert_eq!(status["max_steps"], 3);
    assert_has(
        status["message"].as_str().unwrap(),
        &["--max-steps 3", "20"],
    );
    let out = run(bin().current_dir(&ws).args(["runs", "list"]));
    assert_has(&text(&out), &["3/3", "finished (--max-steps 3)"]);
    // the last step is a sample step: one sample event for it, not two
    let samples = events(&ws.join("runs/m"), "sample");
    assert_eq!(
        samples.iter().filter(|m| m.starts_with("step 3:")).count(),
        1,
        "{samples:?}"
    );
}

#[test]
fn a_finished_run_continues_to_a_longer_schedule() {
    let ws = temp_workspace("extend");
    small_pix2pix(&ws, 1, 1);
    let train = |args: &[&str]| run(bin().current_dir(&ws).args(["train", "--quiet"]).args(args));
    let out = train(&["p.toml", "--run-dir", "runs/short"]);
    assert!(out.status.success(), "{}", text(&out));
    let metrics = || read_jsonl(&ws.join("runs/short/metrics.jsonl"));
    assert_eq!(metrics().len(), 4);
    let events_before = std::fs::read_to_string(ws.join("runs/short/events.jsonl")).unwrap();

    // without a change: it is finished; it says how to extend it and leaves the run as it is
    let out = train(&["--resume", "short"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_has(&text(&out), &["finished", "--set train.n_epochs="]);
    assert_eq!(metrics().len(), 4);
    assert_eq!(
        std::fs::read_to_string(ws.join("runs/short/events.jsonl")).unwrap(),
        events_before
    );
    // runs set on a finished run points at the same way
    let out = run(bin()
        .current_dir(&ws)
        .args(["runs", "set", "short", "train.n_epochs=3"]));
    assert!(!out.status.success());
    assert_has(
        &text(&out),
        &["train --resume short --set train.n_epochs=3"],
    );
    // what cannot change in a run, or a schedule it has already done, is refused with advice
    let out = train(&["--resume", "short", "--set", "model.ngf=4"]);
    assert_eq!(out.status.code(), Some(1));
    assert_has(&text(&out), &["model.ngf", "new run"]);
    let out = train(&["--resume", "short", "--set", "train.n_epochs_decay=0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_has(&text(&out), &["nothing to continue"]);
    assert_eq!(metrics().len(), 4);

    // a longer schedule: one trajectory on to step 8, at the lr the reference would use
    let out = train(&["--resume", "short", "--set", "train.n_epochs=3"]);
    assert!(out.status.success(), "{}", text(&out));
    let m = metrics();
    let steps: Vec<u64> = m.iter().map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, (1..=8).collect::<Vec<_>>());
    let status = read_json(&ws.join("runs/short/status.json"));
    assert_eq!(
        (status["step"].as_u64(), status["total_steps"].as_u64()),
        (Some(8), Some(8))
    );
    let effective = std::fs::read_to_string(ws.join("runs/short/preset.toml")).unwrap();
    assert!(effective.contains("n_epochs = 3"), "{effective}");
    assert!(events(&ws.join("runs/short"), "preset_applied")
        .iter()
        .any(|e| e.contains("train.n_epochs")));
    // the reference's --continue_train --epoch_count 3 --n_epochs 3 --n_epochs_decay 1: epoch 3
    // trains at lr₀, epoch 4 at lr₀/2 (the earlier epochs keep what they had)
    let lr = |r: &serde_json::Map<String, serde_json::Value>| r["lr"].as_f64().unwrap();
    let want = [1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 0.5, 0.5];
    for (r, w) in m.iter().zip(want) {
        assert!((lr(r) - 0.0002 * w).abs() < 1e-15, "{r:?}");
    }
    assert_eq!(m[7]["epoch"], 4);
}

fn nst_images(ws: &Path) {
    write_image(&ws.join("c.png"), 40, 32, 1);
    write_image(&ws.join("s.png"), 32, 32, 2);
}

fn stylize(ws: &Path, extra: &[&str]) -> std::process::Output {
    run(bin()
        .current_dir(ws)
        .args([
            "stylize",
            "--quiet",
            "--content",
            "c.png",
            "--style",
            "s.png",
        ])
        .args(["--size", "32", "--vgg", tiny_vgg().to_str().unwrap()])
        .args(extra))
}

#[test]
fn lbfgs_with_a_zero_gradient_converges_and_keeps_its_image() {
    let ws = temp_workspace("converge");
    nst_images(&ws);
    let out = stylize(
        &ws,
        &[
            "--optimizer",
            "lbfgs",
            "--style-weight",
            "0",
            "--iterations",
            "20",
            "--run-dir",
            "runs/z",
            "--output",
            "out.png",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert_has(&t, &["converged at step 0"]);
    assert!(!t.contains("cannot set a variable"), "{t}");
    assert!(ws.join("out.png").is_file() && ws.join("runs/z/result.png").is_file());
    let status = read_json(&ws.join("runs/z/status.json"));
    assert_eq!(status["state"], "finished");
    assert_has(
        status["message"].as_str().unwrap(),
        &["converged", "gradient is zero"],
    );
    // the content image, unmoved: one record, of step 0, whose content cost is 0
    let m = read_jsonl(&ws.join("runs/z/metrics.jsonl"));
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(
        (m[0]["step"].as_u64(), m[0]["content"].as_f64()),
        (Some(0), Some(0.0))
    );
    assert_eq!(
        image::open(ws.join("out.png")).unwrap().dimensions(),
        image::open(ws.join("runs/z/samples/step-00000000.png"))
            .unwrap()
            .dimensions()
    );
    assert_eq!(events(&ws.join("runs/z"), "sample").len(), 1);
}

/// A style weight of 1e38 keeps the first costs finite; L-BFGS's later steps overflow. The run
/// fails, but the image of the last finite step is its result and sample.
#[test]
fn a_cost_that_stops_being_finite_keeps_the_last_finite_image() {
    let ws = temp_workspace("nonfinite");
    nst_images(&ws);
    let out = stylize(
        &ws,
        &[
            "--optimizer",
            "lbfgs",
            "--style-weight",
            "1e38",
            "--lr",
            "0.5",
            "--iterations",
            "10",
            "--run-dir",
            "runs/nf",
            "--output",
            "out.png",
        ],
    );
    assert!(!out.status.success(), "{}", text(&out));
    let m = read_jsonl(&ws.join("runs/nf/metrics.jsonl"));
    let finite: Vec<u64> = m
        .iter()
        .filter(|r| r["total"].as_f64().is_some_and(f64::is_finite))
        .map(|r| r["step"].as_u64().unwrap())
        .collect();
    let last = *finite.last().expect("step 0 is finite");
    assert!(
        m.len() as u64 == last + 2,
        "finite up to step {last}, then not: {m:?}"
    );
    assert_has(
        &text(&out),
        &[
            "not finite",
            &format!("the image of step {last}, the last with a finite cost"),
            "out.png",
        ],
    );
    let sample = ws.join(format!("runs/nf/samples/step-{last:08}.png"));
    assert!(sample.is_file(), "the last finite image is the sample");
    let (result, kept) = (
        image::open(ws.join("out.png")).unwrap().to_rgb8(),
        image::open(&sample).unwrap().to_rgb8(),
    );
    assert_eq!(result, kept, "--output is that image");
    assert!(ws.join("runs/nf/result.png").is_file());
    let status = read_json(&ws.join("runs/nf/status.json"));
    assert_eq!(status["state"], "failed");
    assert_has(
        status["message"].as_str().unwrap(),
        &["last with a finite cost"],
    );
}

/// Style transfer takes a larger `train.iterations` the same way, and a converged run resumed
/// converges again without writing its record twice.
#[test]
fn a_finished_style_transfer_takes_more_iterations() {
    let ws = temp_workspace("nst-extend");
    nst_images(&ws);
    let out = stylize(
        &ws,
        &[
            "--optimizer",
            "adam",
            "--iterations",
            "4",
            "--run-dir",
            "runs/e",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let resume = |extra: &[&str]| {
        run(bin()
            .current_dir(&ws)
            .args(["train", "--quiet", "--resume", "e"])
            .args(extra))
    };
    let out = resume(&[]);
    assert!(out.status.success());
    assert_has(&text(&out), &["finished", "--set train.iterations="]);
    let out = resume(&["--set", "train.iterations=7"]);
    assert!(out.status.success(), "{}", text(&out));
    let steps: Vec<u64> = read_jsonl(&ws.join("runs/e/metrics.jsonl"))
        .iter()
        .map(|r| r["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (0..=7).collect::<Vec<_>>());
    let status = read_json(&ws.join("runs/e/status.json"));
    assert_eq!(
        (status["step"].as_u64(), status["total_steps"].as_u64()),
        (Some(7), Some(7))
    );

    let out = stylize(
        &ws,
        &[
            "--optimizer",
            "lbfgs",
            "--style-weight",
            "0",
            "--iterations",
            "3",
            "--run-dir",
            "runs/c",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run(bin().current_dir(&ws).args([
        "train",
        "--quiet",
        "--resume",
        "c",
        "--set",
        "train.iterations=9",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    assert_has(&text(&out), &["converged at step 0"]);
    assert_eq!(read_jsonl(&ws.join("runs/c/metrics.jsonl")).len(), 1);
}

/// Coarse to fine, a coarse scale whose L-BFGS converges ends there and the next scale starts.
#[test]
fn a_converged_coarse_scale_hands_over_to_the_next() {
    let ws = temp_workspace("converge-scales");
    nst_images(&ws);
    let out = stylize(
        &ws,
        &[
            "--optimizer",
            "lbfgs",
            "--style-weight",
            "0",
            "--scales",
            "24,32",
            "--iterations",
            "3,3",
            "--run-dir",
            "runs/s",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let converged = events(&ws.join("runs/s"), "converged");
    assert!(
        converged
            .iter()
            .any(|e| e.starts_with("step 0:") && e.contains("scale 1/2")),
        "{converged:?}"
    );
    let m = read_jsonl(&ws.join("runs/s/metrics.jsonl"));
    let at = |step: u64| {
        m.iter()
            .find(|r| r["step"] == step)
            .map(|r| r["scale"].clone())
    };
    assert_eq!(at(0), Some(serde_json::json!(1.0)));
    assert_eq!(
        at(3),
        Some(serde_json::json!(1.0)),
        "the end of scale 1: {m:?}"
    );
    assert!(m.iter().any(|r| r["scale"] == 2.0), "scale 2 runs: {m:?}");
    assert!(ws.join("runs/s/result.png").is_file());
}

/// `--resume --set` on a run that is live points at `runs set` and the preset file.
#[test]
fn resume_set_on_a_live_run_points_at_runs_set() {
    /// Ends the detached trainer even when an assertion fails first.
    struct Stop(std::path::PathBuf);
    impl Drop for Stop {
        fn drop(&mut self) {
            let lock = self.0.join("runs/l/lock");
            let pid = std::fs::read(lock)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["pid"].as_i64());
            if let Some(pid) = pid {
                unsafe { libc_kill(pid as i32, 9) };
            }
        }
    }
    let ws = temp_workspace("live-set");
    small_pix2pix(&ws, 100000, 0);
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "p.toml", "--run-dir", "runs/l", "--detach"]));
    assert!(out.status.success(), "{}", text(&out));
    let _stop = Stop(ws.clone());
    let metrics = ws.join("runs/l/metrics.jsonl");
    assert!(
        wait_for(120, || !read_jsonl(&metrics).is_empty()),
        "it trains"
    );
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "--resume", "l", "--set", "train.lr=0.001"]));
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert_has(&t, &["already running", "aiart runs set l", "p.toml"]);
    let out = run(bin().current_dir(&ws).args(["runs", "stop", "l"]));
    assert!(out.status.success(), "{}", text(&out));
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn the_references_other_lr_policies_set_each_epochs_lr() {
    let ws = temp_workspace("policies");
    small_pix2pix(&ws, 2, 2);
    let out = run(bin().current_dir(&ws).args([
        "train",
        "p.toml",
        "--run-dir",
        "runs/s",
        "--quiet",
        "--set",
        "train.lr_policy=\"step\"",
        "--set",
        "train.lr_decay_iters=1",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let m = read_jsonl(&ws.join("runs/s/metrics.jsonl"));
    assert_eq!(m.len(), 8, "4 epochs of 2 steps");
    let t = aiart::preset::gan::GanTrain {
        lr_policy: aiart::preset::gan::LrPolicy::Step,
        lr_decay_iters: 1,
        n_epochs: 2,
        n_epochs_decay: 2,
        ..Default::default()
    };
    for r in &m {
        let e = r["epoch"].as_u64().unwrap();
        let want = aiart::train::gan::schedule::lr_at(&t, e);
        assert_eq!(r["lr"].as_f64().unwrap(), want, "{r:?}");
    }
    assert_eq!(
        m.last().unwrap()["lr"].as_f64().unwrap(),
        0.0002 * 0.1 * 0.1 * 0.1
    );
    // an unknown policy, and a step policy without a step, are named with their field
    let check = |set: &str| {
        run(bin()
            .current_dir(&ws)
            .args(["preset", "check", "p.toml", "--set", set]))
    };
    let out = check("train.lr_policy=\"warmup\"");
    assert!(!out.status.success());
    assert_has(
        &text(&out),
        &["train.lr_policy", "warmup", "plateau", "cosine"],
    );
    let out = run(bin().current_dir(&ws).args([
        "preset",
        "check",
        "p.toml",
        "--set",
        "train.lr_policy=\"step\"",
        "--set",
        "train.lr_decay_iters=0",
    ]));
    assert!(!out.status.success());
    assert_has(&text(&out), &["train.lr_decay_iters", "at least 1"]);
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn the_references_init_types_start_a_run_and_unknown_ones_name_the_field() {
    let ws = temp_workspace("inits");
    small_pix2pix(&ws, 1, 0);
    for init in ["xavier", "kaiming", "orthogonal"] {
        let out = run(bin().current_dir(&ws).args([
            "train",
            "p.toml",
            "--run-dir",
            &format!("runs/{init}"),
            "--quiet",
            "--max-steps",
            "1",
            "--set",
            &format!("model.init_type=\"{init}\""),
        ]));
        assert!(out.status.success(), "{init}: {}", text(&out));
        let m = read_jsonl(&ws.join(format!("runs/{init}/metrics.jsonl")));
        assert!(m[0]["G_L1"].as_f64().is_some_and(f64::is_finite), "{m:?}");
    }
    let out = run(bin().current_dir(&ws).args([
        "preset",
        "check",
        "p.toml",
        "--set",
        "model.init_type=\"uniform\"",
    ]));
    assert!(!out.status.success());
    assert_has(
        &text(&out),
        &["model.init_type", "uniform", "xavier", "orthogonal"],
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn max_dataset_size_trains_on_the_first_images_of_each_folder() {
    let ws = temp_workspace("maxds");
    small_pix2pix(&ws, 1, 0);
    for i in 2..5 {
        image(&ws.join(format!("data/train/{i}.png")), 64, 32, i as u8);
    }
    let train = |dir: &str, set: &[&str]| {
        run(bin()
            .current_dir(&ws)
            .args(["train", "p.toml", "--run-dir", dir, "--quiet"])
            .args(set))
    };
    let out = train("runs/all", &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(read_jsonl(&ws.join("runs/all/metrics.jsonl")).len(), 5);
    let out = train("runs/three", &["--set", "data.max_dataset_size=3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(read_jsonl(&ws.join("runs/three/metrics.jsonl")).len(), 3);
    assert_eq!(
        read_json(&ws.join("runs/three/status.json"))["total_steps"],
        3
    );
    let out = run(bin().current_dir(&ws).args([
        "preset",
        "check",
        "p.toml",
        "--set",
        "data.max_dataset_size=0",
    ]));
    assert!(!out.status.success());
    assert_has(&text(&out), &["data.max_dataset_size", "at least 1"]);
    let _ = std::fs::remove_dir_all(&ws);
}
