//! Runs and sweeps on a real Slurm cluster: `.ci/run` starts a one-node cluster with
//! `tools/local-slurm.sh start` (KillWait 5 s, a requeued job may start again after ~11 s) and
//! exports SLURM_CONF. Without a reachable cluster these tests print why and pass without running.
//! They take the node one at a time (a lock), because several of them fill it on purpose.

mod common;
use common::*;
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

static NODE: Mutex<()> = Mutex::new(());

/// The cluster's CPU count when one answers; else None, with the reason printed.
fn cluster() -> Option<u32> {
    let out = Command::new("sinfo")
        .args(["-h", "-N", "-o", "%c"])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let cpus = String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()?
                .trim()
                .parse()
                .ok();
            if cpus.is_none() {
                eprintln!("skipped: sinfo gave no node");
            }
            cpus
        }
        Ok(o) => {
            eprintln!(
                "skipped: no Slurm cluster answers (start one with `eval \"$(tools/local-slurm.sh start)\"`): {}",
                String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
            );
            None
        }
        Err(e) => {
            eprintln!("skipped: no Slurm here (sinfo: {e}); tools/local-slurm.sh starts a one-node cluster");
            None
        }
    }
}

/// The node to ourselves, when there is one.
macro_rules! with_cluster {
    () => {{
        let Some(cpus) = cluster() else { return };
        let guard = NODE.lock().unwrap_or_else(|e| e.into_inner());
        (cpus, guard)
    }};
}

/// Cancels, when the test ends (passed or not), every job of the runs under `ws` and `extra`, so
/// that a failed test leaves nothing on the node for the next one.
struct Cleanup {
    ws: PathBuf,
    extra: Vec<String>,
}

/// A test workspace (see `workspace`) whose jobs are cancelled when the test ends.
fn slurm_workspace(name: &str, epochs: u64, checkpoint_every: u64) -> (PathBuf, Cleanup) {
    let ws = workspace(name, epochs, checkpoint_every);
    let cleanup = Cleanup {
        ws: ws.clone(),
        extra: vec![],
    };
    (ws, cleanup)
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let mut jobs = self.extra.clone();
        if let Ok(rd) = std::fs::read_dir(self.ws.join("runs")) {
            for e in rd.flatten() {
                if let Ok(b) = std::fs::read(e.path().join("slurm.json")) {
                    let v: Value = serde_json::from_slice(&b).unwrap_or_default();
                    jobs.extend(v["job"].as_str().map(String::from));
                }
            }
        }
        if !jobs.is_empty() {
            let _ = Command::new("scancel").args(&jobs).output();
        }
    }
}

fn picture(i: u32) -> image::RgbImage {
    image::RgbImage::from_fn(64, 32, |x, y| {
        image::Rgb([
            ((x * 4 + i * 30) % 256) as u8,
            ((y * 8) % 256) as u8,
            ((x * y + i * 50) % 256) as u8,
        ])
    })
}

/// A workspace with a tiny pix2pix preset `p.toml` of `epochs` epochs (3 steps each).
fn workspace(name: &str, epochs: u64, checkpoint_every: u64) -> PathBuf {
    let ws = temp_workspace(name);
    let train = ws.join("data/train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..3 {
        picture(i).save(train.join(format!("{i}.png"))).unwrap();
    }
    std::fs::write(
        ws.join("p.toml"),
        format!(
            "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
             [model]\nnetG = \"unet_32\"\nngf = 2\nndf = 2\n[train]\nn_epochs = {epochs}\nn_epochs_decay = 0\n\
             [log]\ncheckpoint_every = {checkpoint_every}\nsample_every = 0\n"
        ),
    )
    .unwrap();
    ws
}

fn aiart(ws: &Path, args: &[&str]) -> (bool, String) {
    let out = run(bin().current_dir(ws).args(args));
    (out.status.success(), text(&out))
}

fn list(ws: &Path) -> Vec<Value> {
    let out = run(bin().current_dir(ws).args(["runs", "list", "--json"]));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap_or_default()
}

