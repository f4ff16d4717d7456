//! `aiart stylize --model M`: fast style transfer (Johnson et al. 2016) with a trained
//! TransformerNet, as pytorch/examples `fast_neural_style`'s `stylize` does it: the image as RGB
//! 0–255 floats, one forward pass without a graph, then `clamp(0, 255)` and truncation to 8 bits
//! (its `save_image`: `astype("uint8")`). Unlike the reference, the EXIF orientation is applied,
//! `--size` sets the longest side (the reference's `--content-scale` divides both sides), and a
//! side that is not a multiple of 4 comes back at the input's size (the reference's net rounds it
//! up to one; the extra rows and columns at the bottom and right are cropped). Past the memory
//! budget the forward runs in exact row bands (`nn::tiled`), whose result is the whole-image
//! forward's (±1 level).

use super::locate::{checkpoint_at, newest_readable, step_not_for};
use super::{check_budget, OnProgress, Tiling};
use crate::data::image_io;
use crate::nn::layers::Ctx;
use crate::nn::tiled::{self, Report};
use crate::nn::transformer_net::{output_size, TransformerNet, MIN_SIDE};
use crate::nn::weights;
use crate::preset::Kind;
use crate::run::RunDir;
use crate::workspace::Workspace;
use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use image::RgbImage;
use std::path::{Path, PathBuf};

/// The checkpoint kind that holds a TransformerNet, and its file in a checkpoint folder.
pub const KIND: Kind = Kind::FastStyle;
pub const NET_FILE: &str = "transformer_net.safetensors";

/// The weights file that `--model` names: a file as it is; a checkpoint folder's
/// `transformer_net.safetensors`; a run (its folder, or its id under the workspace's runs/) →
/// its newest readable checkpoint (`warn` hears of newer ones that do not read), or with `step`
/// (`--step N`) its checkpoint of that step. Errors: `step` with anything but a run, no complete
/// readable checkpoint of that step (naming the steps that have one), nothing
/// by that name, another kind's run or checkpoint (with the command that takes it), a folder
/// without the network's file.
pub fn locate(
    ws: &Workspace,
    given: &Path,
    step: Option<u64>,
    warn: &mut dyn FnMut(String),
) -> Result<PathBuf> {
    // a published model by name (`aiart model fetch candy`)
    if let Some(l) = crate::data::models::find(ws, given)? {
        if l.model.kind != KIND {
            bail!(
                "{}: a published {} generator ({}); stylize --model takes {KIND} networks{}",
                l.model.name,
                l.model.kind,
                l.model.what,
                gan_hint(l.model.kind.as_str())
            );
        }
        if let Some(step) = step {
            bail!("{}", step_not_for(step, given, "a published model"));
        }
        return Ok(l.file);
    }
    let mut p = ws.path(given);
    if !p.exists() {
        let name = given.to_string_lossy();
        p = crate::run::list::resolve(&ws.runs(), &name).map_err(|e| {
            anyhow::anyhow!(
                "--model {name}: no such file or checkpoint folder, and {e}. Pass a run id, a \
                 run or checkpoint folder, or a .safetensors / .pth / .model file"
            )
        })?;
    }
    if let (Some(step), false) = (step, p.join("run.json").is_file()) {
        let what = if p.is_file() {
            "a single file"
        } else {
            "a checkpoint folder"
        };
        bail!("{}", step_not_for(step, &p, what));
    }
    if p.is_file() {
        return Ok(p);
    }
    if p.join("run.json").is_file() {
        let run = RunDir::open(&p);
        let kind = run.read_info().ok().map(|i| i.kind);
        if let Some(k) = kind.filter(|k| *k != KIND) {
            bail!(
                "{}: a {k} run; stylize --model takes {KIND} runs{}",
                p.display(),
                gan_hint(k.as_str())
            );
        }
        p = match step {
            Some(step) => checkpoint_at(&run, step)?,
            None => newest_readable(&run, warn)?.1,
        };
    }
    let meta = p.join("meta.json");
    if let Ok(text) = std::fs::read_to_string(&meta) {
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", meta.display()))?;
        if let Some(k) = v["kind"].as_str().filter(|k| KIND != *k) {
            bail!(
                "{}: a {k} checkpoint; stylize --model takes {KIND} checkpoints{}",
                p.display(),
                gan_hint(k)
            );
        }
    }
    let file = p.join(NET_FILE);
    if !file.is_file() {
        bail!(
            "{}: not a fast style checkpoint folder (no {NET_FILE})",
            p.display()
        );
    }
    Ok(file)
}

/// Where a pix2pix or CycleGAN run's generator goes instead, for messages; "" for other kinds.
fn gan_hint(kind: &str) -> &'static str {
    match Kind::parse(kind) {
        Some(k) if k.is_gan() => " (pix2pix and CycleGAN generators go to `aiart translate`)",
        _ => "",
    }
}

/// The files locating `file` read, which no output may replace: the network, and a checkpoint
/// folder's meta.json.
pub fn read_files(file: &Path) -> Vec<PathBuf> {
    let mut read = vec![file.to_path_buf()];
    if file.file_name().is_some_and(|n| n == NET_FILE) {
        let meta = file.with_file_name("meta.json");
        read.extend(meta.is_file().then_some(meta));
    }
    read
}

