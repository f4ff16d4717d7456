//! `aiart translate`: runs a generator over an image or a folder. The checkpoint is the reference's
//! `.pth`, a `.safetensors` state dict, or a run checkpoint folder (its meta says the architecture).
//! Without `--eval` it behaves as the reference's test.py: dropout on and normalisation from the
//! input's own statistics; `--eval` turns dropout off and uses BatchNorm's running statistics.

use super::image_batch::{check_folder_output, each_image, list_inputs, plan};
use super::translate_locate::{load, locate, published, Dir, GenChoice, NormArg};
use aiart::data::dataset::split_aligned;
use aiart::data::{grid, image_io, transform};
use aiart::nn::gan::{GenArch, Generator};
use aiart::nn::layers::Ctx;
use aiart::preset::gan::Direction;
use aiart::workspace::Workspace;
use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use clap::Args;
use image::imageops::FilterType;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct TranslateArgs {
    /// A reference .pth (e.g. latest_net_G.pth), a .safetensors state dict, a run checkpoint folder, or a run folder (its newest checkpoint)
    #[arg(long, short)]
    pub checkpoint: PathBuf,
    /// An image, or a folder of images (searched recursively)
    #[arg(long, short)]
    pub input: PathBuf,
    /// The output image, or a folder (for a folder input, or when it exists). Into a folder each
    /// result keeps its input's relative path, as .png (inputs that differ only in extension keep
    /// it: a.jpg -> a.jpg.png, a.png -> a.png.png); existing files there are replaced only with --force
    #[arg(long, short)]
    pub output: PathBuf,
    /// Generator: resnet_9blocks, resnet_6blocks, unet_256, unet_128 … [default: from the checkpoint]
    #[arg(long)]
    pub arch: Option<String>,
    /// Normalisation layers [default: from the checkpoint]
    #[arg(long, value_enum)]
    pub norm: Option<NormArg>,
    /// Generator width [default: from the checkpoint]
    #[arg(long)]
    pub ngf: Option<usize>,
    /// For CycleGAN checkpoints: AtoB uses G_A, BtoA uses G_B [default: AtoB]. A pix2pix generator
    /// (or one CycleGAN generator's file) translates only the way it was trained, which is then
    /// the default: another direction is refused, and so is --direction for a single generator
    /// file of unknown direction
    #[arg(long, value_enum)]
    pub direction: Option<Dir>,
    /// Dropout off and BatchNorm running statistics (the reference's --eval)
    #[arg(long)]
    pub eval: bool,
    /// Seed of the dropout masks
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device: auto, cpu or cuda:N
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// pix2pix run checkpoints: take each input whole (a plain photo or sketch), instead of as an
    /// aligned A|B pair; without it, inputs that are not pairs (twice as wide as high) are refused
    #[arg(long)]
    pub whole: bool,
    /// pix2pix run checkpoints with aligned inputs: write fake_B alone instead of the labelled
    /// real_A | fake_B | real_B grid
    #[arg(long, conflicts_with = "whole")]
    pub fake_only: bool,
    /// Replace outputs that already exist (never replaced otherwise; an output that is one of the
    /// inputs is refused even with --force)
    #[arg(long)]
    pub force: bool,
    /// Keep outputs that are already there as complete images and translate only the rest (an
    /// interrupted folder run goes on where it stopped; a half-written output is made again)
    #[arg(long, conflicts_with = "force")]
    pub skip_existing: bool,
}