fn run_state(ws: &Path, id: &str) -> (String, String) {
    list(ws)
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| {
            (
                r["state"].as_str().unwrap_or("").to_string(),
                r["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .unwrap_or_default()
}

fn slurm_json(ws: &Path, id: &str) -> Value {
    read_json(&ws.join("runs").join(id).join("slurm.json"))
}

fn wait_state(ws: &Path, id: &str, secs: u64, want: &[&str]) -> (String, String) {
    let mut last = Default::default();
    let ok = wait_for(secs, || {
        last = run_state(ws, id);
        want.contains(&last.0.as_str())
    });
    assert!(
        ok,
        "run {id}: state {last:?} after {secs} s, wanted one of {want:?}\n{}",
        job_output(ws, id)
    );
    last
}

fn job_output(ws: &Path, id: &str) -> String {
    let rec = ws.join("runs").join(id).join("slurm.json");
    let Ok(bytes) = std::fs::read(rec) else {
        return String::new();
    };
    let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    std::fs::read_to_string(v["output"].as_str().unwrap_or("")).unwrap_or_default()
}

fn scancel(args: &[&str]) {
    let out = Command::new("scancel").args(args).output().unwrap();
    assert!(out.status.success(), "scancel {args:?}: {}", text(&out));
}

#[test]
fn the_script_is_accepted_a_run_queues_runs_and_finishes() {
    let (cpus, _node) = with_cluster!();
    let (ws, mut cleanup) = slurm_workspace("slurm-life", 400, 100);
    // --dry-run shows the script and keeps nothing
    let (ok, out) = aiart(
        &ws,
        &[
            "train",
            "p.toml",
            "--slurm",
            "--time",
            "10",
            "--signal-margin",
            "60",
            "--sbatch-arg=--comment=aiart-test",
            "--dry-run",
            "--run-dir",
            "runs/dry",
        ],
    );
    assert!(ok, "{out}");
    for line in [
        "#SBATCH --time=10",
        "#SBATCH --signal=B:USR1@60",
        "#SBATCH --requeue",
        "#SBATCH --open-mode=append",
        "#SBATCH --comment=aiart-test",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("exec ") && l.contains("train --resume")),
        "{out}"
    );
    assert!(!ws.join("runs/dry").exists(), "a dry run keeps nothing");
    // a job holding every CPU keeps ours waiting on Resources
    let blocker = Command::new("sbatch")
        .args([
            "--parsable",
            "-c",
            &cpus.to_string(),
            "-o",
            "/dev/null",
            "--wrap",
            "sleep 600",
        ])
        .output()
        .unwrap();
    assert!(blocker.status.success(), "{}", text(&blocker));
    let blocker = String::from_utf8_lossy(&blocker.stdout).trim().to_string();
    cleanup.extra.push(blocker.clone());
    let (ok, out) = aiart(
        &ws,
        &[
            "train",
            "p.toml",
            "--slurm",
            "--time",
            "10",
            "--signal-margin",
            "60",
            "--sbatch-arg=--comment=aiart-test",
            "--run-dir",
            "runs/life",
        ],
    );
    assert!(ok, "{out}");
    let script = std::fs::read_to_string(ws.join("runs/life/slurm/job.sbatch")).unwrap();
    assert!(script.contains("--comment=aiart-test"));
    let job = slurm_json(&ws, "life")["job"].as_str().unwrap().to_string();
    let (_, detail) = wait_state(&ws, "life", 60, &["queued"]);
    wait_for(30, || run_state(&ws, "life").1 == "Resources");
    assert_eq!(
        run_state(&ws, "life"),
        ("queued".into(), "Resources".into()),
        "was {detail}"
    );
    let (ok, table) = aiart(&ws, &["runs", "list"]);
    assert!(ok && table.contains("queued (Resources)"), "{table}");
    // a job that asks more than the node has never starts: shown as stuck
    let (ok, out) = aiart(
        &ws,
        &[
            "train",
            "p.toml",
            "--slurm",
            "--cpus",
            &(cpus + 1).to_string(),
            "--run-dir",
            "runs/stuck",
        ],
    );
    assert!(ok, "{out}");
    let (_, detail) = wait_state(&ws, "stuck", 60, &["queued"]);
    assert!(
        wait_for(30, || run_state(&ws, "stuck").1 == "stuck: PartitionConfig"),
        "{detail}"
    );
    let (ok, out) = aiart(&ws, &["runs", "stop", "stuck"]);
    assert!(ok && out.contains("cancelled"), "{out}");
    wait_state(&ws, "stuck", 60, &["cancelled"]);
    // the node frees up: ours runs, then finishes
    scancel(&[&blocker]);
    wait_state(&ws, "life", 120, &["running", "finished"]);
    wait_state(&ws, "life", 300, &["finished"]);
    let rec = slurm_json(&ws, "life");
    let attempts = rec["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{rec}");
    assert_eq!(attempts[0]["state"], "finished");
    assert_eq!(attempts[0]["to_step"], 1200);
    let out = job_output(&ws, "life");
    assert!(
        out.contains(&format!("aiart: job {job} attempt 0")),
        "{out}"
    );
    let m = read_jsonl(&ws.join("runs/life/metrics.jsonl"));
    assert_eq!(m.len(), 1200);
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn stop_through_the_control_file_then_through_scancel() {
    let (_cpus, _node) = with_cluster!();
    let (ws, _cleanup) = slurm_workspace("slurm-stop", 1_000_000, 50);
    for name in ["a", "b"] {
        let (ok, out) = aiart(
            &ws,
            &[
                "train",
                "p.toml",
                "--slurm",
                "--run-dir",
                &format!("runs/{name}"),
            ],
        );
        assert!(ok, "{out}");
    }
    for name in ["a", "b"] {
        wait_state(&ws, name, 120, &["running"]);
        let metrics = ws.join("runs").join(name).join("metrics.jsonl");
        assert!(
            wait_for(120, || read_jsonl(&metrics).len() >= 5),
            "{}",
            job_output(&ws, name)
        );
    }
    // a: the trainer answers `stop` in control.jsonl
    let (ok, out) = aiart(&ws, &["runs", "stop", "a"]);
    assert!(ok && out.contains("stopped"), "{out}");
    assert!(!out.contains("SIGTERM"), "{out}");
    wait_state(&ws, "a", 60, &["stopped"]);
    // b: a trainer that does not answer in time (frozen here with SIGSTOP) gets SIGTERM from scancel
    let pid = read_json(&ws.join("runs/b/status.json"))["pid"]
        .as_i64()
        .unwrap() as i32;
    unsafe { kill(pid, 19) }; // SIGSTOP
    let mut child = bin()
        .current_dir(&ws)
        .args(["runs", "stop", "b", "--timeout", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains("sending SIGTERM") {
            break;
        }
    }
    assert!(said.contains("sending SIGTERM"), "{said}");
    unsafe { kill(pid, 18) }; // SIGCONT: the TERM is delivered
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{said}{}", text(&out));
    let (state, _) = wait_state(&ws, "b", 60, &["stopped"]);
    assert_eq!(state, "stopped");
    let status = read_json(&ws.join("runs/b/status.json"));
    let step = status["step"].as_u64().unwrap();
    let last = aiart::run::RunDir::open(ws.join("runs/b"))
        .newest_complete_checkpoint()
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(last, step, "a checkpoint at the step it stopped");
    let _ = std::fs::remove_dir_all(&ws);
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn a_time_limit_checkpoints_requeues_and_resumes_within_the_budget() {
    let (_cpus, _node) = with_cluster!();
    // checkpoints only when asked: the one written before the time limit is the one resumed from
    let (ws, _cleanup) = slurm_workspace("slurm-limit", 1_000_000, 0);
    let (ok, out) = aiart(
        &ws,
        &[
            "train",
            "p.toml",
            "--slurm",
            "--time",
            "1",
            "--signal-margin",
            "30",
            "--max-requeues",
            "1",
            "--run-dir",
            "runs/t",
        ],
    );
    assert!(ok, "{out}");
    // attempt 0: USR1 ~30 s before the limit → checkpoint → requeue; attempt 1 (restart 1 = the
    // budget): the same warning → checkpoint → timeout
    let (state, _) = wait_state(&ws, "t", 240, &["timeout", "failed", "cancelled"]);
    assert_eq!(state, "timeout", "{}", job_output(&ws, "t"));
    let rec = slurm_json(&ws, "t");
    let a = rec["attempts"].as_array().unwrap();
    assert_eq!(a.len(), 2, "{rec}");
    assert_eq!(a[0]["state"], "requeued");
    assert_eq!(a[1]["state"], "timeout");
    assert_eq!(a[1]["restart"], 1);
    let k = a[0]["to_step"].as_u64().unwrap();
    assert!(k > 0);
    assert_eq!(a[1]["from_step"].as_u64().unwrap(), k, "{rec}");
    // one trajectory: the record after the checkpoint is k + 1, none repeated
    let steps: Vec<u64> = read_jsonl(&ws.join("runs/t/metrics.jsonl"))
        .iter()
        .map(|r| r["step"].as_u64().unwrap())
        .collect();
    let end = a[1]["to_step"].as_u64().unwrap();
    assert_eq!(steps, (1..=end).collect::<Vec<_>>());
    assert!(end > k + 1, "attempt 1 trained on from step {k}");
    let events = read_jsonl(&ws.join("runs/t/events.jsonl"));
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"requeued") && kinds.contains(&"timeout"),
        "{kinds:?}"
    );
    let timeout = events.iter().rfind(|e| e["kind"] == "timeout").unwrap();
    assert!(timeout["message"]
        .as_str()
        .unwrap()
        .contains("requeue budget"));
    let out = job_output(&ws, "t");
    assert!(
        out.contains("attempt 0") && out.contains("attempt 1"),
        "appended output:\n{out}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

fn sweep_id(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("sweep: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no sweep id in {out}"))
        .to_string()
}

#[test]
fn a_sweep_is_one_job_array_two_at_a_time_and_one_task_requeues_alone() {
    let (_cpus, _node) = with_cluster!();
    let (ws, _cleanup) = slurm_workspace("slurm-sweep", 300, 100);
    let (ok, out) = aiart(
        &ws,
        &[
            "sweep",
            "p.toml",
            "--grid",
            "train.lr=1e-4,2e-4",
            "--grid",
            "model.ngf=2,3",
            "--slurm",
            "--max-parallel",
            "2",
        ],
    );
    assert!(ok, "{out}");
    let id = sweep_id(&out);
    let script =
        std::fs::read_to_string(ws.join("sweeps").join(&id).join("slurm/job.sbatch")).unwrap();
    assert!(
        script.lines().any(|l| l == "#SBATCH --array=0-3%2"),
        "{script}"
    );
    let manifest = read_json(&ws.join("sweeps").join(&id).join("manifest.json"));
    let job = manifest["job"].as_str().unwrap().to_string();
    let ids: Vec<String> = (0..4).map(|i| format!("{id}-{i}")).collect();
    // never more than two tasks at once, and all four finish
    let mut most = 0;
    let done = wait_for(400, || {
        let out = Command::new("squeue")
            .args(["-h", "-r", "-t", "RUNNING", "-j", &job, "-o", "%i"])
            .output()
            .unwrap();
        most = most.max(String::from_utf8_lossy(&out.stdout).lines().count());
        ids.iter().all(|r| run_state(&ws, r).0 == "finished")
    });
    assert!(
        done,
        "{:?}",
        ids.iter().map(|r| run_state(&ws, r)).collect::<Vec<_>>()
    );
    assert!(most <= 2, "{most} tasks ran at once");
    for (i, r) in ids.iter().enumerate() {
        assert_eq!(slurm_json(&ws, r)["job"], format!("{job}_{i}"));
    }
    let (ok, out) = aiart(&ws, &["sweep", "show", &id]);
    assert!(ok && out.contains("4 finished"), "{out}");
    assert!(
        out.contains("lr=2e-4 ngf=3"),
        "grid values label each run: {out}"
    );
    let (ok, out) = aiart(&ws, &["sweep", "list"]);
    assert!(ok && out.contains(&id) && out.contains("slurm"), "{out}");

    // a USR1 to one array task requeues that task only
    std::fs::write(
        ws.join("long.toml"),
        std::fs::read_to_string(ws.join("p.toml"))
            .unwrap()
            .replace("n_epochs = 300", "n_epochs = 1000000"),
    )
    .unwrap();
    let (ok, out) = aiart(
        &ws,
        &[
            "sweep",
            "long.toml",
            "--grid",
            "train.lr=1e-4,2e-4",
            "--slurm",
        ],
    );
    assert!(ok, "{out}");
    let id = sweep_id(&out);
    let runs: Vec<String> = (0..2).map(|i| format!("{id}-{i}")).collect();
    for r in &runs {
        wait_state(&ws, r, 120, &["running"]);
        let m = ws.join("runs").join(r).join("metrics.jsonl");
        assert!(wait_for(120, || read_jsonl(&m).len() >= 5));
    }
    let task1 = slurm_json(&ws, &runs[1])["job"]
        .as_str()
        .unwrap()
        .to_string();
    scancel(&["--batch", "--signal=USR1", &task1]);
    assert!(
        wait_for(180, || slurm_json(&ws, &runs[1])["attempts"]
            .as_array()
            .unwrap()
            .len()
            == 2),
        "{}",
        slurm_json(&ws, &runs[1])
    );
    wait_state(&ws, &runs[1], 120, &["running"]);
    assert_eq!(
        slurm_json(&ws, &runs[0])["attempts"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "task 0 ran on untouched"
    );
    assert_eq!(run_state(&ws, &runs[0]).0, "running");
    let (ok, out) = aiart(&ws, &["sweep", "stop", &id]);
    assert!(ok, "{out}");
    for r in &runs {
        wait_state(&ws, r, 60, &["stopped"]);
    }
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_job_slurm_forgot_is_read_from_its_output_without_sacct() {
    let (_cpus, _node) = with_cluster!();
    let (ws, _cleanup) = slurm_workspace("slurm-gone", 1, 100);
    // a finished run keeps its own word; then one whose job Slurm no longer knows (purged, or a
    // cluster that was reinstalled): accounting is disabled here, so the output file decides
    let (ok, out) = aiart(
        &ws,
        &["train", "p.toml", "--slurm", "--run-dir", "runs/done"],
    );
    assert!(ok, "{out}");
    wait_state(&ws, "done", 120, &["finished"]);
    let run = aiart::run::RunDir::open(ws.join("runs/gone"));
    std::fs::create_dir_all(ws.join("runs/gone/slurm")).unwrap();
    std::fs::copy(ws.join("runs/done/run.json"), ws.join("runs/gone/run.json")).unwrap();
    let mut status = run.status_now(aiart::run::RunState::Running, 7, 3, 9, "");
    status.pid = 0;
    run.write_status(&status).unwrap();
    let output = ws.join("runs/gone/slurm/999999.out");
    aiart::launch::slurm::record::write(
        &run,
        &aiart::launch::slurm::record::SlurmRecord {
            job: "999999".into(),
            output: output.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    std::fs::write(&output, "aiart: job 999999 attempt 0\nslurmstepd: error: *** JOB 999999 ON localhost CANCELLED AT 2026-11-29T10:00:00 DUE TO TIME LIMIT ***\n").unwrap();
    assert_eq!(run_state(&ws, "gone").0, "timeout");
    assert_eq!(run_state(&ws, "done").0, "finished");
    std::fs::write(&output, "aiart: job 999999 attempt 0\n").unwrap();
    assert_eq!(
        run_state(&ws, "gone").0,
        "crashed",
        "no word from Slurm and no trainer"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_local_sweep_runs_two_at_a_time_and_groups_its_runs() {
    // no Slurm needed: the local queue
    let ws = workspace("sweep-local", 20, 100);
    let (ok, out) = aiart(
        &ws,
        &[
            "sweep",
            "p.toml",
            "--grid",
            "train.lr=1e-4,2e-4",
            "--grid",
            "model.ngf=2,3",
            "--max-parallel",
            "2",
        ],
    );
    assert!(ok, "{out}");
    let id = sweep_id(&out);
    let ids: Vec<String> = (0..4).map(|i| format!("{id}-{i}")).collect();
    let mut most = 0;
    let done = wait_for(300, || {
        let states: Vec<String> = ids.iter().map(|r| run_state(&ws, r).0).collect();
        most = most.max(states.iter().filter(|s| *s == "running").count());
        states.iter().all(|s| s == "finished")
    });
    assert!(
        done,
        "{:?}",
        ids.iter().map(|r| run_state(&ws, r)).collect::<Vec<_>>()
    );
    assert!(most <= 2, "{most} ran at once");
    let (ok, out) = aiart(&ws, &["sweep", "show", &id]);
    assert!(
        ok && out.contains("4 finished") && out.contains("lr=1e-4 ngf=3"),
        "{out}"
    );
    for (i, r) in ids.iter().enumerate() {
        let preset = std::fs::read_to_string(ws.join("runs").join(r).join("preset.toml")).unwrap();
        let ngf = if i % 2 == 0 { "ngf = 2" } else { "ngf = 3" };
        assert!(preset.contains(ngf), "task {i}: {preset}");
    }
    // a bad grid value is refused before anything is made
    let (ok, out) = aiart(&ws, &["sweep", "p.toml", "--grid", "train.lr=1e-4,-1"]);
    assert!(!ok && out.contains("train.lr"), "{out}");
    assert_eq!(std::fs::read_dir(ws.join("sweeps")).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn preemption_checkpoints_and_requeues_like_a_time_limit() {
    let (cpus, _node) = with_cluster!();
    let parts = Command::new("sinfo")
        .args(["-h", "-o", "%P"])
        .output()
        .unwrap();
    if !String::from_utf8_lossy(&parts.stdout)
        .lines()
        .any(|l| l.trim() == "urgent")
    {
        eprintln!("skipped: no `urgent` partition that preempts (tools/local-slurm.sh makes one)");
        return;
    }
    let (ws, mut cleanup) = slurm_workspace("slurm-preempt", 1_000_000, 0);
    let (ok, out) = aiart(
        &ws,
        &[
            "train",
            "p.toml",
            "--slurm",
            "--cpus",
            &cpus.to_string(),
            "--run-dir",
            "runs/v",
        ],
    );
    assert!(ok, "{out}");
    wait_state(&ws, "v", 120, &["running"]);
    let m = ws.join("runs/v/metrics.jsonl");
    assert!(wait_for(120, || read_jsonl(&m).len() >= 5));
    // a job of a higher-priority partition takes the node: USR1, then TERM, for ours
    let urgent = Command::new("sbatch")
        .args([
            "--parsable",
            "-p",
            "urgent",
            "-c",
            &cpus.to_string(),
            "-o",
            "/dev/null",
            "--wrap",
            "sleep 3",
        ])
        .output()
        .unwrap();
    assert!(urgent.status.success(), "{}", text(&urgent));
    cleanup
        .extra
        .push(String::from_utf8_lossy(&urgent.stdout).trim().to_string());
    assert!(
        wait_for(180, || {
            let rec = slurm_json(&ws, "v");
            let a = rec["attempts"].as_array().unwrap();
            a.len() == 2 && a[0]["state"] == "requeued"
        }),
        "{}\n{}",
        slurm_json(&ws, "v"),
        job_output(&ws, "v")
    );
    wait_state(&ws, "v", 120, &["running"]);
    let rec = slurm_json(&ws, "v");
    let a = rec["attempts"].as_array().unwrap();
    assert_eq!(a[1]["from_step"], a[0]["to_step"], "{rec}");
    let (ok, out) = aiart(&ws, &["runs", "stop", "v"]);
    assert!(ok, "{out}");
    wait_state(&ws, "v", 60, &["stopped"]);
    let steps: Vec<u64> = read_jsonl(&m)
        .iter()
        .map(|r| r["step"].as_u64().unwrap())
        .collect();
    assert_eq!(
        steps,
        (1..=*steps.last().unwrap()).collect::<Vec<_>>(),
        "one trajectory"
    );
    let _ = std::fs::remove_dir_all(&ws);
}
