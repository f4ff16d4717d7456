//! Putting runs away (`runs rm`) and what sweeps say about their runs (`sweep show`, `--help`),
//! through the real binary (issue 21).

mod common;
use aiart::run::dir::hostname;
use aiart::run::{RunDir, RunInfo, RunState};
use common::*;
use std::path::{Path, PathBuf};

fn aiart(ws: &Path, args: &[&str]) -> (bool, String) {
    let out = run(bin()
        .current_dir(ws)
        .args(args)
        .stdin(std::process::Stdio::null()));
    (out.status.success(), text(&out))
}

/// A run folder in `state`; a live one's trainer is this test process.
fn make_run(ws: &Path, id: &str, state: RunState) -> PathBuf {
    let run = RunDir::create(ws.join("runs").join(id)).unwrap();
    run.write_info(&RunInfo {
        id: run.id(),
        kind: aiart::preset::Kind::Pix2Pix,
        host: hostname(),
        pid: std::process::id(),
        started: 1.0,
        ..Default::default()
    })
    .unwrap();
    run.write_status(&run.status_now(state, 3, 1, 10, ""))
        .unwrap();
    run.append_metrics(3, 1, 2e-4, &[("G_L1".into(), 12.5)])
        .unwrap();
    ws.join("runs").join(id)
}

