//! Records which CUDA toolkit built the binary (`AIART_CUDA_TOOLKIT`), so that a driver too old
//! for its PTX can be told apart from other CUDA failures and the fix named (src/device.rs). A
//! build without the `cuda` feature records "unknown".

use std::process::Command;

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
