//! A run whose writes fail says which file of which run it was writing (a checkpoint of step N, a
//! sample, the metrics), the OS's reason once, and from which step `train --resume` goes on once
//! there is room — for every trainer. The failing writes are real: a file size limit
//! (RLIMIT_FSIZE, which holds for root too) set on the spawned trainer, a file where the samples
//! folder was, a folder where metrics.jsonl was (pytorch/pytorch #10577).

mod common;
use common::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `aiart ARGS` in `ws` with every file it writes limited to `bytes` (its writes past that fail
/// with EFBIG: the binary ignores SIGXFSZ itself, nothing is set here but the limit).
fn limited(ws: &Path, bytes: u64, args: &[&str]) -> Output {
    let mut cmd: Command = bin();
    cmd.current_dir(ws).args(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run(&mut cmd)
}

fn aiart(ws: &Path, args: &[&str]) -> Output {
    run(bin().current_dir(ws).args(args))
}

/// A tiny workspace of `kind` (pix2pix, cyclegan, fast, nst) for `test`, with preset `p.toml`: a checkpoint
/// every 2 steps, no sample on the way, every network far larger than 64 KiB and every other file
/// far smaller.
fn workspace(kind: &str, test: &str) -> PathBuf {
    let ws = temp_workspace(&format!("wfail-{test}-{kind}"));
    let img = |p: PathBuf, w, h, seed| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        write_image(&p, w, h, seed);
    };
    let log = "[log]\nprint_every = 1\nsample_every = 0\ncheckpoint_every = 2\n";
    let preset = match kind {
        "pix2pix" => {
            for i in 0..3 {
                img(ws.join(format!("d/train/{i}.png")), 64, 32, i as u8);
            }
            format!(
                "kind = \"pix2pix\"\n[data]\ndataroot = \"d\"\nload_size = 32\ncrop_size = 32\n\
                 [model]\nnetG = \"unet_32\"\nngf = 8\nndf = 8\n[train]\nn_epochs = 5\nn_epochs_decay = 0\n{log}"
            )
        }
        "cyclegan" => {
            for i in 0..2 {
                img(ws.join(format!("d/trainA/{i}.png")), 32, 32, i as u8);
                img(ws.join(format!("d/trainB/{i}.png")), 32, 32, 9 + i as u8);
            }
            format!(
                "kind = \"cyclegan\"\n[data]\ndataroot = \"d\"\nload_size = 32\ncrop_size = 32\n\
                 [model]\nnetG = \"resnet_6blocks\"\nngf = 4\nndf = 4\n[train]\nn_epochs = 5\nn_epochs_decay = 0\n{log}"
            )
        }
        "fast" => {
            for i in 0..4 {
                img(ws.join(format!("photos/{i}.png")), 40, 36, i as u8);
            }
            img(ws.join("style.png"), 32, 32, 7);
            format!(
                "kind = \"fast_neural_style\"\n[data]\ndataset = \"photos\"\nstyle_image = \"style.png\"\n\
                 image_size = 32\nstyle_size = 32\nsample_count = 1\n[model]\nvgg_weights = \"{}\"\n\
                 [train]\nbatch_size = 2\nepochs = 5\n{log}",
                tiny_vgg().display()
            )
        }
        "nst" => {
            img(ws.join("c.png"), 160, 160, 1);
            img(ws.join("s.png"), 64, 64, 2);
            format!(
                "kind = \"nst\"\n[data]\ncontent = \"c.png\"\nstyle = [\"s.png\"]\nimage_size = 160\n\
                 [model]\nvgg_weights = \"{}\"\n[train]\noptimizer = \"adam\"\niterations = 10\n{log}",
                tiny_vgg().display()
            )
        }
        _ => unreachable!(),
    };
    std::fs::write(ws.join("p.toml"), preset).unwrap();
    ws
}

fn status(ws: &Path, run: &str) -> serde_json::Value {
    read_json(&ws.join("runs").join(run).join("status.json"))
}

fn errors(ws: &Path, run: &str) -> Vec<String> {
    read_jsonl(&ws.join("runs").join(run).join("events.jsonl"))
        .iter()
        .filter(|e| e["kind"] == "error")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

/// The run trains to step 2 (its first checkpoint), then goes on under a 64 KiB file size limit:
/// the checkpoint of step 4 fails, and the error says so, names the file, says "File too large"
/// once and that `--resume` goes on from step 2; lifted, the run does.
fn a_checkpoint_past_the_limit(kind: &str) {
    let ws = workspace(kind, "limit");
    let first = aiart(
        &ws,
        &[
            "train",
            "p.toml",
            "--run-dir",
            "runs/r",
            "--max-steps",
            "2",
            "--quiet",
        ],
    );
    assert!(first.status.success(), "{kind}: {}", text(&first));
    let out = limited(
        &ws,
        64 << 10,
        &["train", "--resume", "runs/r", "--max-steps", "6", "--quiet"],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{kind}: {said}");
    let error = said
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("{kind}: no error line in {said}"));
    for part in [
        "run r: writing the checkpoint of step 4",
        "checkpoints/step-00000004",
        ".safetensors",
        "File too large (os error 27)",
        "aiart train --resume",
        "goes on from step 2, its newest complete checkpoint",
    ] {
        assert!(error.contains(part), "{kind}: `{part}` in {error}");
    }
    assert_eq!(error.matches("os error 27").count(), 1, "{kind}: {error}");
    let events = errors(&ws, "r");
    assert!(
        events
            .iter()
            .any(|e| e.contains("step 4") && e.contains("step 2")),
        "{kind}: {events:?}"
    );
    let s = status(&ws, "r");
    assert_eq!(s["state"], "failed", "{kind}: {s}");
    assert_eq!(s["step"], 4, "{kind}: the step the run reached: {s}");
    let ckpts: Vec<String> = std::fs::read_dir(ws.join("runs/r/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        ckpts,
        ["step-00000002"],
        "{kind}: nothing half-written is left"
    );
    // room again: the run goes on from step 2
    let again = aiart(
        &ws,
        &["train", "--resume", "runs/r", "--max-steps", "4", "--quiet"],
    );
    assert!(again.status.success(), "{kind}: {}", text(&again));
    assert_eq!(status(&ws, "r")["step"], 4, "{kind}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn pix2pix_says_which_checkpoint_failed_and_where_to_resume() {
    a_checkpoint_past_the_limit("pix2pix");
}

#[test]
fn cyclegan_says_which_checkpoint_failed_and_where_to_resume() {
    a_checkpoint_past_the_limit("cyclegan");
}

#[test]
fn fast_style_says_which_checkpoint_failed_and_where_to_resume() {
    a_checkpoint_past_the_limit("fast");
}

#[test]
fn style_transfer_says_which_checkpoint_failed_and_where_to_resume() {
    a_checkpoint_past_the_limit("nst");
}

/// A sample and a metrics record that cannot be written (a file where `samples/` was, a
/// `metrics.jsonl` that links into a folder that is gone: as root as well as as a user) are named
/// too.
#[test]
fn a_sample_or_metrics_that_cannot_be_written_is_named() {
    let ws = workspace("pix2pix", "named");
    let first = aiart(
        &ws,
        &[
            "train",
            "p.toml",
            "--run-dir",
            "runs/r",
            "--max-steps",
            "2",
            "--quiet",
        ],
    );
    assert!(first.status.success(), "{}", text(&first));
    let run = ws.join("runs/r");
    std::fs::remove_dir_all(run.join("samples")).unwrap();
    std::fs::write(run.join("samples"), b"in the way").unwrap();
    let out = aiart(
        &ws,
        &[
            "train",
            "--resume",
            "runs/r",
            "--max-steps",
            "4",
            "--quiet",
            "--set",
            "log.sample_every=3",
        ],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    for part in [
        "run r: writing the sample of step 3",
        "samples/step-00000003.png",
        "goes on from step 2",
    ] {
        assert!(said.contains(part), "`{part}` in {said}");
    }
    std::fs::remove_file(run.join("samples")).unwrap();
    std::fs::create_dir(run.join("samples")).unwrap();
    // metrics.jsonl points into a folder that is gone: it reads as empty, and appends fail
    std::fs::rename(run.join("metrics.jsonl"), run.join("old.jsonl")).unwrap();
    std::os::unix::fs::symlink(run.join("gone/metrics.jsonl"), run.join("metrics.jsonl")).unwrap();
    let out = aiart(
        &ws,
        &["train", "--resume", "runs/r", "--max-steps", "4", "--quiet"],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    for part in [
        "run r: writing a metrics record",
        "metrics.jsonl",
        "goes on from step 2",
    ] {
        assert!(said.contains(part), "`{part}` in {said}");
    }
    let _ = std::fs::remove_dir_all(&ws);
}

/// A damaged newest checkpoint (a `.safetensors` cut short) is set aside as `step-N.damaged/`,
/// said with its file and reason, and the run goes on from the newest checkpoint that reads.
fn a_damaged_newest_checkpoint(kind: &str) {
    let ws = workspace(kind, "damaged");
    let first = aiart(
        &ws,
        &[
            "train",
            "p.toml",
            "--run-dir",
            "runs/r",
            "--max-steps",
            "4",
            "--quiet",
        ],
    );
    assert!(first.status.success(), "{kind}: {}", text(&first));
    let step4 = ws.join("runs/r/checkpoints/step-00000004");
    let cut = std::fs::read_dir(&step4)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .unwrap();
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = aiart(
        &ws,
        &["train", "--resume", "runs/r", "--max-steps", "6", "--quiet"],
    );
    let said = text(&out);
    assert!(out.status.success(), "{kind}: {said}");
    let name = cut.file_name().unwrap().to_string_lossy().into_owned();
    for part in [
        "checkpoint of step 4 is damaged",
        name.as_str(),
        "resuming from step 2",
        "step-00000004.damaged",
    ] {
        assert!(said.contains(part), "{kind}: `{part}` in {said}");
    }
    let kept = ws
        .join("runs/r/checkpoints/step-00000004.damaged")
        .join(&name);
    assert_eq!(
        std::fs::read(&kept).unwrap().len(),
        bytes.len() / 2,
        "{kind}: kept as it was"
    );
    assert_eq!(status(&ws, "r")["step"], 6, "{kind}");
    assert!(
        step4.join("meta.json").is_file(),
        "{kind}: step 4 trained again"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn pix2pix_resumes_past_a_damaged_checkpoint() {
    a_damaged_newest_checkpoint("pix2pix");
}

#[test]
fn fast_style_resumes_past_a_damaged_checkpoint() {
    a_damaged_newest_checkpoint("fast");
}

#[test]
fn style_transfer_resumes_past_a_damaged_checkpoint() {
    a_damaged_newest_checkpoint("nst");
}
