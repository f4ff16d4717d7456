//! The activations the tiled engine keeps between layers: one map per stored convolution or
//! residual sum, (C, H, W) f32 stored row by row (H, C, W) so that a band of rows is one
//! contiguous run, in memory or in a scratch file (native-endian f32, read back by the process
//! that wrote it); and the per-channel Σx and Σx² (f64) of an activation, gathered as its bands
//! are computed, for the normalisation that follows it.

use candle_core::{Device, Tensor};
use rayon::prelude::*;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A scratch file could not be made, written or read.
#[derive(Debug, thiserror::Error)]
#[error("tiled inference scratch {path}: {what}: {source}")]
pub struct ScratchError {
    pub path: PathBuf,
    pub what: &'static str,
    pub source: std::io::Error,
}

/// The engine's scratch folder: a new, uniquely named folder inside the caller's, removed with
/// everything in it when dropped (on success, on error, on a panic that unwinds).
pub struct Scratch {
    dir: tempfile::TempDir,
    next: usize,
}

impl Scratch {
    /// A fresh folder `aiart-tiles-XXXXXX` in `parent` (which must exist).
    pub fn new(parent: &Path) -> Result<Self, ScratchError> {
        let dir = tempfile::Builder::new()
            .prefix("aiart-tiles-")
            .tempdir_in(parent)
            .map_err(|source| ScratchError {
                path: parent.to_path_buf(),
                what: "making a scratch folder in it",
                source,
            })?;
        Ok(Self { dir, next: 0 })
    }

    fn new_file(&mut self) -> Result<(File, PathBuf), ScratchError> {
        let path = self.dir.path().join(format!("map-{:04}.f32", self.next));
        self.next += 1;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| ScratchError {
                path: path.clone(),
                what: "creating",
                source,
            })?;
        Ok((file, path))
    }
}

enum Backing {
    Memory(Vec<f32>),
    File { file: File, path: PathBuf },
}

/// One stored activation.
pub struct Map {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    backing: Backing,
}

impl Map {
    /// A map of (c, h, w), in memory or in a new file of `scratch`.
    pub fn new(
        c: usize,
        h: usize,
        w: usize,
        in_memory: bool,
        scratch: &mut Scratch,
    ) -> Result<Self, ScratchError> {
        let backing = if in_memory {
            Backing::Memory(vec![0.0; c * h * w])
        } else {
            let (file, path) = scratch.new_file()?;
            Backing::File { file, path }
        };
        Ok(Self { c, h, w, backing })
    }

    /// Whether the map is a scratch file.
    pub fn in_file(&self) -> bool {
        matches!(self.backing, Backing::File { .. })
    }

    /// Writes rows `y0..y0 + rows` from a band in (C, rows, W) order. A row may be written again
    /// (the engine writes a layer into the map of one that dies in the same pass).
    pub fn write_rows(&mut self, y0: usize, rows: usize, chw: &[f32]) -> Result<(), ScratchError> {
        let (c, w) = (self.c, self.w);
        assert!(
            chw.len() == c * rows * w && y0 + rows <= self.h,
            "band fits its map"
        );
        let plane = rows * w;
        let row = c * w;
        let at = y0 * row;
        // (C, rows, W) -> (rows, C, W), straight into place in memory
        let reorder = |hcw: &mut [f32]| {
            hcw.par_chunks_mut(row.max(1))
                .enumerate()
                .for_each(|(y, out)| {
                    for ch in 0..c {
                        out[ch * w..(ch + 1) * w].copy_from_slice(&chw[ch * plane + y * w..][..w]);
                    }
                })
        };
        match &mut self.backing {
            Backing::Memory(v) => reorder(&mut v[at..at + chw.len()]),
            Backing::File { file, path } => {
                let mut hcw = vec![0f32; chw.len()];
                reorder(&mut hcw);
                file.write_all_at(bytemuck::cast_slice(&hcw), (at * 4) as u64)
                    .map_err(|source| ScratchError {
                        path: path.clone(),
                        what: "writing",
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Rows `y0..y1` as a (1, C, y1 − y0, W) tensor on the CPU.
    pub fn read_rows(&self, y0: usize, y1: usize) -> crate::nn::tiled::Result<Tensor> {
        let chw = self.read_rows_vec(y0, y1)?;
        Ok(Tensor::from_vec(
            chw,
            (1, self.c, y1 - y0, self.w),
            &Device::Cpu,
        )?)
    }

    /// Rows `y0..y1` in (C, y1 − y0, W) order.
    pub fn read_rows_vec(&self, y0: usize, y1: usize) -> Result<Vec<f32>, ScratchError> {
        let (c, w) = (self.c, self.w);
        let rows = y1 - y0;
        let row = c * w;
        let owned;
        let hcw: &[f32] = match &self.backing {
            Backing::Memory(v) => &v[y0 * row..y1 * row],
            Backing::File { file, path } => {
                let mut v = vec![0f32; rows * row];
                file.read_exact_at(bytemuck::cast_slice_mut(&mut v), (y0 * row * 4) as u64)
                    .map_err(|source| ScratchError {
                        path: path.clone(),
                        what: "reading",
                        source,
                    })?;
                owned = v;
                &owned
            }
        };
        let plane = rows * w;
        let mut chw = vec![0f32; hcw.len()];
        chw.par_chunks_mut(plane.max(1))
            .enumerate()
            .for_each(|(ch, out)| {
                for y in 0..rows {
                    out[y * w..(y + 1) * w].copy_from_slice(&hcw[y * row + ch * w..][..w]);
                }
            });
        Ok(chw)
    }

    /// Frees the map (its file is removed).
    pub fn free(self) -> Result<(), ScratchError> {
        if let Backing::File { file, path } = self.backing {
            drop(file);
            std::fs::remove_file(&path).map_err(|source| ScratchError {
                path,
                what: "removing",
                source,
            })?;
        }
        Ok(())
    }
}

/// Per channel Σx and Σx² (f64) of an activation, band by band.
pub struct Moments {
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    n: usize,
}

impl Moments {
    pub fn new(c: usize) -> Self {
        Self {
            sum: vec![0.0; c],
            sum_sq: vec![0.0; c],
            n: 0,
        }
    }

    /// Adds a band in (C, rows, W) order, `plane` = rows·W values a channel.
    pub fn add(&mut self, chw: &[f32], plane: usize) {
        let sums: Vec<(f64, f64)> = chw
            .par_chunks(plane.max(1))
            .map(|p| {
                p.iter().fold((0.0, 0.0), |(s, q), &v| {
                    let v = v as f64;
                    (s + v, q + v * v)
                })
            })
            .collect();
        for (ch, (s, q)) in sums.into_iter().enumerate() {
            self.sum[ch] += s;
            self.sum_sq[ch] += q;
        }
        self.n += plane;
    }

    /// Per channel: the mean and the biased variance of everything added.
    pub fn get(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.n.max(1) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let var = self
            .sum_sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / n - m * m).max(0.0))
            .collect();
        (mean, var)
    }
}
