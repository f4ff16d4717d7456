//! Soak benchmark: runs each quick preset for many steps as the real trainer and prints its
//! resident memory as it goes, so memory that grows with steps shows (issue 10). Not a test.
//!
//!     cargo build --release && cargo run --release --example soak [-- --steps 1000 --every 100 PRESET…]
//!
//! Defaults: presets/pix2pix-quick.toml, presets/cyclegan-quick.toml, presets/nst-quick.toml (its
//! iterations raised to the step count), 1,000 steps, a line every 100. Each line: the step, the
//! trainer's resident set (VmRSS) and its peak so far (VmHWM), read from /proc every 100 ms.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn proc_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn last_step(metrics: &Path) -> u64 {
    std::fs::read_to_string(metrics)
        .unwrap_or_default()
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?["step"].as_u64())
        .unwrap_or(0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

struct Soak {
    preset: String,
    /// (step, rss kB, peak kB) at each reported step
    rows: Vec<(u64, u64, u64)>,
    seconds: f64,
}

fn soak(bin: &Path, repo: &Path, preset: &str, steps: u64, every: u64) -> Soak {
    let run_dir = std::env::temp_dir().join(format!(
        "aiart-soak-{}-{}",
        Path::new(preset).file_stem().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&run_dir);
    let mut cmd = Command::new(bin);
    cmd.current_dir(repo)
        .args([
            "train",
            preset,
            "--quiet",
            "--max-steps",
            &steps.to_string(),
        ])
        .arg("--run-dir")
        .arg(&run_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if std::fs::read_to_string(repo.join(preset)).is_ok_and(|t| t.contains("kind = \"nst\"")) {
        cmd.args(["--set", &format!("train.iterations={steps}")]);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start the trainer");
    let pid = child.id();
    let metrics = run_dir.join("metrics.jsonl");
    let (mut rows, mut next) = (vec![], every);
    let (mut rss, mut peak) = (0, 0);
    println!("{preset}: pid {pid}");
    loop {
        if let (Some(r), Some(p)) = (proc_kb(pid, "VmRSS:"), proc_kb(pid, "VmHWM:")) {
            // the kernel updates VmHWM lazily: it can read lower than an RSS seen before
            (rss, peak) = (r, peak.max(p).max(r));
        }
        let step = last_step(&metrics);
        while step >= next {
            println!(
                "  step {next:>6}  rss {:>8.1} MiB  peak {:>8.1} MiB  ({:.0} s)",
                mb(rss),
                mb(peak),
                start.elapsed().as_secs_f64()
            );
            rows.push((next, rss, peak));
            next += every;
        }
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "{preset}: the trainer failed: {status}");
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(&run_dir);
    Soak {
        preset: preset.into(),
        rows,
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut steps, mut every, mut presets) = (1000u64, 100u64, vec![]);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--steps" => steps = args.next().and_then(|v| v.parse().ok()).expect("--steps N"),
            "--every" => every = args.next().and_then(|v| v.parse().ok()).expect("--every N"),
            p => presets.push(p.to_string()),
        }
    }
    if presets.is_empty() {
        presets = ["pix2pix-quick", "cyclegan-quick", "nst-quick"]
            .map(|p| format!("presets/{p}.toml"))
            .to_vec();
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // target/release/examples/soak -> target/release/aiart
    let bin = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.join("aiart")))
        .filter(|b| b.is_file())
        .expect("build the binary first: cargo build --release");
    let results: Vec<Soak> = presets
        .iter()
        .map(|p| soak(&bin, &repo, p, steps, every))
        .collect();
    println!("\n| preset | peak RSS at step {every} | peak RSS at step {steps} | growth per step after step {every} | time |");
    println!("| --- | --- | --- | --- | --- |");
    for s in &results {
        let (Some(first), Some(last)) = (s.rows.first(), s.rows.last()) else {
            continue;
        };
        let per_step = (last.2 as f64 - first.2 as f64) / (last.0 - first.0).max(1) as f64;
        println!(
            "| {} | {:.0} MiB | {:.0} MiB | {:.1} KiB | {:.0} s |",
            s.preset,
            mb(first.2),
            mb(last.2),
            per_step,
            s.seconds
        );
    }
}
