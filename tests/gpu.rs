//! The GPU side, checked on a GPU: built with `--features cuda` (and `cudnn`), run by
//! `tools/gpu-check.sh` from prebuilt binaries on a machine with an NVIDIA GPU. Where no GPU
//! answers (a CPU build, no driver, no device) every test prints why and passes without checking:
//! these tests prove nothing on such a machine, and say so.
//!
//! `AIART_BIN` names the `aiart` binary to run (default: the one cargo built with this test) and
//! `AIART_REPO` the checkout whose presets, datasets and weights the runs use (default: this
//! one), so that the binaries can be carried to another machine.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why there is no GPU to test on, or None when `cuda:0` opens and computes.
fn no_gpu() -> Option<String> {
    if !cfg!(feature = "cuda") {
        return Some("built without the cuda feature".into());
    }
    aiart::device::pick("cuda:0").err().map(|e| e.to_string())
}

macro_rules! need_gpu {
    ($name:expr) => {
        if let Some(why) = no_gpu() {
            eprintln!("{}: skipped, no GPU answers: {why}", $name);
            return;
        }
    };
}

fn aiart_bin() -> Command {
    let mut c = bin();
    if let Some(b) = std::env::var_os("AIART_BIN") {
        c = Command::new(b);
        c.env("HF_HUB_OFFLINE", "1").env_remove("AIART_HOME");
    }
    c
}

fn checkout() -> PathBuf {
    std::env::var_os("AIART_REPO").map_or_else(repo, PathBuf::from)
}

/// A temp workspace whose presets, datasets and weights are the checkout's (linked, not copied:
/// nothing is written into the checkout).
fn workspace(name: &str) -> PathBuf {
    let ws = temp_workspace(name);
    for d in ["presets", "datasets", "weights"] {
        std::os::unix::fs::symlink(checkout().join(d), ws.join(d)).unwrap();
    }
    ws
}

/// `aiart train presets/<preset>.toml` on `device` for `steps` steps with TF32 off, logging each
/// step; the run's metrics records.
fn train(
    ws: &Path,
    preset: &str,
    device: &str,
    steps: u64,
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let run_dir = ws.join(format!("{preset}-{}", device.replace(':', "")));
    let out = run(aiart_bin()
        .arg("--workspace")
        .arg(ws)
        .current_dir(ws)
        .args([
            "train",
            &format!("presets/{preset}.toml"),
            "-q",
            "--device",
            device,
        ])
        .args(["--max-steps", &steps.to_string()])
        .args(["--set", "train.tf32=false", "--set", "log.print_every=1"])
        .args([
            "--set",
            "log.sample_every=0",
            "--set",
            "log.checkpoint_every=0",
        ])
        .arg("--run-dir")
        .arg(&run_dir));
    assert!(out.status.success(), "{preset} on {device}: {}", text(&out));
    read_jsonl(&run_dir.join("metrics.jsonl"))
}

#[test]
fn a_cuda_device_opens_and_computes_like_the_cpu() {
    need_gpu!("a_cuda_device_opens_and_computes_like_the_cpu");
    use candle_core::{Device, Tensor};
    let gpu = aiart::device::pick("cuda:0").unwrap();
    assert!(matches!(gpu, Device::Cuda(_)));
    aiart::device::set_tf32(false);
    let a = Tensor::randn(0f32, 1.0, (67, 129), &Device::Cpu).unwrap();
    let b = Tensor::randn(0f32, 1.0, (129, 33), &Device::Cpu).unwrap();
    let cpu = a.matmul(&b).unwrap();
    let cuda = a
        .to_device(&gpu)
        .unwrap()
        .matmul(&b.to_device(&gpu).unwrap())
        .unwrap()
        .to_device(&Device::Cpu)
        .unwrap();
    let diff: f32 = (cpu - cuda)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(
        diff < 1e-3,
        "matmul on cuda:0 differs from the CPU's by {diff}"
    );
    // what a driver that refuses the kernels would be told
    assert_ne!(
        aiart::device::BUILD_TOOLKIT,
        "unknown",
        "the build recorded no toolkit"
    );
    let driver = aiart::device::driver_cuda_version();
    eprintln!(
        "kernels built by CUDA {}, driver supports CUDA {driver:?}",
        aiart::device::BUILD_TOOLKIT
    );
    assert!(
        driver.is_some(),
        "NVML and nvidia-smi name no driver version"
    );
}

