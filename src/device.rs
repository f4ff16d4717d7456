//! Choosing the compute device: `auto` takes CUDA when this binary was built with `--features cuda`
//! and a GPU answers, else the CPU.

use candle_core::Device;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device \"{0}\": this aiart was built without CUDA; rebuild with `cargo build --release --features cuda`, or use device = \"cpu\"")]
    NoCuda(String),
    #[error("device \"{spec}\": no CUDA device could be opened ({reason}); check that `nvidia-smi` lists a GPU and its driver is loaded, or use device = \"cpu\"")]
    Unavailable { spec: String, reason: String },
    #[error("device \"{0}\": expected \"auto\", \"cpu\" or \"cuda:N\"")]
    Unknown(String),
}

pub fn pick(spec: &str) -> Result<Device, DeviceError> {
    match spec {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(if cfg!(feature = "cuda") {
            Device::new_cuda(0).unwrap_or(Device::Cpu)
        } else {
            Device::Cpu
        }),
        s if s == "cuda" || s.starts_with("cuda:") => {
            let n: usize = match s.strip_prefix("cuda:") {
                Some(n) => n.parse().map_err(|_| DeviceError::Unknown(s.into()))?,
                None => 0,
            };
            if !cfg!(feature = "cuda") {
                return Err(DeviceError::NoCuda(s.into()));
            }
            Device::new_cuda(n).map_err(|e| DeviceError::Unavailable {
                spec: s.into(),
                // the first line: candle appends a backtrace when RUST_BACKTRACE is set
                reason: e.to_string().lines().next().unwrap_or_default().into(),
            })
        }
        s => Err(DeviceError::Unknown(s.into())),
    }
}

pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(_) => "cuda".into(),
        Device::Metal(_) => "metal".into(),
    }
}
