//! Reading state dicts: `.safetensors`, and PyTorch `.pth` files in either of torch.save's formats.

use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{path}: cannot read weights: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: cannot write weights: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{path}: unknown weights format (expected .safetensors, .pth, .pt or .model)")]
    Format { path: PathBuf },
}

pub type StateDict = HashMap<String, Tensor>;

pub fn load_safetensors(
    path: impl AsRef<Path>,
    device: &Device,
) -> Result<StateDict, WeightsError> {
    let path = path.as_ref();
    candle_core::safetensors::load(path, device).map_err(|e| WeightsError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes `tensors` as a `.safetensors` file; an error names the file and says the OS's reason
/// once (candle's own `save` wraps the I/O error in one that also prints it: "I/O error: File too
/// large (os error 27): File too large (os error 27)").
pub fn save_safetensors(tensors: &StateDict, path: &Path) -> Result<(), WeightsError> {
    let write = |reason: String| WeightsError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let mut sorted: Vec<(&String, &Tensor)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let bytes = safetensors::serialize(sorted, None).map_err(|e| write(e.to_string()))?;
    std::fs::write(path, bytes).map_err(|e| write(e.to_string()))
}

/// Loads a state dict from `.safetensors` or a PyTorch `.pth` / `.pt` / `.bin` / `.model` (either of
/// torch.save's formats; pytorch/examples fast_neural_style names its final models `….model`).
pub fn load_state_dict(path: &Path, device: &Device) -> Result<StateDict, WeightsError> {
    if !path.exists() {
        return Err(WeightsError::Read {
            path: path.to_path_buf(),
            reason: "no such file".into(),
        });
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "safetensors" => load_safetensors(path, device),
        "pth" | "pt" | "bin" | "model" => {
            let tensors = super::pth::read_pth(path).map_err(|reason| WeightsError::Read {
                path: path.to_path_buf(),
                reason,
            })?;
            let mut out = StateDict::new();
            for (k, t) in tensors {
                let t = t.to_device(device).map_err(|e| WeightsError::Read {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
                out.insert(k, t);
            }
            Ok(out)
        }
        _ => Err(WeightsError::Format {
            path: path.to_path_buf(),
        }),
    }
}
