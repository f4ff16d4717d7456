//! The dashboard end to end, in a real terminal (tmux): start a run from a preset, see its losses,
//! pause it, see a preset and a dataset made meanwhile, quit — the run goes on without the
//! dashboard.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux").args(args).output().expect("tmux")
}

fn screen(session: &str) -> String {
    String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", session]).stdout).into_owned()
}

fn preset(ws: &Path) {
    write_image(&ws.join("c.png"), 32, 32, 1);
    write_image(&ws.join("s.png"), 32, 32, 2);
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::write(
        ws.join("presets/tiny.toml"),
        format!(
            "kind = \"nst\"\n[data]\ncontent = \"c.png\"\nstyle = \"s.png\"\nimage_size = 32\n[model]\nvgg_weights = \"{}\"\n\
             [train]\niterations = 100000000\n[log]\nsample_every = 20\ncheckpoint_every = 1000\n",
            tiny_vgg().display()
        ),
    )
    .unwrap();
}

#[test]
fn start_watch_pause_and_quit_in_tmux() {
    if let Err(e) = Command::new("tmux").arg("-V").output() {
        // as the Slurm tests without a cluster; .ci/run installs tmux and fails without it
        eprintln!(
            "skipped: this test drives the dashboard in tmux, which is not here ({e}); \
             install it (apt-get install tmux) to run it"
        );
        return;
    }
    let ws = temp_workspace("tmux");
    preset(&ws);
    let session = format!("aiart-e2e-{}", std::process::id());
    let cmd = format!(
        "cd '{}' && HF_HUB_OFFLINE=1 '{}' --workspace . ; echo DASHBOARD-EXITED; sleep 60",
        ws.display(),
        env!("CARGO_BIN_EXE_aiart")
    );
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "140",
        "-y",
        "40",
        &cmd,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = |what: &str, secs: u64| {
        let ok = wait_for(secs, || screen(&session).contains(what));
        if !ok {
            let s = screen(&session);
            tmux(&["kill-session", "-t", &session]);
            panic!("never saw `{what}` on the dashboard:\n{s}");
        }
    };
    done("1 Runs", 30);
    done("none yet", 10);
    tmux(&["send-keys", "-t", &session, "2"]);
    done("tiny", 10);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    done("running", 60);
    // the reference's order: content, style, tv, total
    done("F4 total", 60);
    tmux(&["send-keys", "-t", &session, "p"]);
    done("paused", 30);
    // presets and datasets made while the dashboard is open appear (file notifications)
    tmux(&["send-keys", "-t", &session, "2"]);
    std::fs::write(
        ws.join("presets/late.toml"),
        "kind = \"nst\"\n[data]\ncontent = \"c.png\"\nstyle = \"s.png\"\nimage_sise = 256\n",
    )
    .unwrap();
    done("late", 10);
    done("invalid", 10);
    let d = ws.join("datasets/late-set");
    std::fs::create_dir_all(&d).unwrap();
    write_image(&d.join("a.png"), 16, 16, 3);
    tmux(&["send-keys", "-t", &session, "3"]);
    done("late-set", 10);
    tmux(&["send-keys", "-t", &session, "1"]);
    let runs: Vec<_> = std::fs::read_dir(ws.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    assert_eq!(read_json(&runs[0].join("status.json"))["state"], "paused");
    tmux(&["send-keys", "-t", &session, "q"]);
    done("DASHBOARD-EXITED", 20);
    tmux(&["kill-session", "-t", &session]);
    // the run outlived the dashboard; stop it
    assert_eq!(read_json(&runs[0].join("status.json"))["state"], "paused");
    let out = run(bin()
        .current_dir(&ws)
        .args(["runs", "stop", runs[0].to_str().unwrap()]));
    assert!(out.status.success(), "{}", text(&out));
}
