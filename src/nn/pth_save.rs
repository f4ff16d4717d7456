//! Writing a state dict as the `.pth` file `torch.save(model.state_dict(), path)` makes (torch ≥
//! 1.6's zip archive), so that `torch.load(path, weights_only=True)` and then `load_state_dict`
//! take it — pytorch/examples fast_neural_style's `neural_style.py eval` loads its models this way.
//! No maintained crate writes this format (candle and burn read it only), so this is the minimal
//! subset torch.save itself writes, checked against `pickletools.dis` of a torch 2.x file:
//!
//! - `archive/data.pkl`: pickle protocol 2 of `OrderedDict([(key, tensor) …])`, each tensor as
//!   `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`, the
//!   storage a persistent id `("storage", torch.FloatStorage, "<n>", "cpu", numel)`;
//! - `archive/data/<n>`: each storage's bytes, little-endian, contiguous (records 64-byte aligned,
//!   as torch aligns them for `mmap=True`);
//! - `archive/byteorder` = `little`, `archive/version` = `3`.
//!
//! Every entry is stored, not deflated, as torch writes them.

use candle_core::{DType, Tensor};
use std::io::{Cursor, Write};

/// Pickle opcodes (protocol 2) used here, as Python's `pickle.py` names them.
mod op {
    pub const PROTO: u8 = 0x80;
    pub const GLOBAL: u8 = b'c';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const REDUCE: u8 = b'R';
    pub const MARK: u8 = b'(';
    pub const TUPLE: u8 = b't';
    pub const BINUNICODE: u8 = b'X';
    pub const BININT: u8 = b'J';
    pub const BINPERSID: u8 = b'Q';
    pub const NEWFALSE: u8 = 0x89;
    pub const SETITEMS: u8 = b'u';
    pub const STOP: u8 = b'.';
}

#[derive(Debug, thiserror::Error)]
pub enum PthWriteError {
    #[error("{key}: {dtype:?} tensors cannot be written to a .pth here (f32, f64, i64, u8 can)")]
    DType { key: String, dtype: DType },
    #[error("{key}: {what} {value} does not fit a pickle BININT (i32)")]
    TooLarge {
        key: String,
        what: &'static str,
        value: usize,
    },
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// torch's storage class for a dtype.
fn storage_class(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F32 => "FloatStorage",
        DType::F64 => "DoubleStorage",
        DType::I64 => "LongStorage",
        DType::U8 => "ByteStorage",
        _ => return None,
    })
}

struct Pickle(Vec<u8>);

impl Pickle {
    fn op(&mut self, o: u8) {
        self.0.push(o);
    }
    fn global(&mut self, module: &str, name: &str) {
        self.op(op::GLOBAL);
        self.0
            .extend_from_slice(format!("{module}\n{name}\n").as_bytes());
    }
    fn str(&mut self, s: &str) {
        self.op(op::BINUNICODE);
        self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn int(&mut self, key: &str, what: &'static str, v: usize) -> Result<(), PthWriteError> {
        let i = i32::try_from(v).map_err(|_| PthWriteError::TooLarge {
            key: key.into(),
            what,
            value: v,
        })?;
        self.op(op::BININT);
        self.0.extend_from_slice(&i.to_le_bytes());
        Ok(())
    }
    fn ints(&mut self, key: &str, what: &'static str, vs: &[usize]) -> Result<(), PthWriteError> {
        self.op(op::MARK);
        for &v in vs {
            self.int(key, what, v)?;
        }
        self.op(op::TUPLE);
        Ok(())
    }
    fn empty_ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.op(op::EMPTY_TUPLE);
        self.op(op::REDUCE);
    }
}

/// The bytes of a `.pth` holding `tensors` as an `OrderedDict` in the order given (the CPU copy
/// of each, made contiguous). Errors: a dtype torch's storages do not have here, a size past i32.
pub fn pth_bytes(tensors: &[(String, Tensor)]) -> Result<Vec<u8>, PthWriteError> {
    let mut p = Pickle(vec![op::PROTO, 2]);
    p.empty_ordered_dict();
    p.op(op::MARK);
    let mut storages: Vec<Vec<u8>> = Vec::with_capacity(tensors.len());
    for (n, (key, t)) in tensors.iter().enumerate() {
        let class = storage_class(t.dtype()).ok_or_else(|| PthWriteError::DType {
            key: key.clone(),
            dtype: t.dtype(),
        })?;
        let dims = t.dims().to_vec();
        let mut stride = vec![1usize; dims.len()];
        for i in (0..dims.len().saturating_sub(1)).rev() {
            stride[i] = stride[i + 1] * dims[i + 1];
        }
        p.str(key);
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.op(op::MARK);
        // the storage's persistent id
        p.op(op::MARK);
        p.str("storage");
        p.global("torch", class);
        p.str(&n.to_string());
        p.str("cpu");
        p.int(key, "element count", t.elem_count())?;
        p.op(op::TUPLE);
        p.op(op::BINPERSID);
        p.int(key, "offset", 0)?;
        p.ints(key, "size", &dims)?;
        p.ints(key, "stride", &stride)?;
        p.op(op::NEWFALSE);
        p.empty_ordered_dict();
        p.op(op::TUPLE);
        p.op(op::REDUCE);
        storages.push(storage_bytes(t)?);
    }
    p.op(op::SETITEMS);
    p.op(op::STOP);

    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .with_alignment(64);
    zip.start_file("archive/data.pkl", stored)?;
    zip.write_all(&p.0)?;
    zip.start_file("archive/byteorder", stored)?;
    zip.write_all(b"little")?;
    for (n, bytes) in storages.iter().enumerate() {
        zip.start_file(format!("archive/data/{n}"), stored)?;
        zip.write_all(bytes)?;
    }
    zip.start_file("archive/version", stored)?;
    zip.write_all(b"3\n")?;
    Ok(zip.finish()?.into_inner())
}

