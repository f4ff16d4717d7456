//! Choosing the compute device: `auto` takes CUDA when this binary was built with `--features cuda`
//! and a GPU answers, else the CPU. Also what a CUDA run needs around its device: the TF32
//! switch, the toolkit that built the binary (to explain a driver too old for its kernels), and
//! the GPU's readings for the heartbeat (NVML, loaded at run time).

use candle_core::Device;
use serde::{Deserialize, Serialize};

/// The CUDA toolkit whose nvcc compiled this binary's kernels ("unknown" without `cuda`).
pub const BUILD_TOOLKIT: &str = env!("AIART_CUDA_TOOLKIT");

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device \"{0}\": this aiart was built without CUDA; rebuild with `cargo build --release --features cuda`, or use device = \"cpu\"")]
    NoCuda(String),
    #[error("device \"{spec}\": no CUDA device could be opened ({reason}); check that `nvidia-smi` lists a GPU and its driver is loaded, or use device = \"cpu\"")]
    Unavailable { spec: String, reason: String },
    #[error("device \"{spec}\": {}", ptx_advice(toolkit, driver.as_deref()))]
    PtxTooNew {
        spec: String,
        toolkit: String,
        driver: Option<String>,
    },
    #[error("device \"{0}\": expected \"auto\", \"cpu\" or \"cuda:N\"")]
    Unknown(String),
    #[error("device \"{spec}\": {source}")]
    CudaOps {
        spec: String,
        source: crate::nn::kernels::switch::UnknownOp,
    },
}

/// What to say when the driver cannot load this binary's kernels (CUDA_ERROR_UNSUPPORTED_PTX_VERSION):
/// which toolkit built them, what the driver supports, and the command that rebuilds them.
pub fn ptx_advice(toolkit: &str, driver: Option<&str>) -> String {
    let supports = driver.map_or(
        "an unknown CUDA version (nvidia-smi shows it)".into(),
        |d| format!("CUDA {d}"),
    );
    let version = driver.map_or("X.Y".into(), |d| d.to_string());
    format!(
        "the GPU driver cannot load this binary's kernels (CUDA_ERROR_UNSUPPORTED_PTX_VERSION): \
         they were compiled by the CUDA {toolkit} toolkit and the driver supports {supports}; \
         rebuild with a toolkit no newer than the driver: `AIART_CUDA_VERSION={version} \
         tools/cuda-build-check.sh` (it builds into target/cuda-{version}), or update the driver"
    )
}

/// Whether a CUDA error (candle's or cudarc's text) is the driver refusing newer PTX.
pub fn is_ptx_too_new(message: &str) -> bool {
    message.contains("UNSUPPORTED_PTX_VERSION")
}

/// The CUDA version the driver supports ("13.0"): NVML's, else nvidia-smi's "CUDA Version".
pub fn driver_cuda_version() -> Option<String> {
    #[cfg(feature = "cuda")]
    if let Some(v) = nvml::open().and_then(|n| n.sys_cuda_driver_version().ok()) {
        return Some(format!("{}.{}", v / 1000, (v % 1000) / 10));
    }
    let out = std::process::Command::new("nvidia-smi").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rest = text.split("CUDA Version:").nth(1)?;
    Some(rest.split_whitespace().next()?.to_string())
}

pub fn pick(spec: &str) -> Result<Device, DeviceError> {
    match spec {
        "cpu" => Ok(Device::Cpu),
        "auto" if cfg!(feature = "cuda") => match open_cuda(spec, 0) {
            Ok(d) => Ok(d),
            // a GPU is there but cannot run this binary, or AIART_CUDA_OPS is wrong: say so
            // rather than train on the CPU
            Err(e @ (DeviceError::PtxTooNew { .. } | DeviceError::CudaOps { .. })) => Err(e),
            Err(_) => Ok(Device::Cpu),
        },
        "auto" => Ok(Device::Cpu),
        s if s == "cuda" || s.starts_with("cuda:") => {
            let n: usize = match s.strip_prefix("cuda:") {
                Some(n) => n.parse().map_err(|_| DeviceError::Unknown(s.into()))?,
                None => 0,
            };
            if !cfg!(feature = "cuda") {
                return Err(DeviceError::NoCuda(s.into()));
            }
            open_cuda(s, n)
        }
        s => Err(DeviceError::Unknown(s.into())),
    }
}

