//! `aiart bench`: the median time of a training or inference step of each workload (after one
//! warm-up step) and its peak memory (peak RSS; on CUDA also the memory pool's peaks,
//! `bench::GpuMemory`). Each workload runs in a process of its own (this binary,
//! with `--in-process`), so its peak RSS is its own and the thread count is set before any pool
//! starts. `tools/bench_torch.py` prints the same JSON for PyTorch; `tools/bench_compare.sh` puts
//! the two side by side.

use aiart::bench::{self, WORKLOADS};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Print JSON on stdout and nothing else
    #[arg(long)]
    pub json: bool,
    /// cpu or cuda:N
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Run only these workloads (repeatable) [default: all: nst-vgg19-256, cyclegan-128,
    /// cyclegan-256, pix2pix-256, translate-resnet9-256, adam-resnet9, fast-style-train-256,
    /// fast-style-1080p, fast-style-720p, nst-gatys-512]. Also: nst-SIZE-tileT / nst-SIZE-untiled (one
    /// style-transfer iteration at SIZE px), and nst-multiscale (print resolution: 512 … 4096 px with
    /// tiles of 512, and 1024 and 2048 px untiled vs tiled; add --steps 1 --warmup 0), and
    /// translate-resnet9-6mp (a 6000×4000 photo through resnet_9blocks in bands under
    /// --max-memory 2GiB; minutes a step on a CPU: add --steps 1 --warmup 0)
    #[arg(long = "workload", value_name = "NAME")]
    pub workloads: Vec<String>,
    /// Timed steps per workload
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Untimed steps before them
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// CPU threads [default: every core]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run the one workload in this process (what each child of `aiart bench` does)
    #[arg(long, hide = true)]
    pub in_process: bool,
}

#[derive(Debug, Deserialize, Serialize)]
struct Measured {
    name: String,
    ms_per_step: f64,
    /// every timed step, in ms
    steps_ms: Vec<f64>,
    peak_rss_mb: f64,
    /// on CUDA (`bench::GpuMemory`): the pool's peak of allocated bytes, MiB
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gpu_peak_allocated_mb: Option<f64>,
    /// on CUDA: the pool's peak reservation, MiB
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gpu_peak_reserved_mb: Option<f64>,
    /// on CUDA: the device's memory in use when the steps were done (every process), MiB
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gpu_device_used_mb: Option<f64>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Report {
    device: String,
    threads: usize,
    workloads: Vec<Measured>,
}

fn threads(a: &BenchArgs) -> usize {
    a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

fn measure_here(a: &BenchArgs, name: &str) -> Result<Measured> {
    let device = aiart::device::pick(&a.device)?;
    let scratch = std::env::temp_dir().join(format!("aiart-bench-{}", std::process::id()));
    let mut step = bench::build(name, &device, &scratch)?;
    for _ in 0..a.warmup {
        step()?;
    }
    let mut times = vec![];
    for _ in 0..a.steps.max(1) {
        let t = Instant::now();
        step()?;
        device.synchronize()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let gpu = bench::gpu_memory(&device)?;
    let steps_ms = times.clone();
    Ok(Measured {
        name: name.into(),
        ms_per_step: bench::median(&mut times),
        steps_ms,
        peak_rss_mb: bench::peak_rss_mb().unwrap_or(f64::NAN),
        gpu_peak_allocated_mb: gpu.and_then(|g| g.peak_allocated_mb),
        gpu_peak_reserved_mb: gpu.and_then(|g| g.peak_reserved_mb),
        gpu_device_used_mb: gpu.map(|g| g.device_used_mb),
    })
}

fn measure_in_child(a: &BenchArgs, name: &str, threads: usize) -> Result<Measured> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let out = std::process::Command::new(exe)
        .args(["bench", "--in-process", "--json", "--workload", name])
        .args(["--device", &a.device, "--steps", &a.steps.to_string()])
        .args(["--warmup", &a.warmup.to_string()])
        .args(["--threads", &threads.to_string()])
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("workload {name} failed ({})", out.status);
    }
    let r: Report = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("workload {name}: unreadable report"))?;
    r.workloads
        .into_iter()
        .next()
        .with_context(|| format!("workload {name}: empty report"))
}

pub fn run(a: BenchArgs) -> Result<i32> {
    let names: Vec<String> = if a.workloads.is_empty() {
        WORKLOADS.iter().map(|s| s.to_string()).collect()
    } else {
        a.workloads
            .iter()
            .flat_map(|w| match w.as_str() {
                "nst-multiscale" => bench::MULTISCALE.iter().map(|s| s.to_string()).collect(),
                _ => vec![w.clone()],
            })
            .collect()
    };
    for n in &names {
        let known = WORKLOADS.contains(&n.as_str()) || bench::LARGE.contains(&n.as_str());
        if !known && bench::parse_nst_size(n).is_none() {
            bail!(
                "unknown workload `{n}`; the workloads: {}",
                WORKLOADS.join(", ")
            );
        }
    }
    let threads = threads(&a);
    let mut report = Report {
        device: a.device.clone(),
        threads,
        workloads: vec![],
    };
    if a.in_process {
        let [name] = &names[..] else {
            bail!("--in-process runs exactly one --workload");
        };
        report.workloads.push(measure_here(&a, name)?);
    } else {
        for name in &names {
            if !a.json {
                eprintln!("{name} …");
            }
            report.workloads.push(measure_in_child(&a, name, threads)?);
        }
    }
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(0);
    }
    println!(
        "device {}, {} thread(s), median of {} step(s) after {} warm-up",
        report.device, report.threads, a.steps, a.warmup
    );
    let gpu = report
        .workloads
        .iter()
        .any(|w| w.gpu_device_used_mb.is_some());
    println!(
        "{:<24} {:>12} {:>12} {:>14}{}",
        "workload",
        "ms/step",
        "fastest",
        "peak RSS MiB",
        if gpu {
            format!(" {:>14} {:>13}", "GPU alloc MiB", "GPU pool MiB")
        } else {
            String::new()
        }
    );
    let mib = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    for w in &report.workloads {
        let fastest = w.steps_ms.iter().copied().fold(f64::INFINITY, f64::min);
        let gpu = if gpu {
            format!(
                " {:>14} {:>13}",
                mib(w.gpu_peak_allocated_mb),
                mib(w.gpu_peak_reserved_mb)
            )
        } else {
            String::new()
        };
        println!(
            "{:<24} {:>12.1} {:>12.1} {:>14.0}{gpu}",
            w.name, w.ms_per_step, fastest, w.peak_rss_mb
        );
    }
    Ok(0)
}
