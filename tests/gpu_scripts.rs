//! What a CPU can check of the GPU scripts: they parse (`bash -n`), and `tools/gpu-check.sh
//! --dry-run` prints every part of its plan from a pack that holds everything, and names what an
//! empty pack lacks (exit 1), running nothing and writing nothing into the checkout.

mod common;
use common::{repo, temp_workspace};
use std::process::Command;

#[test]
fn the_gpu_scripts_parse() {
    for script in [
        "tools/gpu-check.sh",
        "tools/gpu-pack.sh",
        "tools/bench_compare.sh",
    ] {
        let out = Command::new("bash")
            .arg("-n")
            .arg(repo().join(script))
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn dry_run(pack: &std::path::Path) -> (i32, String) {
    let out = Command::new("bash")
        .arg(repo().join("tools/gpu-check.sh"))
        .arg("--dry-run")
        .arg(pack)
        .env("AIART_GPU_BUDGET_S", "540")
        .output()
        .expect("bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn gpu_check_dry_run_prints_the_plan_and_what_the_pack_lacks() {
    let full = temp_workspace("gpu-pack-full");
    std::fs::create_dir_all(full.join("trajectories")).unwrap();
    for f in [
        "aiart.xz",
        "gpu-tests.xz",
        "liblaunchcount.so",
        "MANIFEST",
        "trajectories/nst-quick.jsonl",
        "trajectories/pix2pix-quick.jsonl",
        "trajectories/cyclegan-quick.jsonl",
        "trajectories/fast-style-quick.jsonl",
    ] {
        std::fs::write(full.join(f), "x\n").unwrap();
    }
    let (code, text) = dry_run(&full);
    assert_eq!(code, 0, "{text}");
    for part in [
        "AIART_GPU_TF32=0",
        "AIART_GPU_TF32=1",
        "gpu-tests op_",
        "AIART_CUDNN_PLANS=print",
        "bench --device cuda:0",
        "tools/bench_torch.py --device cuda:0",
        "CUDA_INJECTION64_PATH=",
        "--workload cyclegan-128 --steps 1",
        "--workload cyclegan-128 --steps 3",
        "train presets/cyclegan-quick.toml --device cuda:0",
        "--set train.tf32=false",
        "train presets/cyclegan.toml --device cuda:0",
        "--max-steps 300",
        "the pack holds what every part needs",
    ] {
        assert!(text.contains(part), "the plan lacks `{part}`:\n{text}");
    }
    let empty = temp_workspace("gpu-pack-empty");
    let (code, text) = dry_run(&empty);
    assert_eq!(code, 1, "{text}");
    for missing in [
        "aiart.xz",
        "gpu-tests.xz",
        "liblaunchcount.so",
        "trajectories/cyclegan-quick.jsonl",
    ] {
        assert!(
            text.contains(&format!("pack lacks {missing}")),
            "{missing} not named:\n{text}"
        );
    }
    for d in [full, empty] {
        let _ = std::fs::remove_dir_all(d);
    }
}
