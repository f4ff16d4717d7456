//! Live runs through the real binary: detached trainers, steering through control.jsonl,
//! hot-reloaded presets, crash and resume, one trainer per run.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

fn workspace(name: &str) -> PathBuf {
    let ws = temp_workspace(name);
    write_image(&ws.join("c.png"), 32, 32, 1);
    write_image(&ws.join("s.png"), 32, 32, 2);
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::write(ws.join("presets/live.toml"), preset_text("0.01")).unwrap();
    ws
}

fn preset_text(lr: &str) -> String {
    format!(
        "# a comment the user keeps\nkind = \"nst\"\n[data]\ncontent = \"c.png\"\nstyle = \"s.png\"\nimage_size = 32\n\
         [model]\nvgg_weights = \"{}\"\n[train]\niterations = 100000000\nlr = {lr}\n[log]\ncheckpoint_every = 40\nsample_every = 0\n",
        tiny_vgg().display()
    )
}

fn spawn_train(ws: &Path, args: &[&str]) -> Child {
    bin()
        .current_dir(ws)
        .arg("train")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn metrics(ws: &Path) -> Vec<serde_json::Map<String, serde_json::Value>> {
    read_jsonl(&ws.join("runs/live/metrics.jsonl"))
}

fn last_step(ws: &Path) -> u64 {
    metrics(ws)
        .last()
        .map(|r| r["step"].as_u64().unwrap())
        .unwrap_or(0)
}

fn events(ws: &Path, kind: &str) -> Vec<String> {
    read_jsonl(&ws.join("runs/live/events.jsonl"))
        .into_iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

fn runs(ws: &Path, args: &[&str]) -> std::process::Output {
    run(bin().current_dir(ws).arg("runs").args(args))
}

fn kill(pid: u32, sig: i32) {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    unsafe { kill(pid as i32, sig) };
}

#[test]
fn hot_reload_applies_live_edits_and_rejects_bad_ones() {
    let ws = workspace("reload");
    let mut child = spawn_train(
        &ws,
        &["presets/live.toml", "--run-dir", "runs/live", "--quiet"],
    );
    assert!(wait_for(60, || last_step(&ws) > 5), "the run starts");
    let preset = ws.join("presets/live.toml");

    // an editor that saves by writing a new file and renaming it over the old one
    std::fs::write(ws.join("presets/.live.toml.swp"), preset_text("0.02")).unwrap();
    std::fs::rename(ws.join("presets/.live.toml.swp"), &preset).unwrap();
    assert!(
        wait_for(20, || events(&ws, "preset_applied")
            .iter()
            .any(|m| m.contains("train.lr: 0.01 -> 0.02"))),
        "{:?}",
        events(&ws, "preset_applied")
    );
    assert!(
        wait_for(20, || metrics(&ws).last().unwrap()["lr"] == 0.02),
        "the next records show the new lr"
    );

    // in place (truncate and write)
    std::fs::write(&preset, preset_text("0.03")).unwrap();
    assert!(wait_for(20, || events(&ws, "preset_applied")
        .iter()
        .any(|m| m.contains("0.02 -> 0.03"))));
    assert!(wait_for(20, || metrics(&ws).last().unwrap()["lr"] == 0.03));

    // broken TOML, then a frozen field: rejected, the run goes on with its settings
    std::fs::write(&preset, preset_text("0.03") + "[train\n").unwrap();
    assert!(wait_for(20, || events(&ws, "preset_rejected").len() == 1));
    assert!(
        events(&ws, "preset_rejected")[0].contains("live.toml:"),
        "names the place: {:?}",
        events(&ws, "preset_rejected")
    );
    std::fs::write(
        &preset,
        preset_text("0.03").replace("image_size = 32", "image_size = 48"),
    )
    .unwrap();
    assert!(wait_for(20, || events(&ws, "preset_rejected").len() == 2));
    assert!(
        events(&ws, "preset_rejected")[1].contains("data.image_size"),
        "{:?}",
        events(&ws, "preset_rejected")
    );
    let at = last_step(&ws);
    assert!(
        wait_for(20, || last_step(&ws) > at + 5),
        "the run still advances"
    );
    assert_eq!(metrics(&ws).last().unwrap()["lr"], 0.03);
    let effective = std::fs::read_to_string(ws.join("runs/live/preset.toml")).unwrap();
    assert!(
        effective.contains("lr = 0.03") && effective.contains("image_size = 32"),
        "{effective}"
    );

    // fixing the file applies normally; `runs set` takes the same rules
    std::fs::write(&preset, preset_text("0.05")).unwrap();
    assert!(wait_for(20, || events(&ws, "preset_applied")
        .iter()
        .any(|m| m.contains("0.03 -> 0.05"))));
    let out = runs(&ws, &["set", "live", "train.tv_weight=0.001"]);
    assert!(
        out.status.success() && text(&out).contains("train.tv_weight: 0.0 -> 0.001"),
        "{}",
        text(&out)
    );
    let out = runs(&ws, &["set", "live", "train.optimizer=\"lbfgs\""]);
    assert!(
        !out.status.success() && text(&out).contains("train.optimizer"),
        "{}",
        text(&out)
    );
    let out = runs(&ws, &["stop", "live"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

#[test]
fn pause_resume_stop_checkpoint_sample() {
    let ws = workspace("steer");
    let mut child = spawn_train(
        &ws,
        &["presets/live.toml", "--run-dir", "runs/live", "--quiet"],
    );
    assert!(wait_for(60, || last_step(&ws) > 5));
    let out = runs(&ws, &["pause", "live"]);
    assert!(
        out.status.success() && text(&out).starts_with("paused"),
        "{}",
        text(&out)
    );
    let st = read_json(&ws.join("runs/live/status.json"));
    assert_eq!(st["state"], "paused");
    let n = metrics(&ws).len();
    let hb = st["heartbeat"].as_f64().unwrap();
    assert!(
        wait_for(10, || read_json(&ws.join("runs/live/status.json"))
            ["heartbeat"]
            .as_f64()
            .unwrap()
            > hb),
        "the heartbeat goes on while paused"
    );
    assert_eq!(metrics(&ws).len(), n, "no steps while paused");
    let out = runs(&ws, &["list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &list[0];
    for k in [
        "id",
        "path",
        "kind",
        "state",
        "step",
        "total_steps",
        "epoch",
        "losses",
        "updated",
    ] {
        assert!(r.get(k).is_some(), "runs list --json lacks {k}: {r}");
    }
    assert_eq!(r["state"], "paused");
    assert!(r["losses"]["total"].is_number());
    let out = runs(&ws, &["resume", "live"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        wait_for(20, || metrics(&ws).len() > n + 5),
        "steps again after resume"
    );
    let out = runs(&ws, &["checkpoint", "live"]);
    assert!(
        out.status.success() && text(&out).starts_with("checkpoint: step"),
        "{}",
        text(&out)
    );
    let out = runs(&ws, &["sample", "live"]);
    assert!(
        out.status.success() && text(&out).starts_with("sample: step"),
        "{}",
        text(&out)
    );
    let out = runs(&ws, &["show", "live"]);
    assert!(text(&out).contains("state    running"), "{}", text(&out));
    let out = runs(&ws, &["stop", "live"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let st = read_json(&ws.join("runs/live/status.json"));
    assert_eq!(st["state"], "stopped");
    let step = st["step"].as_u64().unwrap();
    assert!(
        ws.join(format!("runs/live/checkpoints/step-{step:08}/meta.json"))
            .is_file(),
        "stop writes a checkpoint"
    );
    assert!(
        ws.join(format!("runs/live/samples/step-{step:08}.png"))
            .is_file(),
        "and a sample"
    );
    let out = runs(&ws, &["pause", "live"]);
    assert!(
        !out.status.success() && text(&out).contains("not live (state: stopped)"),
        "{}",
        text(&out)
    );
}

#[test]
fn kill_9_then_resume_continues_after_the_checkpoint() {
    let ws = workspace("resume");
    let mut child = spawn_train(
        &ws,
        &["presets/live.toml", "--run-dir", "runs/live", "--quiet"],
    );
    let run_dir = aiart::run::RunDir::open(ws.join("runs/live"));
    // a complete checkpoint, by the rule --resume uses (a folder being written does not count),
    // and records past it, which the kill leaves behind
    let newest = || run_dir.newest_complete_checkpoint().unwrap();
    assert!(
        wait_for(60, || newest().is_some_and(|(s, _)| last_step(&ws) > s + 3)),
        "a checkpoint is written and the run goes on"
    );
    // a second trainer on the same run is refused
    let out = run(bin().current_dir(&ws).args(["train", "--resume", "live"]));
    assert!(
        !out.status.success() && text(&out).contains("already running"),
        "{}",
        text(&out)
    );
    kill(child.id(), 9);
    child.wait().unwrap();
    let out = runs(&ws, &["list"]);
    assert!(text(&out).contains("crashed"), "{}", text(&out));
    // losses read short (style losses here are ~1e9): `2.69e8`, not `269236096.0000`
    let listed = text(&out);
    let losses: Vec<&str> = listed
        .split_whitespace()
        .filter_map(|w| w.split_once('=').map(|(_, v)| v))
        .filter(|v| v.parse::<f64>().is_ok())
        .collect();
    assert!(!losses.is_empty(), "{listed}");
    assert!(losses.iter().all(|v| v.len() <= 8), "{losses:?}");
    let (ck_step, ck) = newest().expect("a complete checkpoint");
    let steps = |recs: &[serde_json::Map<String, serde_json::Value>]| -> Vec<u64> {
        recs.iter().map(|r| r["step"].as_u64().unwrap()).collect()
    };
    let before = steps(&metrics(&ws));
    let past: Vec<u64> = before.iter().copied().filter(|s| *s > ck_step).collect();
    let samples_past = std::fs::read_dir(ws.join("runs/live/samples"))
        .unwrap()
        .filter(|e| {
            let n = e.as_ref().unwrap().file_name().into_string().unwrap();
            n.strip_prefix("step-")
                .and_then(|n| n.strip_suffix(".png"))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|s| s > ck_step)
        })
        .count();
    let mut child = spawn_train(&ws, &["--resume", "live", "--quiet"]);
    // the records past the checkpoint move out before the resumed event is written
    assert!(wait_for(60, || !events(&ws, "resumed").is_empty()
        && last_step(&ws) > ck_step + 3));
    let ev = read_jsonl(&ws.join("runs/live/events.jsonl"));
    let resumed = ev
        .iter()
        .find(|e| e["kind"] == "resumed")
        .expect("a resumed event");
    let msg = resumed["message"].as_str().unwrap();
    let name = ck.file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(name), "{msg}");
    assert!(
        msg.contains(&format!(
            "moved {} metrics records and {samples_past} samples",
            past.len()
        )),
        "{msg}"
    );
    // one trajectory: every step once, in order, the record after the checkpoint's is its step + 1
    let after = steps(&metrics(&ws));
    assert!(
        after.windows(2).all(|w| w[1] == w[0] + 1),
        "steps repeat or skip: {after:?}"
    );
    assert_eq!(after[0], 0, "NST's record 0 is the initial image");
    assert!(after.contains(&(ck_step + 1)));
    // nothing is lost: the records past the checkpoint are in the discard file
    let discarded = steps(&read_jsonl(&ws.join("runs/live/metrics.discarded.jsonl")));
    assert_eq!(discarded, past);
    let moved = std::fs::read_dir(ws.join("runs/live/samples/discarded"))
        .map(|rd| rd.count())
        .unwrap_or(0);
    assert_eq!(moved, samples_past);
    kill(child.id(), 15);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_eq!(
        read_json(&ws.join("runs/live/status.json"))["state"],
        "stopped"
    );
}

#[test]
fn detached_trainer_outlives_its_parent() {
    let ws = workspace("detach");
    let out = run(bin().current_dir(&ws).args([
        "train",
        "presets/live.toml",
        "--run-dir",
        "runs/live",
        "--detach",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout)
        .trim()
        .ends_with("runs/live"));
    // the parent has exited; the trainer goes on, in a session of its own, logging to train.log
    let at = last_step(&ws);
    assert!(wait_for(30, || last_step(&ws) > at + 10));
    let pid = read_json(&ws.join("runs/live/status.json"))["pid"]
        .as_u64()
        .unwrap() as i32;
    extern "C" {
        fn getsid(pid: i32) -> i32;
    }
    let (theirs, ours) = unsafe { (getsid(pid), getsid(0)) };
    assert_eq!(theirs, pid, "the trainer leads its own session");
    assert_ne!(theirs, ours);
    assert!(ws.join("runs/live/train.log").is_file());
    let out = runs(&ws, &["stop", "live"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(wait_for(20, || read_json(
        &ws.join("runs/live/status.json")
    )["state"]
        == "stopped"));
}