/// The network in `file`, built for inference on `device`. A file without the network's first key is no TransformerNet at all:
/// say what it holds instead of listing every missing key.
pub fn load(file: &Path, device: &Device) -> Result<TransformerNet> {
    // .safetensors, .pth (zip or legacy) or the reference's .model (torch.save under another name)
    let sd = weights::load_state_dict(file, device)?;
    if !sd.contains_key("conv1.conv2d.weight") {
        let mut keys: Vec<&String> = sd.keys().collect();
        keys.sort();
        let shown: Vec<&str> = keys.iter().take(6).map(|k| k.as_str()).collect();
        // a pix2pix / CycleGAN generator's keys all start with `model.`
        let gan = !keys.is_empty() && keys.iter().all(|k| k.starts_with("model."));
        bail!(
            "{}: not a TransformerNet of fast style transfer (no key conv1.conv2d.weight); it \
             holds {} keys: {}{}{}",
            file.display(),
            keys.len(),
            shown.join(", "),
            if keys.len() > shown.len() {
                ", …"
            } else {
                ""
            },
            if gan {
                "; it looks like a pix2pix or CycleGAN generator: those go to `aiart translate`"
            } else {
                ""
            }
        );
    }
    Ok(TransformerNet::for_inference(
        sd,
        &file.display().to_string(),
        device,
    )?)
}

/// How every image of a run is stylised: the network, the device, the memory rule, and where
/// scratch files go (None: the output's folder).
pub struct Stylization<'a> {
    pub net: &'a TransformerNet,
    pub device: &'a Device,
    pub tiling: Tiling,
    pub scratch_dir: Option<PathBuf>,
}

impl Stylization<'_> {
    /// One image through the network: RGB 0–255 → forward → the input's size (the network
    /// rounds sides up to multiples of 4) → clamp(0, 255) → truncated to u8, as the reference
    /// saves; and what the engine did. Errors: a plan that cannot keep within the budget (before
    /// the forward; `what` names the image), the network's, scratch files (named).
    pub fn image(
        &self,
        img: &RgbImage,
        scratch: &Path,
        what: &str,
        progress: OnProgress,
    ) -> Result<(RgbImage, Report)> {
        let (w, h) = img.dimensions();
        // ToTensor then mul(255), as the reference: v / 255 · 255 in f32
        let x = (image_io::to_tensor(img, self.device)? * 255.0)?;
        let (input, to_come) = (4 * x.elem_count() as u64, 3 * w as u64 * h as u64);
        let mut out = RgbImage::new(w, h);
        let mut sink = |row: usize, band: Tensor| -> tiled::Result<()> {
            put_rows(&mut out, row, &band)?;
            Ok(())
        };
        let report = match self.tiling.options(self.device, input, to_come, scratch) {
            Some(opts) => {
                let program = self.net.program();
                let plan = tiled::estimate(&program, x.dims(), &Ctx::eval(), &opts)?;
                check_budget(&plan, &opts, &self.tiling, what)?;
                tiled::run_bands(&program, &x, &Ctx::eval(), &opts, progress, &mut sink)?
            }
            None => {
                progress(tiled::Progress { done: 0, total: 1 });
                let y = self.net.forward(&x)?;
                let (oh, ow) = output_size(h as usize, w as usize);
                debug_assert_eq!(y.dims(), [1, 3, oh, ow]);
                sink(0, y)?;
                progress(tiled::Progress { done: 1, total: 1 });
                Report {
                    tiled: false,
                    untiled_bytes: 0,
                    peak_bytes: 0,
                    bands: 1,
                    scratch_written: 0,
                }
            }
        };
        Ok((out, report))
    }

    /// One input read upright, resized when asked (`size`: the longest side), stylised and
    /// written to `out` (its folder made). Errors name the input: a side below the network's
    /// `MIN_SIDE`, the budget, reading, writing.
    pub fn file(
        &self,
        input: &Path,
        out: &Path,
        size: Option<u32>,
        progress: OnProgress,
    ) -> Result<()> {
        let (img, _) = image_io::load_rgb(input)?;
        let img = match size {
            Some(n) => image_io::resize_longest(img, n),
            None => img,
        };
        let (w, h) = img.dimensions();
        let after = if size.is_some() { " after --size" } else { "" };
        if (w.min(h) as usize) < MIN_SIDE {
            bail!(
                "{}: {w}×{h} px{after}, but the network (TransformerNet) takes at least \
                 {MIN_SIDE} px on each side",
                input.display(),
            );
        }
        let scratch = super::output_folder(out, self.scratch_dir.as_deref())?;
        let what = format!("{}: {w}×{h} px{after}", input.display());
        let (y, _) = self.image(&img, &scratch, &what, progress)?;
        image_io::save_image(&y, out)?;
        Ok(())
    }
}

/// Writes a band (1, 3, rows, W′) in 0–255 into `out` from row `row`, cropped to `out`'s size,
/// clamped to 0–255 and truncated as the reference saves.
fn put_rows(out: &mut RgbImage, row: usize, band: &Tensor) -> candle_core::Result<()> {
    let (w, h) = (out.width() as usize, out.height() as usize);
    if row >= h {
        return Ok(());
    }
    let rows = band.dim(2)?.min(h - row);
    let band = band
        .narrow(2, 0, rows)?
        .narrow(3, 0, w)?
        .clamp(0f32, 255f32)?;
    let img = to_u8_image(&band)?;
    let start = row * w * 3;
    out.as_mut()[start..start + img.as_raw().len()].copy_from_slice(img.as_raw());
    Ok(())
}

/// (1, 3, H, W) in 0–255 → 8-bit RGB, truncating as numpy's `astype("uint8")`.
fn to_u8_image(y: &Tensor) -> candle_core::Result<RgbImage> {
    let (_, _, h, w) = y.dims4()?;
    let data: Vec<u8> = y
        .squeeze(0)?
        .permute((1, 2, 0))?
        .to_device(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?
        .into_iter()
        .map(|v| v as u8)
        .collect();
    Ok(RgbImage::from_raw(w as u32, h as u32, data).expect("buffer sized from the tensor"))
}