/// A tensor's elements as little-endian bytes, row-major.
fn storage_bytes(t: &Tensor) -> Result<Vec<u8>, PthWriteError> {
    let flat = t.flatten_all()?.to_device(&candle_core::Device::Cpu)?;
    Ok(match t.dtype() {
        DType::F32 => le(flat.to_vec1::<f32>()?, f32::to_le_bytes),
        DType::F64 => le(flat.to_vec1::<f64>()?, f64::to_le_bytes),
        DType::I64 => le(flat.to_vec1::<i64>()?, i64::to_le_bytes),
        DType::U8 => flat.to_vec1::<u8>()?,
        _ => unreachable!("storage_class refused it"),
    })
}

fn le<T: Copy, const N: usize>(v: Vec<T>, f: fn(T) -> [u8; N]) -> Vec<u8> {
    v.into_iter().flat_map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn written_pth_reads_back_equal() {
        let dev = Device::Cpu;
        let mut rng = crate::rng::SeededRng::new(5);
        let tensors = vec![
            (
                "conv1.conv2d.weight".to_string(),
                rng.normal((4, 3, 3, 3), 0.0, 1.0, &dev).unwrap(),
            ),
            (
                "in1.bias".to_string(),
                rng.normal(4, 0.0, 1.0, &dev).unwrap(),
            ),
            ("scalar".to_string(), Tensor::new(2.5f32, &dev).unwrap()),
            ("count".to_string(), Tensor::new(&[7i64, -3], &dev).unwrap()),
            (
                "wide".to_string(),
                Tensor::new(&[1.0f64 / 3.0], &dev).unwrap(),
            ),
        ];
        let dir = std::env::temp_dir().join(format!("aiart-pth-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sd.pth");
        std::fs::write(&path, pth_bytes(&tensors).unwrap()).unwrap();
        let back = crate::nn::pth::read_pth(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(back.len(), tensors.len());
        for (key, t) in &tensors {
            let (_, b) = back
                .iter()
                .find(|(k, _)| k == key)
                .unwrap_or_else(|| panic!("{key} missing"));
            assert_eq!(b.dims(), t.dims(), "{key}");
            assert_eq!(b.dtype(), t.dtype(), "{key}");
            let (a, b) = (
                t.flatten_all().unwrap().to_dtype(DType::F64).unwrap(),
                b.flatten_all().unwrap().to_dtype(DType::F64).unwrap(),
            );
            assert_eq!(
                a.to_vec1::<f64>().unwrap(),
                b.to_vec1::<f64>().unwrap(),
                "{key}"
            );
        }
    }

    #[test]
    fn the_archive_holds_what_torch_save_writes() {
        let t = vec![(
            "w".to_string(),
            Tensor::new(&[[1f32, 2.0, 3.0], [4.0, 5.0, 6.0]], &Device::Cpu).unwrap(),
        )];
        let bytes = pth_bytes(&t).unwrap();
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = z.file_names().map(|n| n.unwrap().to_string()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "archive/byteorder",
                "archive/data.pkl",
                "archive/data/0",
                "archive/version"
            ]
        );
        let mut data = vec![];
        std::io::Read::read_to_end(&mut z.by_name("archive/data/0").unwrap(), &mut data).unwrap();
        assert_eq!(data.len(), 24);
        assert_eq!(&data[4..8], &2f32.to_le_bytes());
        let f = z.by_name("archive/data/0").unwrap();
        assert_eq!(f.compression(), zip::CompressionMethod::Stored);
        assert_eq!(
            f.data_start().unwrap() % 64,
            0,
            "aligned as torch aligns records"
        );
        drop(f);
        let mut pkl = vec![];
        std::io::Read::read_to_end(&mut z.by_name("archive/data.pkl").unwrap(), &mut pkl).unwrap();
        assert_eq!(&pkl[..2], &[0x80, 2]);
        let text = String::from_utf8_lossy(&pkl);
        for needle in [
            "collections\nOrderedDict\n",
            "torch._utils\n_rebuild_tensor_v2\n",
            "torch\nFloatStorage\n",
        ] {
            assert!(text.contains(needle), "{needle:?} in {text:?}");
        }
    }

    #[test]
    fn unsupported_dtypes_are_named() {
        let t = vec![(
            "ids".to_string(),
            Tensor::new(&[1u32, 2], &Device::Cpu).unwrap(),
        )];
        let e = pth_bytes(&t).unwrap_err().to_string();
        assert!(e.contains("ids") && e.contains("U32"), "{e}");
    }
}
