//! How readers ask Slurm, with stand-in `squeue` and `sacct` on PATH that log each call: one
//! batched squeue for every run not over, at most every 15 s in a process; sacct asked once, and
//! not again once it said accounting is disabled; a run on another node that squeue says is running
//! is not crashed, however old its heartbeat. (Its own test binary: it sets PATH for the process.)

use aiart::launch::slurm::record::{self, SlurmRecord};
use aiart::run::{RunDir, RunInfo, RunState};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn one_batched_squeue_and_sacct_asked_once() {
    let root = std::env::temp_dir().join(format!("aiart-slurmq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let (sq_log, sa_log) = (root.join("squeue.log"), root.join("sacct.log"));
    script(
        &bin.join("squeue"),
        &format!(
            "echo \"$@\" >> {}\nprintf '11|PENDING|Resources|\\n12|RUNNING|None|node7\\n'",
            sq_log.display()
        ),
    );
    script(
        &bin.join("sacct"),
        &format!(
            "echo \"$@\" >> {}\necho 'Slurm accounting storage is disabled' >&2\nexit 1",
            sa_log.display()
        ),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // SAFETY: this test binary has one test, and no other thread reads the environment now
    unsafe { std::env::set_var("PATH", path) };

    let runs = root.join("runs");
    let make = |name: &str, job: &str, state: RunState, host: &str, heartbeat_age: f64| {
        let run = RunDir::create(runs.join(name)).unwrap();
        run.write_info(&RunInfo {
            id: name.into(),
            kind: aiart::preset::Kind::Pix2Pix,
            host: host.into(),
            ..Default::default()
        })
        .unwrap();
        let mut s = run.status_now(state, 3, 1, 10, "");
        s.host = host.into();
        s.pid = 4_000_000; // no such process here
        s.heartbeat -= heartbeat_age;
        run.write_status(&s).unwrap();
        let output = run.root.join(format!("slurm/{job}.out"));
        std::fs::create_dir_all(output.parent().unwrap()).unwrap();
        record::write(
            &run,
            &SlurmRecord {
                job: job.into(),
                output,
                ..Default::default()
            },
        )
        .unwrap();
        run
    };
    make("a-queued", "11", RunState::Queued, "login", 500.0);
    make("b-running", "12", RunState::Running, "node7", 500.0);
    let gone = make("c-gone", "13", RunState::Running, "node8", 500.0);
    std::fs::write(
        gone.root.join("slurm/13.out"),
        "step 3\nslurmstepd: error: *** JOB 13 ON node8 CANCELLED AT 2026-11-29T10:00:00 DUE TO PREEMPTION ***\n",
    )
    .unwrap();
    make("d-done", "14", RunState::Finished, "node9", 500.0);

    for _ in 0..3 {
        let all = aiart::launch::list_runs(&runs);
        let state = |id: &str| {
            let r = all.iter().find(|r| r.id == id).unwrap();
            (r.state.to_string(), r.detail.clone())
        };
        assert_eq!(state("a-queued"), ("queued".into(), "Resources".into()));
        assert_eq!(
            state("b-running").0,
            "running",
            "a stale heartbeat on another node is not a crash while Slurm says RUNNING"
        );
        assert_eq!(state("c-gone").0, "preempted");
        assert_eq!(state("d-done").0, "finished");
    }
    let sq = lines(&sq_log);
    assert_eq!(sq.len(), 1, "one squeue for three lists: {sq:?}");
    let ids = sq[0].split("-j ").nth(1).unwrap_or("");
    assert_eq!(
        ids, "11,12,13",
        "every run not over, in one call; a finished one not at all: {sq:?}"
    );
    assert!(sq[0].contains("-t all"));
    assert_eq!(
        lines(&sa_log).len(),
        1,
        "sacct is not asked again once accounting is disabled"
    );
    let _ = std::fs::remove_dir_all(&root);
}