/// Every case of the self-check (`kernels::selfcheck`), strictly: each op with a CUDA side in
/// this build, its values and every gradient against its CPU side, with TF32 off (cuDNN's FMA
/// math) and on; any disagreement or error fails, and so does an op the check at device open
/// switched off. The cases, warm, must take well under a second (the first check also loads
/// cuDNN).
#[test]
fn every_cuda_op_agrees_with_its_cpu_side_strictly() {
    need_gpu!("every_cuda_op_agrees_with_its_cpu_side_strictly");
    use aiart::nn::kernels::selfcheck::{self, Side};
    use aiart::nn::kernels::{conv, switch};
    let gpu = aiart::device::pick("cuda:0").unwrap();
    let took = aiart::device::self_check_took().expect("the self-check ran at open");
    eprintln!("the self-check at device open took {took:?}");
    let by_check: Vec<_> = switch::cuda_ops_off()
        .into_iter()
        .filter(|(_, why)| why.starts_with("the self-check"))
        .collect();
    assert!(
        by_check.is_empty(),
        "the self-check switched ops off: {by_check:?}"
    );
    // the first check also pays cuDNN's loading and handle (what the first convolution of a
    // run would pay anyway); the check itself, warm, must take well under a second
    assert!(took.as_secs_f64() < 10.0, "the self-check took {took:?}");
    let mut failures = vec![];
    let mut ran = 0;
    for tf32 in [false, true] {
        conv::set_tf32(tf32);
        let start = std::time::Instant::now();
        for op in switch::Op::ALL {
            if !op.has_cuda_side() {
                continue;
            }
            if !switch::cuda_enabled(op) {
                eprintln!(
                    "{}: switched off here (AIART_CUDA_OPS), not checked",
                    op.name()
                );
                continue;
            }
            for case in selfcheck::cases(op) {
                let tol = case.tolerance(tf32);
                match selfcheck::compare(&case, &gpu, Side::Ours, tol) {
                    Ok(err) => eprintln!(
                        "{} `{}` tf32 {tf32}: {err:.2e} (tolerance {tol:.0e})",
                        op.name(),
                        case.name
                    ),
                    Err(f) => {
                        failures.push(format!("{} `{}` tf32 {tf32}: {f}", op.name(), case.name))
                    }
                }
                ran += 1;
            }
        }
        let pass = start.elapsed();
        eprintln!("every case with tf32 {tf32}: {pass:?}");
        if !tf32 {
            // the same cases the check at open ran, now warm (plans made)
            assert!(pass.as_secs_f64() < 1.0, "the cases took {pass:?}");
        }
    }
    conv::set_tf32(true);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    if cfg!(feature = "cudnn") {
        assert!(ran >= 20, "only {ran} cases ran");
    }
}

#[test]
fn quick_presets_give_the_cpus_first_losses_on_cuda_with_tf32_off() {
    need_gpu!("quick_presets_give_the_cpus_first_losses_on_cuda_with_tf32_off");
    let ws = workspace("gpu-first-losses");
    let mut report = vec![];
    for preset in [
        "nst-quick",
        "pix2pix-quick",
        "cyclegan-quick",
        "fast-style-quick",
    ] {
        let cpu = train(&ws, preset, "cpu", 2);
        let cuda = train(&ws, preset, "cuda:0", 2);
        let (a, b) = (&cpu[0], &cuda[0]);
        assert_eq!(a["step"], b["step"], "{preset}");
        for (k, v) in a {
            if ["step", "epoch", "time", "lr", "scale", "scales", "size"].contains(&k.as_str()) {
                continue;
            }
            let (Some(x), Some(y)) = (v.as_f64(), b.get(k).and_then(|v| v.as_f64())) else {
                continue;
            };
            let rel = (x - y).abs() / x.abs().max(1e-12);
            eprintln!(
                "{preset} step {} {k}: cpu {x:.7} cuda {y:.7} rel {rel:.2e}",
                a["step"]
            );
            if rel > 1e-3 {
                report.push(format!("{preset} {k}: cpu {x} cuda {y} (rel {rel:.2e})"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&ws);
    assert!(
        report.is_empty(),
        "first logged losses differ by more than 1e-3:\n{}",
        report.join("\n")
    );
}

#[test]
fn a_cuda_run_writes_its_gpu_into_status_json() {
    need_gpu!("a_cuda_run_writes_its_gpu_into_status_json");
    let ws = workspace("gpu-status");
    let run_dir = ws.join("run");
    let mut child = aiart_bin()
        .arg("--workspace")
        .arg(&ws)
        .current_dir(&ws)
        .args([
            "train",
            "presets/pix2pix-quick.toml",
            "-q",
            "--device",
            "cuda:0",
        ])
        .args(["--max-steps", "100000", "--set", "log.sample_every=0"])
        .arg("--run-dir")
        .arg(&run_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = run_dir.join("status.json");
    let mut last = serde_json::Value::Null;
    let seen = wait_for(90, || {
        let v: Option<serde_json::Value> = std::fs::read_to_string(&status)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if let Some(v) = v {
            last = v;
        }
        last["gpu"].is_object() && last["images_per_s"].as_f64().is_some_and(|r| r > 0.0)
    });
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        seen,
        "no GPU readings in {}: {last}\n{}",
        status.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let g = &last["gpu"];
    let (used, total) = (
        g["memory_used"].as_u64().unwrap(),
        g["memory_total"].as_u64().unwrap(),
    );
    assert!(used > 0 && used <= total, "{g}");
    assert!(g["util_percent"].as_u64().unwrap() <= 100, "{g}");
    eprintln!(
        "status.json of a cuda:0 run: gpu {g}, images/s {}",
        last["images_per_s"]
    );
    let show = run(aiart_bin()
        .arg("--workspace")
        .arg(&ws)
        .args(["runs", "show"])
        .arg(&run_dir));
    assert!(
        text(&show).lines().any(|l| l.starts_with("gpu      GPU ")),
        "runs show has no gpu line: {}",
        text(&show)
    );
    let _ = std::fs::remove_dir_all(&ws);
}