/// CUDA device `n`, opened and used once; then, before any step, our ops' CUDA sides are set up:
/// `AIART_CUDA_OPS` read (an unknown name is `DeviceError::CudaOps`) and the self-check run once
/// per process (`kernels::selfcheck::check_device`: an op that disagrees with its CPU side is
/// switched off, with a warning).
fn open_cuda(spec: &str, n: usize) -> Result<Device, DeviceError> {
    let device = open_cuda_device(spec, n)?;
    crate::nn::kernels::switch::apply_setting().map_err(|source| DeviceError::CudaOps {
        spec: spec.into(),
        source,
    })?;
    SELF_CHECK.get_or_init(|| {
        let start = std::time::Instant::now();
        crate::nn::kernels::selfcheck::check_device(&device);
        start.elapsed()
    });
    CUDA_OPENED.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(device)
}

/// How long the self-check took when the first CUDA device opened in this process.
static SELF_CHECK: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// How long the self-check of our ops' CUDA sides took (it runs once per process, when the
/// first CUDA device opens; None before that).
pub fn self_check_took() -> Option<std::time::Duration> {
    SELF_CHECK.get().copied()
}

/// Whether a CUDA device has opened in this process (so status.json reports our CUDA ops).
static CUDA_OPENED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// CUDA device `n`, opened and used once.
fn open_cuda_device(spec: &str, n: usize) -> Result<Device, DeviceError> {
    let opened = Device::new_cuda(n).and_then(|d| first_use(&d).map(|_| d));
    opened.map_err(|e| {
        // the first line: candle appends a backtrace when RUST_BACKTRACE is set
        let reason = e.to_string().lines().next().unwrap_or_default().to_string();
        if is_ptx_too_new(&reason) {
            DeviceError::PtxTooNew {
                spec: spec.into(),
                toolkit: BUILD_TOOLKIT.into(),
                driver: driver_cuda_version(),
            }
        } else {
            DeviceError::Unavailable {
                spec: spec.into(),
                reason,
            }
        }
    })
}

/// One small kernel on a new device, so a driver that cannot load the binary's kernels says so
/// when the device is opened, not in the middle of a run.
fn first_use(device: &Device) -> candle_core::Result<()> {
    candle_core::Tensor::ones(4, candle_core::DType::F32, device)?
        .affine(2.0, 1.0)?
        .sum_all()?
        .to_scalar::<f32>()
        .map(|_| ())
}

pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(_) => "cuda".into(),
        Device::Metal(_) => "metal".into(),
    }
}

/// `[train] tf32`: whether float32 matrix products and convolutions on a CUDA device may use
/// TensorFloat-32 (PyTorch's `allow_tf32` defaults). On: cuBLAS computes f32 GEMMs with
/// `CUBLAS_COMPUTE_32F_FAST_TF32` (candle's switch) and our cuDNN convolutions keep
/// `CUDNN_DEFAULT_MATH` (TF32 where the GPU has it). Off: both in full f32, the convolutions with
/// `CUDNN_FMA_MATH` set on each descriptor (`kernels::conv::set_tf32`), as PyTorch does. Call it
/// before the device opens: the self-check then compares at the tolerance of this math. Nothing
/// on the CPU. (candle's own cuDNN forward, which the layers fall back to where our `conv` side is
/// switched off, sets no math type: there cuDNN's default applies, TF32 allowed.)
pub fn set_tf32(on: bool) {
    crate::nn::kernels::conv::set_tf32(on);
    #[cfg(feature = "cuda")]
    candle_core::cuda::set_gemm_reduced_precision_f32(on);
}