#[test]
fn runs_rm_archives_what_is_over_never_a_live_run_and_deletes_only_when_told() {
    let ws = temp_workspace("runs-rm");
    let done = make_run(&ws, "20261130-010000-smoke", RunState::Finished);
    let live = make_run(&ws, "20261130-010100-live", RunState::Running);
    let (_, out) = aiart(&ws, &["runs", "list"]);
    assert!(
        out.contains("20261130-010100-live") && out.contains("running"),
        "{out}"
    );
    // one live run among those named: nothing is touched
    let (ok, out) = aiart(
        &ws,
        &[
            "runs",
            "rm",
            "20261130-010000-smoke",
            "20261130-010100-live",
        ],
    );
    assert!(
        !ok && out.contains("nothing removed") && out.contains("stop it first"),
        "{out}"
    );
    assert!(done.join("run.json").is_file() && live.join("run.json").is_file());
    let (ok, out) = aiart(&ws, &["runs", "rm", "no-such-run"]);
    assert!(!ok && out.contains("no run `no-such-run`"), "{out}");
    // a run that is over moves whole to archive/runs/ and leaves the lists
    let (ok, out) = aiart(&ws, &["runs", "rm", "20261130-010000-smoke"]);
    assert!(
        ok && out.contains("archived 20261130-010000-smoke"),
        "{out}"
    );
    let kept = ws.join("archive/runs/20261130-010000-smoke");
    assert!(
        !done.exists() && kept.join("run.json").is_file() && kept.join("metrics.jsonl").is_file()
    );
    let (_, out) = aiart(&ws, &["runs", "list"]);
    assert!(!out.contains("20261130-010000-smoke"), "{out}");
    // the same id archived again is refused, not merged or overwritten
    make_run(&ws, "20261130-010000-smoke", RunState::Stopped);
    let (ok, out) = aiart(&ws, &["runs", "rm", "20261130-010000-smoke"]);
    assert!(!ok && out.contains("already archived"), "{out}");
    assert!(done.join("run.json").is_file());
    // deleting for good asks first; without a terminal it needs --yes
    let (ok, out) = aiart(&ws, &["runs", "rm", "--delete", "20261130-010000-smoke"]);
    assert!(!ok && out.contains("--yes"), "{out}");
    assert!(done.join("run.json").is_file());
    let (ok, out) = aiart(
        &ws,
        &["runs", "rm", "--delete", "--yes", "20261130-010000-smoke"],
    );
    assert!(ok && out.contains("deleted 20261130-010000-smoke"), "{out}");
    assert!(!done.exists() && kept.join("run.json").is_file());
    let (ok, out) = aiart(
        &ws,
        &["runs", "rm", "--delete", "--yes", "20261130-010100-live"],
    );
    assert!(
        !ok && out.contains("stop it first") && live.join("run.json").is_file(),
        "{out}"
    );
    let (_, out) = aiart(&ws, &["runs", "--help"]);
    assert!(out.contains("rm"), "{out}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn runs_list_shows_every_loss_in_the_reference_order() {
    let ws = temp_workspace("runs-loss-order");
    let p2p = RunDir::create(ws.join("runs/20261130-020000-p2p")).unwrap();
    p2p.write_info(&RunInfo {
        id: p2p.id(),
        kind: aiart::preset::Kind::Pix2Pix,
        host: hostname(),
        pid: std::process::id(),
        started: 1.0,
        ..Default::default()
    })
    .unwrap();
    p2p.write_status(&p2p.status_now(RunState::Finished, 3, 1, 3, ""))
        .unwrap();
    let losses = [
        ("D_fake", 0.7),
        ("D_real", 0.6),
        ("G_GAN", 1.5),
        ("G_L1", 12.5),
    ];
    p2p.append_metrics(3, 1, 2e-4, &losses.map(|(k, v)| (k.to_string(), v)))
        .unwrap();
    let (ok, out) = aiart(&ws, &["runs", "list"]);
    assert!(
        ok && out.contains("G_GAN=1.5 G_L1=12.5 D_real=0.6 D_fake=0.7"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_learning_rate_sweep_is_labelled_with_its_values() {
    let ws = temp_workspace("sweep-labels");
    let train = ws.join("data/train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..2u32 {
        image::RgbImage::from_fn(64, 32, |x, y| {
            image::Rgb([((x * 4 + i * 30) % 256) as u8, ((y * 8) % 256) as u8, 90])
        })
        .save(train.join(format!("{i}.png")))
        .unwrap();
    }
    std::fs::write(
        ws.join("p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"unet_32\"\nngf = 2\nndf = 2\n[train]\nn_epochs = 1\nn_epochs_decay = 0\n\
         [log]\ncheckpoint_every = 100\nsample_every = 0\n",
    )
    .unwrap();
    let (ok, out) = aiart(
        &ws,
        &[
            "sweep",
            "p.toml",
            "--grid",
            "train.lr=0.01,0.05",
            "--grid",
            "train.beta1=0.5,0.25",
            "--max-parallel",
            "2",
        ],
    );
    assert!(ok, "{out}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("sweep: "))
        .map(|s| s.split_whitespace().next().unwrap().to_string())
        .unwrap_or_else(|| panic!("no sweep id in {out}"));
    let (ok, out) = aiart(&ws, &["sweep", "show", &id]);
    assert!(ok, "{out}");
    for label in [
        "lr=0.01 beta1=0.5",
        "lr=0.01 beta1=0.25",
        "lr=0.05 beta1=0.5",
        "lr=0.05 beta1=0.25",
    ] {
        assert!(out.contains(label), "{label}: {out}");
    }
    assert!(!out.contains(" 01 ") && !out.contains(" 05 "), "{out}");
    // the runs finish (nothing left running behind the test)
    let finished = wait_for(300, || {
        let (_, out) = aiart(&ws, &["sweep", "show", &id]);
        out.contains("4 finished")
    });
    let (_, out) = aiart(&ws, &["sweep", "show", &id]);
    assert!(finished, "{out}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn sweep_help_names_every_subcommand() {
    let ws = temp_workspace("sweep-help");
    let (ok, out) = aiart(&ws, &["sweep", "--help"]);
    assert!(ok, "{out}");
    for sub in ["list", "show", "stop"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(sub)),
            "`{sub}` in: {out}"
        );
    }
    // `aiart sweep` alone shows the same, not an error that names only how to start one
    let (_, out) = aiart(&ws, &["sweep"]);
    for sub in ["list", "show", "stop"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(sub)),
            "`{sub}` in: {out}"
        );
    }
    assert!(out.contains("aiart sweep <COMMAND>"), "{out}");
    let _ = std::fs::remove_dir_all(&ws);
}
