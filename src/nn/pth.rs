//! PyTorch `.pth` files in both of torch.save's formats: the zip archive of torch >= 1.6 (read by
//! candle) and the legacy stream of older versions (five pickles and the raw storages, read here),
//! in which the reference implementations published their pretrained models.

use candle_core::pickle::{Object, Stack, TensorInfo};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// 0x1950a86a20f9469cfc6c, little-endian, as torch.serialization writes it.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Every tensor of a `.pth` state dict, in either format. A checkpoint that wraps its state dict
/// (`{"state_dict": …}`, `{"model": …}`) is unwrapped.
pub fn read_pth(path: &Path) -> Result<Vec<(String, Tensor)>, String> {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(err)?;
    if &magic == b"PK\x03\x04" {
        let mut out = candle_core::pickle::read_all(path).map_err(err)?;
        if out.is_empty() {
            for key in ["state_dict", "model"] {
                if let Ok(v) = candle_core::pickle::read_all_with_key(path, Some(key)) {
                    if !v.is_empty() {
                        out = v;
                        break;
                    }
                }
            }
        }
        Ok(out)
    } else {
        read_legacy(path)
    }
}

fn pickle(r: &mut BufReader<File>, what: &str) -> Result<Object, String> {
    let mut stack = Stack::empty();
    stack
        .read_loop(r)
        .map_err(|e| format!("not a PyTorch file ({what}: {e})"))?;
    stack
        .finalize()
        .map_err(|e| format!("not a PyTorch file ({what}: {e})"))
}

fn state_dict(obj: Object) -> Option<Vec<(Object, Object)>> {
    let kv = match obj {
        Object::Dict(kv) => kv,
        Object::Build { callable, .. } => match *callable {
            Object::Dict(kv) => kv,
            _ => return None,
        },
        _ => return None,
    };
    let wrapped = kv.iter().position(|(k, v)| {
        matches!(k, Object::Unicode(s) if s == "state_dict" || s == "model")
            && matches!(v, Object::Dict(_))
    });
    match wrapped {
        Some(i) => state_dict(kv.into_iter().nth(i)?.1),
        None => Some(kv),
    }
}

/// The legacy format: magic number, protocol version, system info, the object (storages as
/// persistent ids), the list of storage keys, then each storage as an i64 element count and its bytes.
pub fn read_legacy(path: &Path) -> Result<Vec<(String, Tensor)>, String> {
    let mut r = BufReader::new(File::open(path).map_err(err)?);
    // the magic number is a 10-byte LONG1, too wide for candle's pickle reader: match it by hand
    let mut head = [0u8; 15];
    r.read_exact(&mut head)
        .map_err(|_| "not a PyTorch file (too short)".to_string())?;
    if head[0] != 0x80
        || head[2..4] != [0x8a, 10]
        || head[4..14] != LEGACY_MAGIC
        || head[14] != b'.'
    {
        return Err("not a PyTorch file (no legacy magic number, and not a zip archive)".into());
    }
    pickle(&mut r, "protocol version")?;
    pickle(&mut r, "system info")?;
    let obj = pickle(&mut r, "state dict")?;
    let keys = match pickle(&mut r, "storage keys")? {
        Object::List(keys) => keys
            .into_iter()
            .map(|k| k.unicode().map_err(|o| format!("bad storage key {o:?}")))
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(format!("bad storage key list {other:?}")),
    };
    let entries = state_dict(obj).ok_or("the file holds no state dict")?;
    let mut infos: Vec<TensorInfo> = vec![];
    for (name, value) in entries {
        if let Ok(Some(info)) = value.into_tensor_info(name, Path::new("")) {
            infos.push(info);
        }
    }
    let storage_key = |info: &TensorInfo| info.path.trim_start_matches('/').to_string();
    let dtypes: HashMap<String, DType> = infos.iter().map(|i| (storage_key(i), i.dtype)).collect();
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    for key in keys {
        let Some(dtype) = dtypes.get(&key) else {
            // a storage no tensor of the state dict uses; its element size is unknown, so stop here
            break;
        };
        let mut n = [0u8; 8];
        r.read_exact(&mut n).map_err(err)?;
        let numel = i64::from_le_bytes(n) as usize;
        let mut bytes = vec![0u8; numel * dtype.size_in_bytes()];
        r.read_exact(&mut bytes)
            .map_err(|e| format!("storage {key}: {e} (truncated file?)"))?;
        storages.insert(key, bytes);
    }
    let mut out = vec![];
    for info in infos {
        let key = storage_key(&info);
        let bytes = storages
            .get(&key)
            .ok_or_else(|| format!("{}: storage {key} missing", info.name))?;
        let layout = &info.layout;
        let size = info.dtype.size_in_bytes();
        let start = layout.start_offset();
        let n = layout.shape().elem_count();
        let fortran =
            layout.shape().rank() > 1 && !layout.is_contiguous() && layout.is_fortran_contiguous();
        if !layout.is_contiguous() && !fortran {
            return Err(format!(
                "{}: non-contiguous tensors are not supported",
                info.name
            ));
        }
        let slice = bytes
            .get(start..start + n * size)
            .ok_or_else(|| format!("{}: storage {key} too short", info.name))?;
        let t = if fortran {
            let rev: Vec<usize> = layout.dims().iter().rev().copied().collect();
            let perm: Vec<usize> = (0..rev.len()).rev().collect();
            Tensor::from_raw_buffer(slice, info.dtype, &rev, &Device::Cpu)
                .and_then(|t| t.permute(perm)?.contiguous())
        } else {
            Tensor::from_raw_buffer(slice, info.dtype, layout.dims(), &Device::Cpu)
        }
        .map_err(err)?;
        out.push((info.name, t));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str) {
        let got: HashMap<String, Tensor> = read_pth(&crate::test_fixture(path))
            .unwrap()
            .into_iter()
            .collect();
        let want = candle_core::safetensors::load(
            crate::test_fixture("small_expected.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(
            got.len(),
            want.len(),
            "{path}: {:?}",
            got.keys().collect::<Vec<_>>()
        );
        for (k, w) in &want {
            let g = &got[k];
            assert_eq!(g.dims(), w.dims(), "{path}: {k}");
            assert_eq!(g.dtype(), w.dtype(), "{path}: {k}");
            let (g, w) = (
                g.to_dtype(DType::F64).unwrap(),
                w.to_dtype(DType::F64).unwrap(),
            );
            let d = (g - w)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert_eq!(d, 0.0, "{path}: {k}");
        }
    }

    #[test]
    fn legacy_format_reads_like_torch() {
        check("small_legacy.pth");
    }

    #[test]
    fn zip_format_reads_like_torch() {
        check("small_zip.pth");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let p = std::env::temp_dir().join(format!("aiart-garbage-{}.pth", std::process::id()));
        std::fs::write(&p, b"hello world, not a pickle").unwrap();
        assert!(read_pth(&p).is_err());
    }
}