/// Which of our ops run their CUDA side in this process, and which were switched off and why
/// (status.json's `cuda_ops`, `aiart runs show`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CudaOps {
    /// The names of the ops whose CUDA side runs (`conv`, `pad` …; `AIART_CUDA_OPS` takes them)
    pub in_use: Vec<String>,
    /// The ops switched off (by `AIART_CUDA_OPS` or the self-check), with why
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub off: Vec<CudaOpOff>,
}

/// One op whose CUDA side is switched off.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CudaOpOff {
    pub op: String,
    pub why: String,
}

impl CudaOps {
    /// This process's, once a CUDA device has opened in it (None before that and on the CPU).
    pub fn now() -> Option<Self> {
        if !CUDA_OPENED.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        use crate::nn::kernels::switch;
        Some(Self {
            in_use: switch::cuda_ops_in_use()
                .into_iter()
                .map(String::from)
                .collect(),
            off: switch::cuda_ops_off()
                .into_iter()
                .map(|(op, why)| CudaOpOff { op: op.into(), why })
                .collect(),
        })
    }

    /// For people, one line each, as `aiart runs show` prints them: `cuda ops conv, pad` (or
    /// `none`, candle's ops everywhere), then `cuda off OP: WHY` per op switched off.
    pub fn lines(&self) -> Vec<String> {
        let used = if self.in_use.is_empty() {
            "none (candle's ops run every layer)".to_string()
        } else {
            self.in_use.join(", ")
        };
        let mut out = vec![format!("cuda ops {used}")];
        out.extend(
            self.off
                .iter()
                .map(|o| format!("cuda off {}: {}", o.op, o.why)),
        );
        out
    }
}

/// The CUDA device's ordinal, for a device string `cuda` / `cuda:N` (None for the CPU, `auto`
/// resolved by the caller).
pub fn cuda_ordinal(device: &Device, spec: &str) -> Option<u32> {
    match device {
        Device::Cuda(_) => Some(
            spec.strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        ),
        _ => None,
    }
}

/// The heartbeat's reader of a run's GPU: Some for a CUDA device whose GPU NVML knows.
#[allow(clippy::type_complexity)]
pub fn gpu_probe(
    device: &Device,
    spec: &str,
) -> Option<Box<dyn FnMut() -> Option<GpuSample> + Send>> {
    let sampler = GpuSampler::open(cuda_ordinal(device, spec)?)?;
    Some(Box::new(move || sampler.sample()))
}

/// One reading of a GPU, as the heartbeat writes it into status.json.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct GpuSample {
    /// Percent of the last sample period in which a kernel ran
    pub util_percent: u32,
    /// Device memory in use, bytes (every process's)
    pub memory_used: u64,
    pub memory_total: u64,
    /// °C
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<u32>,
    /// Watts
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
}

/// Reads one GPU through NVML. None where NVML is missing (no driver, a CPU machine, a build
/// without `cuda`) or the GPU does not answer: no GPU data, never an error.
pub struct GpuSampler {
    #[cfg(feature = "cuda")]
    nvml: nvml_wrapper::Nvml,
    #[cfg(feature = "cuda")]
    index: u32,
}

impl GpuSampler {
    /// The sampler of GPU `index`, when NVML loads and knows it.
    pub fn open(index: u32) -> Option<Self> {
        #[cfg(feature = "cuda")]
        {
            let nvml = nvml::open()?;
            nvml.device_by_index(index).ok()?;
            Some(Self { nvml, index })
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = index;
            None
        }
    }

    /// A reading now; None when the GPU does not answer.
    pub fn sample(&self) -> Option<GpuSample> {
        #[cfg(feature = "cuda")]
        {
            use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
            let d = self.nvml.device_by_index(self.index).ok()?;
            let mem = d.memory_info().ok()?;
            Some(GpuSample {
                util_percent: d.utilization_rates().ok()?.gpu,
                memory_used: mem.used,
                memory_total: mem.total,
                temperature_c: d.temperature(TemperatureSensor::Gpu).ok(),
                power_w: d.power_usage().ok().map(|mw| mw as f64 / 1000.0),
            })
        }
        #[cfg(not(feature = "cuda"))]
        None
    }
}