/// Translates one image of any size: a ResNet sees it reflect-padded to a multiple of 4, a U-Net
/// sees it resized to a multiple of its 2^downs; the output comes back at the input's size.
pub fn translate_image(
    g: &Generator,
    img: image::RgbImage,
    ctx: &Ctx,
    device: &Device,
) -> Result<image::RgbImage> {
    let (w, h) = img.dimensions();
    match g.arch {
        GenArch::Resnet { .. } => {
            let m = 4;
            let (pw, ph) = ((w as usize).div_ceil(m) * m, (h as usize).div_ceil(m) * m);
            let x = transform::to_tensor(&img, device)?.unsqueeze(0)?;
            let x = pad_end(&pad_end(&x, 2, ph - h as usize)?, 3, pw - w as usize)?;
            let y = g
                .forward(&x, ctx)?
                .narrow(2, 0, h as usize)?
                .narrow(3, 0, w as usize)?;
            Ok(transform::to_image(&y)?)
        }
        GenArch::Unet { downs } => {
            let m = 1u32 << downs;
            let round = |v: u32| (((v as f64 / m as f64).round() as u32).max(1)) * m;
            let (nw, nh) = (round(w), round(h));
            let x =
                transform::to_tensor(&image_io::resize_exact(img, nw, nh), device)?.unsqueeze(0)?;
            let y = transform::to_image(&g.forward(&x, ctx)?)?;
            Ok(if (nw, nh) == (w, h) {
                y
            } else {
                image::imageops::resize(&y, w, h, FilterType::CatmullRom)
            })
        }
    }
}

/// Pads the end of `dim` by `p` with its mirror image (edge copies when the image is too small to mirror).
fn pad_end(x: &Tensor, dim: usize, p: usize) -> candle_core::Result<Tensor> {
    let n = x.dim(dim)?;
    if p == 0 {
        return Ok(x.clone());
    }
    if p >= n {
        return x.pad_with_same(dim, 0, p);
    }
    let mut parts = vec![x.clone()];
    for i in 1..=p {
        parts.push(x.narrow(dim, n - 1 - i, 1)?);
    }
    Tensor::cat(&parts, dim)
}

/// As the reference's test.py on an aligned dataset: the image is split into A and B (B is the
/// input when the run trained BtoA), A is translated, and the result is real_A | fake_B | real_B
/// (or fake_B alone).
fn translate_aligned(
    g: &Generator,
    ab: image::RgbImage,
    direction: Direction,
    fake_only: bool,
    ctx: &Ctx,
    device: &Device,
) -> Result<image::RgbImage> {
    let (left, right) = split_aligned(&ab);
    let (real_a, real_b) = match direction {
        Direction::AtoB => (left, right),
        Direction::BtoA => (right, left),
    };
    let fake_b = translate_image(g, real_a.clone(), ctx, device)?;
    if fake_only {
        return Ok(fake_b);
    }
    Ok(grid::labelled_grid(
        &[
            ("real_A".into(), real_a),
            ("fake_B".into(), fake_b),
            ("real_B".into(), real_b),
        ],
        3,
    ))
}

/// The smallest side a generator takes. A ResNet sees its input reflect-padded to a multiple of 4
/// and halves it twice; its blocks then reflect-pad by 1, which needs at least 2 px, so the
/// padded side must be at least 8 (an input of 5 px or more). A U-Net's input is resized to a
/// multiple of its 2^downs, so any size works.
fn min_side(g: &Generator) -> u32 {
    match g.arch {
        GenArch::Resnet { .. } => 5,
        GenArch::Unet { .. } => 1,
    }
}

/// Whether an image is an aligned A|B pair as `dataset inspect` expects one: twice as wide as high.
fn is_pair(w: u32, h: u32) -> bool {
    w == 2 * h
}

const NOT_A_PAIR: &str = "not an aligned A|B pair (twice as wide as high). A pix2pix run's \
     checkpoint reads each input as the pairs it trained on and translates the left half; to \
     translate a plain photo or sketch whole, pass --whole";

