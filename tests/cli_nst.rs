//! Style transfer through the real binary: the run directory it writes, the costs it logs, and
//! its errors on bad input.

mod common;
use common::*;
use std::path::Path;

/// `aiart stylize` on the test images with the tiny VGG; `extra` flags replace the defaults.
fn stylize(ws: &Path, extra: &[&str]) -> std::process::Output {
    let vgg = tiny_vgg();
    let defaults = [
        ("--content", "c.png"),
        ("--style", "s.png"),
        ("--size", "48"),
        ("--vgg", vgg.to_str().unwrap()),
    ];
    let mut c = bin();
    c.current_dir(ws).args(["stylize", "--quiet"]);
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            c.args([flag, value]);
        }
    }
    c.args(extra);
    run(&mut c)
}

fn images(ws: &Path) {
    write_image(&ws.join("c.png"), 64, 48, 1);
    write_image(&ws.join("s.png"), 40, 40, 2);
}

#[test]
fn stylize_end_to_end_lowers_the_cost() {
    let ws = temp_workspace("stylize");
    images(&ws);
    let out = stylize(
        &ws,
        &[
            "--iterations",
            "15",
            "--lr",
            "0.03",
            "--tv-weight",
            "0.0001",
            "--run-dir",
            "run",
            "-o",
            "out.png",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let result = image::open(ws.join("out.png")).unwrap();
    assert_eq!(
        (result.width(), result.height()),
        (48, 36),
        "longest side = --size"
    );
    let run = ws.join("run");
    for f in [
        "run.json",
        "preset.toml",
        "status.json",
        "metrics.jsonl",
        "events.jsonl",
        "result.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let info = read_json(&run.join("run.json"));
    assert_eq!(info["kind"], "nst");
    assert_eq!(info["device"], "cpu");
    let status = read_json(&run.join("status.json"));
    assert_eq!(status["state"], "finished");
    assert_eq!(status["step"], 15);
    let m = read_jsonl(&run.join("metrics.jsonl"));
    assert_eq!(m.len(), 16, "steps 0..=15");
    let first = m
        .iter()
        .min_by_key(|r| r["step"].as_u64().unwrap())
        .unwrap();
    assert_eq!(first["step"], 0);
    for key in [
        "time",
        "lr",
        "content",
        "style",
        "tv",
        "total",
        "style/conv1_1",
        "style/conv5_1",
    ] {
        assert!(first.contains_key(key), "metrics lack {key}: {first:?}");
    }
    assert_eq!(first["content"], 0.0, "the initial image is the content");
    let total = |r: &serde_json::Map<String, serde_json::Value>| r["total"].as_f64().unwrap();
    let last = m.last().unwrap();
    assert!(
        total(last) < 0.9 * total(first),
        "J falls: {} -> {}",
        total(first),
        total(last)
    );
    // J = α·J_content + β·J_style + γ·J_tv in every record
    for r in &m {
        let j = 10.0 * r["content"].as_f64().unwrap()
            + 40.0 * r["style"].as_f64().unwrap()
            + 1e-4 * r["tv"].as_f64().unwrap();
        assert!((j - total(r)).abs() <= 1e-4 * total(r), "{r:?}");
    }
    assert!(run.join("samples/step-00000015.png").is_file());
    let ck = run.join("checkpoints/step-00000015");
    for f in [
        "image.safetensors",
        "image.png",
        "meta.json",
        "optimizer.safetensors",
    ] {
        assert!(ck.join(f).is_file(), "checkpoint lacks {f}");
    }
    let kinds: Vec<String> = read_jsonl(&run.join("events.jsonl"))
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.first().unwrap(), "started");
    assert_eq!(kinds.last().unwrap(), "finished");
    let preset = std::fs::read_to_string(run.join("preset.toml")).unwrap();
    assert!(
        preset.contains("iterations = 15") && preset.contains("lr = 0.03"),
        "{preset}"
    );
}

#[test]
fn train_a_preset_with_overrides_and_max_steps() {
    let ws = temp_workspace("train");
    images(&ws);
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    let preset = format!(
        "kind = \"nst\"\n[data]\ncontent = \"c.png\"\nstyle = [\"s.png\", \"c.png\"]\nstyle_blend = [3, 1]\nimage_size = 32\ninit = \"noise\"\n\
         [model]\nvgg_weights = \"{}\"\npooling = \"avg\"\n[train]\noptimizer = \"lbfgs\"\niterations = 100\n[log]\nsample_every = 2\ncheckpoint_every = 2\nkeep_checkpoints = 2\n",
        tiny_vgg().display()
    );
    std::fs::write(ws.join("presets/tiny.toml"), preset).unwrap();
    let out = run(bin().current_dir(&ws).args([
        "train",
        "presets/tiny.toml",
        "--max-steps",
        "5",
        "--set",
        "train.tv_weight=0.001",
        "--device",
        "cpu",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let runs: Vec<_> = std::fs::read_dir(ws.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert!(
        run.file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-tiny"),
        "{run:?}"
    );
    let status = read_json(&run.join("status.json"));
    assert_eq!(status["step"], 5);
    // the steps the run takes (issue 21.3), and why it ended short of the preset's 100
    assert_eq!(status["total_steps"], 5);
    assert_eq!(status["max_steps"], 5);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("--max-steps 5"),
        "{status}"
    );
    let m = read_jsonl(&run.join("metrics.jsonl"));
    assert_eq!(
        m.iter()
            .map(|r| r["step"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5]
    );
    assert!(
        m[0]["content"].as_f64().unwrap() > 0.0,
        "noise init differs from the content"
    );
    // L-BFGS without a line search (torch's default) may overshoot on the way; its first step descends
    assert!(m[1]["total"].as_f64().unwrap() < m[0]["total"].as_f64().unwrap());
    let cks: Vec<_> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut cks = cks;
    cks.sort();
    assert_eq!(
        cks,
        vec!["step-00000004", "step-00000005"],
        "keep_checkpoints = 2"
    );
    assert!(
        run.join("samples/step-00000002.png").is_file()
            && run.join("samples/step-00000004.png").is_file()
    );
    let effective = std::fs::read_to_string(run.join("preset.toml")).unwrap();
    assert!(effective.contains("tv_weight = 0.001"), "{effective}");
}

#[test]
fn bad_input_fails_before_any_work() {
    let ws = temp_workspace("bad");
    images(&ws);
    std::fs::write(ws.join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--content", "missing.png"],
            "missing.png: no such image file",
        ),
        (
            vec!["--style", "broken.png"],
            "broken.png: cannot read image",
        ),
        (
            vec!["--content-layer", "conv9_9"],
            "unknown layer `conv9_9`",
        ),
        (
            vec!["--style-layers", "conv1_1:1,conv2_3:1"],
            "unknown layer `conv2_3`",
        ),
        (vec!["--size", "8"], "data.image_size: must be 16..=8192"),
        (vec!["--lr", "-1"], "train.lr: must be positive"),
        (vec!["--device", "cuda:0"], "built without CUDA"),
    ];
    for (i, (args, want)) in cases.iter().enumerate() {
        let rd = format!("run{i}");
        let mut all = vec!["--run-dir", rd.as_str()];
        all.extend(args.iter().copied());
        let out = stylize(&ws, &all);
        let t = text(&out);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(t.contains(want), "{args:?}: expected `{want}` in:\n{t}");
        assert!(!t.contains("panicked"), "{t}");
        assert!(
            !ws.join(&rd).exists(),
            "{args:?}: no run directory is made for bad input"
        );
    }
}

#[test]
fn vgg_files_are_checked_and_hub_fails_offline_with_advice() {
    let ws = temp_workspace("vgg");
    images(&ws);
    let mut sd = candle_core::safetensors::load(tiny_vgg(), &candle_core::Device::Cpu).unwrap();
    sd.retain(|k, _| k.starts_with("features.") && k != "features.30.weight");
    candle_core::safetensors::save(&sd, ws.join("partial.safetensors")).unwrap();
    let out = stylize(&ws, &["--vgg", "partial.safetensors"]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("partial.safetensors") && t.contains("missing keys features.30.weight"),
        "{t}"
    );

    // a file holding only the features.* keys loads
    let mut sd = candle_core::safetensors::load(tiny_vgg(), &candle_core::Device::Cpu).unwrap();
    sd.retain(|k, _| k.starts_with("features."));
    candle_core::safetensors::save(&sd, ws.join("features.safetensors")).unwrap();
    let out = stylize(&ws, &["--vgg", "features.safetensors", "--iterations", "1"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = stylize(&ws, &["--vgg", "hub", "--run-dir", "hubrun"]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("timm/vgg19.tv_in1k") && t.contains("--vgg PATH") && t.contains("vgg_weights"),
        "{t}"
    );
    assert!(!ws.join("hubrun").exists());
}

#[test]
fn ctrl_c_stops_cleanly_with_a_final_sample() {
    let ws = temp_workspace("sigint");
    images(&ws);
    let mut child = bin()
        .current_dir(&ws)
        .args([
            "stylize",
            "--content",
            "c.png",
            "--style",
            "s.png",
            "--size",
            "32",
            "--quiet",
            "--run-dir",
            "run",
        ])
        .args([
            "--vgg",
            tiny_vgg().to_str().unwrap(),
            "--iterations",
            "100000000",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let metrics = ws.join("run/metrics.jsonl");
    assert!(
        wait_for(60, || read_jsonl(&metrics).len() >= 3),
        "the run starts"
    );
    unsafe { libc_kill(child.id() as i32, 2) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let st = read_json(&ws.join("run/status.json"));
    assert_eq!(st["state"], "stopped");
    let step = st["step"].as_u64().unwrap();
    assert!(ws.join(format!("run/samples/step-{step:08}.png")).is_file());
    assert!(ws
        .join(format!("run/checkpoints/step-{step:08}/image.safetensors"))
        .is_file());
    let kinds: Vec<String> = read_jsonl(&ws.join("run/events.jsonl"))
        .iter()
        .map(|e| e["kind"].as_str().unwrap().into())
        .collect();
    assert_eq!(kinds.last().unwrap(), "stopped");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn sweep_writes_each_layer_and_a_grid() {
    let ws = temp_workspace("sweep");
    images(&ws);
    let out = run(bin()
        .current_dir(&ws)
        .args([
            "nst",
            "sweep",
            "--style",
            "s.png",
            "--mode",
            "style",
            "--layers",
            "conv1_1,conv3_1",
        ])
        .args([
            "--size",
            "32",
            "--iterations",
            "3",
            "--quiet",
            "--run-dir",
            "sw",
            "--vgg",
            tiny_vgg().to_str().unwrap(),
        ]));
    assert!(out.status.success(), "{}", text(&out));
    for f in [
        "sweep.png",
        "conv1_1.png",
        "conv3_1.png",
        "conv1_1/metrics.jsonl",
        "run.json",
        "status.json",
    ] {
        assert!(ws.join("sw").join(f).is_file(), "{f} missing");
    }
    let m = read_jsonl(&ws.join("sw/conv3_1/metrics.jsonl"));
    assert_eq!(m[0]["content"].as_f64().unwrap() * 0.0, 0.0);
    assert!(
        m[0].contains_key("style/conv3_1") && !m[0].contains_key("style/conv1_1"),
        "one style layer: {:?}",
        m[0]
    );
    let preset = std::fs::read_to_string(ws.join("sw/conv3_1/preset.toml")).unwrap();
    assert!(
        preset.contains("content_weight = 0.0") && preset.contains("tv_weight = 0.0"),
        "{preset}"
    );
    let grid = image::open(ws.join("sw/sweep.png")).unwrap();
    assert!(
        grid.width() > 3 * 32,
        "three tiles side by side: {}",
        grid.width()
    );
    assert_eq!(read_json(&ws.join("sw/status.json"))["state"], "finished");

    let out = run(bin()
        .current_dir(&ws)
        .args(["nst", "sweep", "--style", "s.png", "--mode", "content"]));
    assert!(!out.status.success() && text(&out).contains("--mode content needs --content"));
}

fn steps_and_scales(ws: &Path, run: &str) -> Vec<(u64, u64, u64, f64)> {
    read_jsonl(&ws.join("runs").join(run).join("metrics.jsonl"))
        .iter()
        .map(|r| {
            (
                r["step"].as_u64().unwrap(),
                r["scale"].as_f64().unwrap() as u64,
                r["size"].as_f64().unwrap() as u64,
                r["total"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn coarse_to_fine_runs_scale_by_scale_and_resumes_inside_a_scale() {
    let ws = temp_workspace("scales");
    images(&ws);
    // three scales, tiled at the last two (tiles of 64 px), Adam (its moments are checkpointed)
    let flags = [
        "--scales",
        "32,48,64",
        "--iterations",
        "4,3,3",
        "--tile",
        "64",
        "--optimizer",
        "adam",
        "--lr",
        "0.02",
        "--tv-weight",
        "0.001",
        "--set",
        "log.checkpoint_every=2",
    ];
    let mut whole = flags.to_vec();
    whole.extend(["--run-dir", "runs/whole", "--output", "whole.png"]);
    let out = stylize(&ws, &whole);
    assert!(out.status.success(), "{}", text(&out));
    let m = steps_and_scales(&ws, "whole");
    let steps: Vec<u64> = m.iter().map(|r| r.0).collect();
    assert_eq!(
        steps,
        (0..=10).collect::<Vec<_>>(),
        "one record per step over all scales"
    );
    // record 4 is scale 1's final image; 5 the first update at scale 2; 7 scale 2's final image
    let scale: Vec<(u64, u64)> = m.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(scale[4], (1, 32));
    assert_eq!(scale[5], (2, 48));
    assert_eq!(scale[7], (2, 48));
    assert_eq!(scale[8], (3, 64));
    assert_eq!(
        image::image_dimensions(ws.join("whole.png")).unwrap(),
        (64, 48)
    );
    // each scale's end has a sample of that scale's size
    assert_eq!(
        image::image_dimensions(ws.join("runs/whole/samples/step-00000004.png")).unwrap(),
        (32, 24)
    );
    assert_eq!(
        image::image_dimensions(ws.join("runs/whole/samples/step-00000007.png")).unwrap(),
        (48, 36)
    );
    let events = read_jsonl(&ws.join("runs/whole/events.jsonl"));
    assert!(events.iter().any(
        |e| e["kind"] == "scale" && e["message"].as_str().unwrap().contains("scale 2/3 (48 px")
    ));
    let meta = read_json(&ws.join("runs/whole/checkpoints/step-00000006/meta.json"));
    assert_eq!(
        (meta["scale"].as_u64(), meta["size"].as_u64()),
        (Some(2), Some(48))
    );
    let list = text(&run(bin().current_dir(&ws).args(["runs", "list"])));
    assert!(list.contains("scale 3/3 64px"), "{list}");

    // the same run cut at step 6 (inside scale 2) and resumed: the same trajectory
    let mut cut = flags.to_vec();
    cut.extend(["--run-dir", "runs/cut", "--max-steps", "6"]);
    let out = stylize(&ws, &cut);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(bin()
        .current_dir(&ws)
        .args(["train", "--resume", "cut", "--quiet"]));
    assert!(out.status.success(), "{}", text(&out));
    let c = steps_and_scales(&ws, "cut");
    assert_eq!(
        c.iter().map(|r| r.0).collect::<Vec<_>>(),
        (0..=10).collect::<Vec<_>>()
    );
    for (a, b) in c.iter().zip(&m) {
        assert_eq!((a.0, a.1, a.2), (b.0, b.1, b.2));
        assert!(
            (a.3 - b.3).abs() <= 1e-5 * b.3.abs(),
            "step {}: {} vs uninterrupted {}",
            a.0,
            a.3,
            b.3
        );
    }
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn vgg16_and_normalized_gradients_as_jcj() {
    let ws = temp_workspace("vgg16");
    images(&ws);
    let vgg16 = repo().join("tests/fixtures/vgg16_torchvision.safetensors");
    let vgg16 = vgg16.to_str().unwrap();
    let jcj = [
        "--network",
        "vgg16",
        "--vgg",
        vgg16,
        "--content-layer",
        "relu4_2",
        "--style-layers",
        "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1",
        "--iterations",
        "4",
        "--lr",
        "0.05",
    ];
    // a VGG-19-only layer is refused, naming the field, before any run directory
    let mut args = jcj.to_vec();
    args[7] = "relu1_1,conv5_4";
    args.extend(["--run-dir", "bad"]);
    let out = stylize(&ws, &args);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("model.style_layers.conv5_4") && t.contains("VGG-16"),
        "{t}"
    );
    assert!(!ws.join("bad").exists());
    // VGG-19 weights for a VGG-16 are refused, naming the file and the net
    let tiny = tiny_vgg();
    let mut args = jcj.to_vec();
    args[3] = tiny.to_str().unwrap();
    let out = stylize(&ws, &args);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("not a VGG-16 state dict"), "{t}");
    // offline, "hub" names VGG-16's weights and where to put them
    let mut args = jcj.to_vec();
    args[3] = "hub";
    let out = stylize(&ws, &args);
    let t = text(&out);
    assert!(
        !out.status.success()
            && t.contains("timm/vgg16.tv_in1k")
            && t.contains("vgg16-397923af.pth"),
        "{t}"
    );

    let mut plain = jcj.to_vec();
    plain.extend(["--run-dir", "plain", "-o", "plain.png"]);
    let out = stylize(&ws, &plain);
    assert!(out.status.success(), "{}", text(&out));
    let mut normalized = jcj.to_vec();
    normalized.extend([
        "--normalize-gradients",
        "--run-dir",
        "norm",
        "-o",
        "norm.png",
    ]);
    let out = stylize(&ws, &normalized);
    assert!(out.status.success(), "{}", text(&out));
    let preset = std::fs::read_to_string(ws.join("norm/preset.toml")).unwrap();
    assert!(
        preset.contains("network = \"vgg16\"") && preset.contains("normalize_gradients = true"),
        "{preset}"
    );
    // the same costs at step 0 (normalising changes the direction, not J), other images after
    let first = |run: &str| {
        let m = read_jsonl(&ws.join(run).join("metrics.jsonl"));
        m.iter()
            .find(|r| r["step"] == 0)
            .map(|r| r["total"].as_f64().unwrap())
            .unwrap()
    };
    assert_eq!(first("plain"), first("norm"));
    let (a, b) = (
        image::open(ws.join("plain.png")).unwrap().to_rgb8(),
        image::open(ws.join("norm.png")).unwrap().to_rgb8(),
    );
    assert_eq!(a.dimensions(), b.dimensions());
    assert_ne!(
        a.as_raw(),
        b.as_raw(),
        "--normalize-gradients changed nothing"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

/// A one-file model hub on 127.0.0.1 answering as the hub does for `resolve/main/FILE`: a
/// `Range: bytes=0-0` probe gets 206 with `etag`, `x-repo-commit` and `Content-Range`; a download
/// `Range: bytes=N-` gets the rest. Returns its address and the paths it was asked for.
fn hub_server(
    path: &'static str,
    body: Vec<u8>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let asked = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let log = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            if r.read_line(&mut first).is_err() {
                continue;
            }
            let mut start = 0usize;
            let mut probe = false;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    let v = v.trim();
                    probe = v == "0-0";
                    start = v
                        .trim_end_matches('-')
                        .split('-')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                }
            }
            let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(target.clone());
            if target != path {
                let _ = s.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let end = if probe { 1 } else { body.len() };
            let part = &body[start..end];
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\netag: \"vgg16etag\"\r\nx-repo-commit: 0123abcd\r\n\
                 Content-Range: bytes {start}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                end - 1,
                body.len(),
                part.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(part);
        }
    });
    (addr, asked)
}

#[test]
fn vgg16_hub_weights_come_through_the_cached_download() {
    // "hub" with VGG-16 fetches timm/vgg16.tv_in1k's model.safetensors once (here from a local
    // server standing in for the hub, HF_ENDPOINT), then finds it in the cache offline
    let ws = temp_workspace("vgg16hub");
    images(&ws);
    let body = std::fs::read(repo().join("tests/fixtures/vgg16_torchvision.safetensors")).unwrap();
    let (endpoint, asked) = hub_server("/timm/vgg16.tv_in1k/resolve/main/model.safetensors", body);
    let hf = ws.join("hf");
    let args = [
        "--network",
        "vgg16",
        "--vgg",
        "hub",
        "--iterations",
        "1",
        "-o",
        "out.png",
        "--force",
    ];
    let mut c = bin();
    c.env_remove("HF_HUB_OFFLINE")
        .env("HF_HOME", &hf)
        .env("HF_ENDPOINT", &endpoint)
        .current_dir(&ws)
        .args([
            "stylize",
            "--quiet",
            "--content",
            "c.png",
            "--style",
            "s.png",
            "--size",
            "48",
        ])
        .args(args);
    let out = run(&mut c);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        asked
            .lock()
            .unwrap()
            .iter()
            .all(|p| p.ends_with("vgg16.tv_in1k/resolve/main/model.safetensors")),
        "{:?}",
        asked.lock().unwrap()
    );
    let n = asked.lock().unwrap().len();
    assert!(n >= 2, "a probe and a download: {n}");
    // offline now: the cached copy
    let out = run(bin()
        .env("HF_HOME", &hf)
        .current_dir(&ws)
        .args([
            "stylize",
            "--quiet",
            "--content",
            "c.png",
            "--style",
            "s.png",
            "--size",
            "48",
        ])
        .args(args));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(asked.lock().unwrap().len(), n, "no second download");
    let _ = std::fs::remove_dir_all(&ws);
}
