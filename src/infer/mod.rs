//! Inference with trained image-to-image networks, for `aiart translate` (pix2pix / CycleGAN
//! generators), `aiart stylize --model` (fast style's TransformerNet) and, through those commands,
//! the dashboard's checkpoint browser: where a checkpoint is (`locate`), loading it, one image
//! through it (`translate`, `stylize`) in exact bands when it would pass a memory budget
//! (`nn::tiled`), and what a run over an image or a folder reads and writes (`batch`). Printing is
//! the caller's: warnings and progress come back through callbacks.

pub mod batch;
pub mod clip;
pub mod locate;
pub mod stylize;
pub mod translate;

use crate::nn::tiled::{self, Progress, Report, TileOptions};
use anyhow::{bail, Context, Result};
use candle_core::Device;
use std::path::{Path, PathBuf};

/// How an image may hold memory: `--tile` and `--max-memory`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tiling {
    /// `--max-memory`: bytes of resident memory the run may take (None: the engine's default
    /// budget of 2 GiB of activations, `tiled::DEFAULT_BUDGET`, style transfer's threshold).
    pub max_memory: Option<u64>,
    /// `--tile N`: bands of N output rows at every layer, whatever the budget; `Some(0)`: never in
    /// bands (the network's own forward, whatever the size).
    pub tile: Option<usize>,
}

/// The share of `--max-memory` the engine gets as its budget: its accounting sees live bytes,
/// and peak RSS ran 25–45 % above them (the allocator keeps freed memory; docs/PERFORMANCE.md).
pub const BUDGET_SHARE: (u64, u64) = (3, 4);

impl Tiling {
    /// The engine's options for one image, with its scratch folder made in `scratch_dir`; None:
    /// never in bands (`--tile 0`). `input` is the bytes of the image's input tensor (on the
    /// device), `to_come` those the result picture will take. The budget: ¾ of what
    /// `--max-memory` leaves once what the process holds now (VmRSS: the program, the network,
    /// the decoded image and its tensor; where /proc does not say, `input`) and `to_come` are
    /// taken out; else the default. On a GPU, where the activations live, no more than ¾ of its
    /// free memory.
    pub fn options(
        &self,
        device: &Device,
        input: u64,
        to_come: u64,
        scratch_dir: &Path,
    ) -> Option<TileOptions> {
        if self.tile == Some(0) {
            return None;
        }
        let share = |b: u64| b / BUDGET_SHARE.1 * BUDGET_SHARE.0;
        let mut budget = match self.max_memory {
            Some(cap) => {
                let held = resident_bytes().unwrap_or(input) + to_come;
                share(cap.saturating_sub(held))
            }
            None => tiled::DEFAULT_BUDGET,
        };
        if let Some(free) = crate::device::free_memory(device) {
            budget = budget.min(share(free));
        }
        Some(TileOptions {
            budget,
            band_rows: self.tile,
            ..TileOptions::new(scratch_dir)
        })
    }
}

/// Makes the folder of the output file `out` and returns where its bands' scratch files go:
/// `scratch_dir` if given, else the output's folder, else the current one.
/// Errors: the folder cannot be made (naming it).
pub(crate) fn output_folder(out: &Path, scratch_dir: Option<&Path>) -> Result<PathBuf> {
    let folder = out.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = folder {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(match (scratch_dir, folder) {
        (Some(s), _) => s.to_path_buf(),
        (None, Some(f)) => f.to_path_buf(),
        (None, None) => PathBuf::from("."),
    })
}

/// Bytes this process holds in memory now (VmRSS), where /proc says it.
pub fn resident_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = text
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Refuses, before any work, an image whose plan cannot keep within the budget: even bands of
/// one row (or the `--tile` asked for) would hold more (`tiled::estimate`). `what` names the
/// image and its size for the message.
pub fn check_budget(
    estimate: &Report,
    opts: &TileOptions,
    tiling: &Tiling,
    what: &str,
) -> Result<()> {
    if !estimate.tiled || estimate.peak_bytes <= opts.budget {
        return Ok(());
    }
    let cap = match tiling.max_memory {
        Some(cap) => format!(
            "--max-memory {} leaves {} for activations (¾ of what the program, the network and \
             the image do not take already)",
            size(cap),
            size(opts.budget),
        ),
        None => format!("the budget is {}", size(opts.budget)),
    };
    let fix = match tiling.tile {
        Some(n) if n > 0 => "lower --tile or raise --max-memory",
        _ => "raise --max-memory",
    };
    bail!(
        "{what}: in bands it needs {} of activations at its peak ({} bands), but {cap}; {fix}",
        size(estimate.peak_bytes),
        estimate.bands
    )
}

/// What the per-image functions hear while they work: the bands done of the total (one band
/// when the image runs whole), as `tiled::run_bands` reports them.
pub type OnProgress<'a> = &'a mut dyn FnMut(Progress);

/// Bytes as a person reads them: 1.5 GiB, 300.0 MiB, 64 KiB, 512 B.
pub fn size(b: u64) -> String {
    const K: u64 = 1 << 10;
    match b {
        b if b >= K * K * K => format!("{:.1} GiB", b as f64 / (K * K * K) as f64),
        b if b >= K * K => format!("{:.1} MiB", b as f64 / (K * K) as f64),
        b if b >= K => format!("{} KiB", b / K),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests;
