//! Records which CUDA toolkit built the binary (`AIART_CUDA_TOOLKIT`), so that a driver too old
//! for its PTX can be told apart from other CUDA failures and the fix named (src/device.rs). A
//! build without the `cuda` feature records "unknown".
//!
//! With the `cuda` feature it also compiles our kernels (`src/nn/kernels/cuda/*.cu`) to PTX in
//! `OUT_DIR` with nvcc, as candle-kernels does for candle's: `-ptx -O3 --fmad=false`
//! (no a·b + c contraction, so each kernel rounds as its CPU side), for `compute_<CAP>` with CAP
//! from `CUDA_COMPUTE_CAP` (default 80; the driver JIT-compiles PTX for newer GPUs).
//! `src/nn/kernels/cuda/mod.rs` embeds the files with `include_str!`.

use std::path::{Path, PathBuf};
use std::process::Command;

const KERNELS: &str = "src/nn/kernels/cuda";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["PATH", "CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let cuda = std::env::var_os("CARGO_FEATURE_CUDA").is_some();
    let toolkit = match cuda {
        true => nvcc_release().unwrap_or_else(|| "unknown".into()),
        false => "unknown".into(),
    };
    println!("cargo:rustc-env=AIART_CUDA_TOOLKIT={toolkit}");
    // `aiart --version`: what the binary can run on
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let build = match cuda {
        true => format!("CUDA, kernels built by the CUDA {toolkit} toolkit"),
        false => "CPU only".into(),
    };
    println!("cargo:rustc-env=AIART_LONG_VERSION={version} ({build})");
    if cuda {
        compile_kernels();
    }
}

/// nvcc: the first of `nvcc` on PATH and `$CUDA_HOME/bin/nvcc` (and CUDA_PATH, CUDA_ROOT) that
/// runs.
fn nvcc() -> Option<String> {
    let mut candidates = vec!["nvcc".to_string()];
    for var in ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"] {
        if let Ok(home) = std::env::var(var) {
            candidates.push(format!("{home}/bin/nvcc"));
        }
    }
    candidates
        .into_iter()
        .find(|nvcc| Command::new(nvcc).arg("--version").output().is_ok())
}

/// Each `.cu` of KERNELS to `$OUT_DIR/<stem>.ptx`; a failure stops the build with nvcc's message.
fn compile_kernels() {
    println!("cargo:rerun-if-env-changed=CUDA_COMPUTE_CAP");
    println!("cargo:rerun-if-changed={KERNELS}");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let cap = std::env::var("CUDA_COMPUTE_CAP")
        .ok()
        .map(|c| c.trim().replace('.', ""))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "80".into());
    let Some(nvcc) = nvcc() else {
        panic!("the `cuda` feature compiles src/nn/kernels/cuda/*.cu with nvcc, which is not on PATH nor in $CUDA_HOME/bin: install the toolkit (tools/cuda-toolkit.sh) and source its environment")
    };
    let mut sources: Vec<PathBuf> = std::fs::read_dir(KERNELS)
        .unwrap_or_else(|e| panic!("{KERNELS}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    sources.sort();
    for path in &sources {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    for cu in sources
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cu"))
    {
        compile(&nvcc, cu, &out, &cap);
    }
}

fn compile(nvcc: &str, cu: &Path, out: &Path, cap: &str) {
    let stem = cu
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("a UTF-8 name");
    let ptx = out.join(format!("{stem}.ptx"));
    let result = Command::new(nvcc)
        .args(["-ptx", "-O3", "--fmad=false", "-std=c++17"])
        .arg(format!("-arch=compute_{cap}"))
        .arg("-I")
        .arg(KERNELS)
        .arg("-o")
        .arg(&ptx)
        .arg(cu)
        .output()
        .unwrap_or_else(|e| panic!("running {nvcc} on {}: {e}", cu.display()));
    if !result.status.success() {
        panic!(
            "nvcc could not compile {}:\n{}{}",
            cu.display(),
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
    }
}

/// `13.0` from nvcc's "Cuda compilation tools, release 13.0, V13.0.88".
fn nvcc_release() -> Option<String> {
    let mut candidates = vec!["nvcc".to_string()];
    for var in ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"] {
        if let Ok(home) = std::env::var(var) {
            candidates.push(format!("{home}/bin/nvcc"));
        }
    }
    candidates.iter().find_map(|nvcc| {
        let out = Command::new(nvcc).arg("--version").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let rest = text.split("release ").nth(1)?;
        Some(rest.split(',').next()?.trim().to_string())
    })
}