/// For a pix2pix run's checkpoint (inputs read as A|B pairs): the inputs that are not pairs, with
/// their sizes. When no input is a pair, an error pointing at --whole before any work (the user
/// most likely meant --whole); else the main loop skips them, each named. Unreadable inputs are
/// left to the main loop.
fn check_pairs(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, String)>> {
    let not_pairs: Vec<(PathBuf, String)> = inputs
        .iter()
        .filter_map(|f| {
            let (w, h) = image_io::dimensions(f).ok()?;
            (!is_pair(w, h)).then(|| (f.clone(), format!("{} ({w}×{h})", f.display())))
        })
        .collect();
    if not_pairs.len() < inputs.len() {
        return Ok(not_pairs);
    }
    let shown = not_pairs
        .iter()
        .take(5)
        .map(|(_, s)| s.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let more = if not_pairs.len() > 5 {
        format!(" and {} more", not_pairs.len() - 5)
    } else {
        String::new()
    };
    bail!("{shown}{more}: {NOT_A_PAIR}")
}

/// One input translated and written.
fn translate_one(
    g: &Generator,
    input: &Path,
    out: &Path,
    aligned: Option<Direction>,
    a: &TranslateArgs,
    ctx: &Ctx,
    device: &Device,
) -> Result<()> {
    let (img, _) = image_io::load_rgb(input)?;
    let (w, h) = img.dimensions();
    let (gw, gh) = match aligned {
        Some(_) => (w / 2, h),
        None => (w, h),
    };
    let need = min_side(g);
    if gw.min(gh) < need {
        bail!(
            "{}: {w}×{h} px{}, but this generator ({}) takes at least {need} px on each side",
            input.display(),
            if aligned.is_some() {
                format!(" (halves {gw}×{gh})")
            } else {
                String::new()
            },
            g.arch.name()
        );
    }
    let y = match aligned {
        Some(d) => translate_aligned(g, img, d, a.fake_only, ctx, device)?,
        None => translate_image(g, img, ctx, device)?,
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    image_io::save_image(&y, out)?;
    Ok(())
}

pub fn run(ws: &Workspace, mut a: TranslateArgs) -> Result<i32> {
    a.checkpoint = ws.path(&a.checkpoint);
    a.input = ws.path(&a.input);
    let device = aiart::device::pick(&a.device)?;
    let choice = GenChoice {
        checkpoint: a.checkpoint.clone(),
        direction: a.direction,
        arch: a.arch.clone(),
        norm: a.norm,
        ngf: a.ngf,
    };
    let found = match published(ws, &choice)? {
        Some(found) => found,
        None => locate(&choice)?,
    };
    let inputs = list_inputs(&a.input, &a.output)?;
    check_folder_output(&a.input, &a.output)?;
    let aligned = found.aligned.filter(|_| !a.whole);
    if a.fake_only && aligned.is_none() {
        bail!(
            "--fake-only applies to a pix2pix run's checkpoint, whose inputs are aligned A|B pairs"
        );
    }
    let not_pairs = if aligned.is_some() {
        check_pairs(&inputs)?
    } else {
        vec![]
    };
    let read = found.read.clone();
    let g = load(&choice, found, &device)?;
    // every output checked (and its folder tried) before the first image is translated
    let batch = plan(
        (&a.input, &a.output),
        inputs,
        &read,
        a.force,
        a.skip_existing,
    )?;
    let ctx = if a.eval {
        Ctx::eval()
    } else {
        Ctx::test(a.seed)
    };
    if batch.inputs.is_empty() {
        println!(
            "nothing to translate: all {} outputs are already in {} (--skip-existing)",
            batch.skipped,
            a.output.display()
        );
        return Ok(0);
    }
    if batch.inputs.len() == 1 && batch.skipped == 0 {
        translate_one(
            &g,
            &batch.inputs[0],
            &batch.outs[0],
            aligned,
            &a,
            &ctx,
            &device,
        )?;
        println!("translated 1 image to {}", batch.outs[0].display());
        return Ok(0);
    }
    let bar = indicatif::ProgressBar::new(batch.inputs.len() as u64);
    let one = |input: &Path, out: &Path| match not_pairs.iter().find(|(p, _)| p == input) {
        Some((_, what)) => bail!("{what}: {NOT_A_PAIR}"),
        None => translate_one(&g, input, out, aligned, &a, &ctx, &device),
    };
    Ok(each_image(&bar, &batch, ("translated", &a.output), one))
}