#[cfg(feature = "cuda")]
mod nvml {
    /// NVML from the driver's `libnvidia-ml.so.1` (the unversioned name is a development link
    /// that driver installs often lack), else the crate's default name.
    pub fn open() -> Option<nvml_wrapper::Nvml> {
        nvml_wrapper::Nvml::builder()
            .lib_path(std::ffi::OsStr::new("libnvidia-ml.so.1"))
            .init()
            .or_else(|_| nvml_wrapper::Nvml::init())
            .ok()
    }
}

/// Bytes free on `device`'s GPU now (`cuMemGetInfo`), for a memory budget that must fit beside
/// what is already there; None on the CPU, in builds without the `cuda` feature, and where the
/// driver does not answer.
pub fn free_memory(device: &Device) -> Option<u64> {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(d) => d
            .cuda_stream()
            .context()
            .mem_get_info()
            .ok()
            .map(|(free, _)| free as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_nvml_means_no_gpu_data() {
        // this machine has no NVIDIA driver (and the CPU build no NVML): no sampler, no error
        if std::path::Path::new("/proc/driver/nvidia").exists() {
            eprintln!("skipped: an NVIDIA driver is loaded here");
            return;
        }
        assert!(GpuSampler::open(0).is_none());
    }

    #[test]
    fn ptx_advice_names_toolkit_driver_and_fix() {
        let m = ptx_advice("13.2", Some("13.0"));
        assert!(m.contains("CUDA 13.2 toolkit"), "{m}");
        assert!(m.contains("supports CUDA 13.0"), "{m}");
        assert!(
            m.contains("AIART_CUDA_VERSION=13.0 tools/cuda-build-check.sh"),
            "{m}"
        );
        let e = DeviceError::PtxTooNew {
            spec: "cuda:1".into(),
            toolkit: "13.2".into(),
            driver: Some("13.0".into()),
        }
        .to_string();
        assert!(
            e.starts_with("device \"cuda:1\": the GPU driver cannot load"),
            "{e}"
        );
        assert!(e.ends_with(&m), "{e}");
        let unknown = ptx_advice("unknown", None);
        assert!(unknown.contains("nvidia-smi"), "{unknown}");
        assert!(is_ptx_too_new(
            "DriverError(CUDA_ERROR_UNSUPPORTED_PTX_VERSION, \"the provided PTX was compiled with an unsupported toolchain.\")"
        ));
        assert!(!is_ptx_too_new(
            "DriverError(CUDA_ERROR_NO_DEVICE, \"no CUDA-capable device is detected\")"
        ));
    }

    #[test]
    fn the_cpu_build_records_no_toolkit() {
        if !cfg!(feature = "cuda") {
            assert_eq!(BUILD_TOOLKIT, "unknown");
        }
    }

    #[test]
    fn cuda_ops_read_for_people() {
        let ops = CudaOps {
            in_use: vec!["conv".into(), "pad".into()],
            off: vec![CudaOpOff {
                op: "adam".into(),
                why: "switched off by AIART_CUDA_OPS".into(),
            }],
        };
        assert_eq!(
            ops.lines(),
            [
                "cuda ops conv, pad",
                "cuda off adam: switched off by AIART_CUDA_OPS"
            ]
        );
        let none = CudaOps::default().lines();
        assert_eq!(none, ["cuda ops none (candle's ops run every layer)"]);
        let back: CudaOps = serde_json::from_str(&serde_json::to_string(&ops).unwrap()).unwrap();
        assert_eq!(back, ops);
        // no CUDA device opened in this (CPU) test process
        if !cfg!(feature = "cuda") {
            assert_eq!(CudaOps::now(), None);
        }
    }

    #[test]
    fn gpu_sample_round_trips() {
        let s = GpuSample {
            util_percent: 87,
            memory_used: 16_800_000_000,
            memory_total: 143_771_000_000,
            temperature_c: Some(54),
            power_w: Some(412.25),
        };
        let back: GpuSample = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
