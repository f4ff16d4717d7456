//! `aiart translate`: runs a generator over an image or a folder. The checkpoint is the reference's
//! `.pth`, a `.safetensors` state dict, or a run checkpoint folder (its meta says the architecture).
//! Without `--eval` it behaves as the reference's test.py: dropout on and normalisation from the
//! input's own statistics; `--eval` turns dropout off and uses BatchNorm's running statistics.

use aiart::data::dataset::{list_images, split_aligned};
use aiart::data::{grid, image_io, transform};
use aiart::nn::gan::{infer_gen_config, GenArch, GenConfig, Generator};
use aiart::nn::layers::{Ctx, NormKind};
use aiart::nn::weights;
use aiart::preset::gan::Direction;
use aiart::run::RunDir;
use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use clap::{Args, ValueEnum};
use image::imageops::FilterType;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum Dir {
    #[value(name = "AtoB")]
    AtoB,
    #[value(name = "BtoA")]
    BtoA,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum NormArg {
    Instance,
    Batch,
    None,
}

#[derive(Args, Debug)]
pub struct TranslateArgs {
    /// A reference .pth (e.g. latest_net_G.pth), a .safetensors state dict, a run checkpoint folder, or a run folder (its newest checkpoint)
    #[arg(long, short)]
    pub checkpoint: PathBuf,
    /// An image, or a folder of images
    #[arg(long, short)]
    pub input: PathBuf,
    /// The output image, or a folder (for a folder input, or when it exists)
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
    /// For CycleGAN checkpoints: AtoB uses G_A, BtoA uses G_B
    #[arg(long, value_enum, default_value = "AtoB")]
    pub direction: Dir,
    /// Dropout off and BatchNorm running statistics (the reference's --eval)
    #[arg(long)]
    pub eval: bool,
    /// Seed of the dropout masks
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device: auto, cpu or cuda:N
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// pix2pix run checkpoints: take each input whole, instead of as an aligned A|B pair
    #[arg(long)]
    pub whole: bool,
    /// pix2pix run checkpoints with aligned inputs: write fake_B alone instead of the labelled
    /// real_A | fake_B | real_B grid
    #[arg(long, conflicts_with = "whole")]
    pub fake_only: bool,
}

/// The generator to load: its file, its configuration when a run wrote it, and for a pix2pix
/// run's checkpoint the direction its aligned images are read in.
struct Located {
    file: PathBuf,
    config: Option<GenConfig>,
    aligned: Option<Direction>,
}

fn locate(a: &TranslateArgs) -> Result<Located> {
    let mut dir = a.checkpoint.clone();
    if !dir.exists() {
        bail!("{}: no such checkpoint", dir.display());
    }
    if dir.is_dir() && dir.join("run.json").is_file() {
        let run = RunDir::open(&dir);
        let newest = run
            .list_checkpoints()?
            .pop()
            .with_context(|| format!("{}: the run has no checkpoint yet", dir.display()))?;
        dir = newest.1;
    }
    if dir.is_file() {
        return Ok(Located {
            file: dir,
            config: None,
            aligned: None,
        });
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).with_context(|| {
            format!("{}: not a checkpoint folder (no meta.json)", dir.display())
        })?)?;
    let name = match (meta["kind"].as_str(), a.direction) {
        (Some("cyclegan"), Dir::AtoB) => "G_A",
        (Some("cyclegan"), Dir::BtoA) => "G_B",
        (Some("pix2pix"), _) => "G",
        (k, _) => bail!(
            "{}: a {} checkpoint has no generator",
            dir.display(),
            k.unwrap_or("?")
        ),
    };
    let config: GenConfig =
        serde_json::from_value(meta["netG"].clone()).context("meta.json: netG")?;
    let aligned = (name == "G")
        .then(|| serde_json::from_value(meta["direction"].clone()).unwrap_or(Direction::AtoB));
    Ok(Located {
        file: dir.join(format!("net_{name}.safetensors")),
        config: Some(config),
        aligned,
    })
}

fn load(a: &TranslateArgs, found: Located, device: &Device) -> Result<Generator> {
    let Located { file, config, .. } = found;
    let sd = weights::load_state_dict(&file, device)?;
    let mut c = match config.or_else(|| infer_gen_config(&sd)) {
        Some(c) => c,
        None => bail!(
            "{}: not a generator of the reference (pass --arch, --norm and --ngf)",
            file.display()
        ),
    };
    if let Some(arch) = &a.arch {
        c.arch = arch.clone();
    }
    if let Some(n) = a.norm {
        c.norm = match n {
            NormArg::Instance => NormKind::Instance,
            NormArg::Batch => NormKind::Batch,
            NormArg::None => NormKind::None,
        };
    }
    if let Some(ngf) = a.ngf {
        c.ngf = ngf;
    }
    Ok(Generator::for_inference(
        &c,
        sd,
        &file.display().to_string(),
        device,
    )?)
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

pub fn run(a: TranslateArgs) -> Result<i32> {
    let device = aiart::device::pick(&a.device)?;
    let found = locate(&a)?;
    let aligned = found.aligned.filter(|_| !a.whole);
    if a.fake_only && aligned.is_none() {
        bail!(
            "--fake-only applies to a pix2pix run's checkpoint, whose inputs are aligned A|B pairs"
        );
    }
    let g = load(&a, found, &device)?;
    let ctx = if a.eval {
        Ctx::eval()
    } else {
        Ctx::test(a.seed)
    };
    let inputs: Vec<PathBuf> = if a.input.is_dir() {
        list_images(&a.input)
    } else {
        vec![a.input.clone()]
    };
    if inputs.is_empty() {
        bail!("{}: holds no images", a.input.display());
    }
    let to_dir = a.input.is_dir() || a.output.is_dir() || a.output.to_string_lossy().ends_with('/');
    if to_dir {
        std::fs::create_dir_all(&a.output)
            .with_context(|| format!("creating {}", a.output.display()))?;
    }
    let bar = (inputs.len() > 1).then(|| indicatif::ProgressBar::new(inputs.len() as u64));
    let (mut done, mut skipped) = (0, 0);
    for input in &inputs {
        let out = if to_dir {
            a.output.join(output_name(input))
        } else {
            a.output.clone()
        };
        match image_io::load_rgb(input) {
            Ok((img, _)) => {
                let y = match aligned {
                    Some(d) => translate_aligned(&g, img, d, a.fake_only, &ctx, &device)?,
                    None => translate_image(&g, img, &ctx, &device)?,
                };
                image_io::save_image(&y, &out)?;
                done += 1;
            }
            Err(e) if inputs.len() > 1 => {
                eprintln!("warning: skipping {e}");
                skipped += 1;
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    println!(
        "translated {done} image(s) to {}{}",
        a.output.display(),
        if skipped > 0 {
            format!(", skipped {skipped}")
        } else {
            String::new()
        }
    );
    Ok(0)
}

fn output_name(input: &Path) -> String {
    format!(
        "{}.png",
        input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into())
    )
}
