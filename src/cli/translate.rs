//! `aiart translate`: its flags, and what it prints. The work — locating and loading the
//! generator, each image through it (in exact bands past the memory budget), where each result
//! goes — is the library's (`aiart::infer`). The checkpoint is the reference's `.pth`, a
//! `.safetensors` state dict, or a run checkpoint folder (its meta says the architecture).
//! Without `--eval` it behaves as the reference's test.py: dropout on and normalisation from the
//! input's own statistics; `--eval` turns dropout off and uses BatchNorm's running statistics.

use super::clip_progress::{clip_done, clip_progress};
use super::image_batch::each_image;
use super::tiling_args::{band_progress, TilingArgs};
use aiart::infer::batch::{check_folder_output, list_inputs, plan};
use aiart::infer::clip::{output_for, settings};
use aiart::infer::locate::{load, locate, GenChoice};
use aiart::infer::translate::{check_pairs, Translation, NOT_A_PAIR};
use aiart::nn::layers::{Ctx, NormKind};
use aiart::preset::gan::Direction;
use aiart::workspace::Workspace;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// `--direction`: which way a CycleGAN checkpoint translates (G_A or G_B).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum Dir {
    #[value(name = "AtoB")]
    AtoB,
    #[value(name = "BtoA")]
    BtoA,
}

/// `--norm`: the normalisation layers of a generator whose file does not say.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum NormArg {
    Instance,
    Batch,
    None,
}

#[derive(Args, Debug)]
pub struct TranslateArgs {
    /// A reference .pth (e.g. latest_net_G.pth), a .safetensors state dict, a run checkpoint folder, or a run folder (its newest checkpoint).
    /// Its channel counts come from its weights: a generator taking 1 channel (input_nc 1) sees
    /// each image's grayscale (PIL's convert('L')); one giving 1 channel is written as gray RGB,
    /// as the reference's tensor2im does
    #[arg(long, short)]
    pub checkpoint: PathBuf,
    /// With a run as --checkpoint: its checkpoint of step N (checkpoints/step-NNNNNNNN/) instead of
    /// its newest (the reference's --epoch N); a step without a complete checkpoint is refused,
    /// naming the steps that have one
    #[arg(long, value_name = "N")]
    pub step: Option<u64>,
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
    /// real_A | fake_B | real_B grid (a colorization checkpoint writes the recoloured photo alone
    /// with or without it)
    #[arg(long, conflicts_with = "whole")]
    pub fake_only: bool,
    /// CycleGAN run or checkpoint folder: write the reference's test page row for each input,
    /// real_A | fake_B | rec_A (rec_A = G_B(G_A(a))); with --direction BtoA the B side's,
    /// real_B | fake_A | rec_B
    #[arg(long, conflicts_with_all = ["whole", "fake_only"])]
    pub both_ways: bool,
    /// Replace outputs that already exist (never replaced otherwise; an output that is one of the
    /// inputs is refused even with --force)
    #[arg(long)]
    pub force: bool,
    /// Keep outputs that are already there as complete images and translate only the rest (an
    /// interrupted folder run goes on where it stopped; a half-written output is made again)
    #[arg(long, conflicts_with = "force")]
    pub skip_existing: bool,
    #[command(flatten)]
    pub tiling: TilingArgs,
}

pub fn run(ws: &Workspace, a: TranslateArgs) -> Result<i32> {
    let input = ws.path(&a.input);
    let tiling = a.tiling.tiling();
    let device = aiart::device::pick(&a.device)?;
    let choice = GenChoice {
        checkpoint: a.checkpoint.clone(),
        direction: a.direction.map(|d| match d {
            Dir::AtoB => Direction::AtoB,
            Dir::BtoA => Direction::BtoA,
        }),
        arch: a.arch.clone(),
        norm: a.norm.map(|n| match n {
            NormArg::Instance => NormKind::Instance,
            NormArg::Batch => NormKind::Batch,
            NormArg::None => NormKind::None,
        }),
        ngf: a.ngf,
        step: a.step,
    };
    let found = locate(ws, &choice, &mut |w| eprintln!("{w}"))?;
    let back = if a.both_ways {
        Some(generator_back(ws, &choice, &found)?)
    } else {
        None
    };
    if aiart::data::video::is_clip(&input) {
        if back.is_some() {
            bail!("--both-ways: a clip's frames are translated one way; pass images");
        }
        return clip(&a, &input, &choice, found, &device);
    }
    let inputs = list_inputs(&input, &a.output)?;
    check_folder_output(&input, &a.output)?;
    let aligned = found.aligned.filter(|_| !a.whole);
    // a colorization checkpoint writes the recoloured photo alone already (the dashboard asks
    // every pix2pix run's checkpoint for fake_B alone)
    let colorization = found.config.as_ref().is_some_and(|c| c.is_colorization());
    if a.fake_only && aligned.is_none() && !colorization {
        bail!(
            "--fake-only applies to a pix2pix run's checkpoint, whose inputs are aligned A|B pairs"
        );
    }
    let not_pairs = if aligned.is_some() {
        check_pairs(&inputs)?
    } else {
        vec![]
    };
    let mut read = found.read.clone();
    let g = load(&choice, found, &device)?;
    let direction = choice.direction.unwrap_or(Direction::AtoB);
    let back = match back {
        Some((back_choice, found)) => {
            read.extend(found.read.iter().cloned());
            Some(load(&back_choice, found, &device)?)
        }
        None => None,
    };
    // every output checked (and its folder tried) before the first image is translated
    let batch = plan((&input, &a.output), inputs, &read, a.force, a.skip_existing)?;
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
    let t = Translation {
        g: &g,
        ctx: &ctx,
        device: &device,
        tiling,
        scratch_dir: None,
    };
    let bars = indicatif::MultiProgress::new();
    if batch.inputs.len() == 1 && batch.skipped == 0 {
        let (input, out) = (&batch.inputs[0], &batch.outs[0]);
        let progress = &mut band_progress(&bars, input);
        match &back {
            Some(back) => t.file_both_ways(back, direction, input, out, progress)?,
            None => t.file(input, out, aligned, a.fake_only, progress)?,
        }
        println!("translated 1 image to {}", out.display());
        return Ok(0);
    }
    let bar = bars.add(indicatif::ProgressBar::new(batch.inputs.len() as u64));
    let one = |input: &Path, out: &Path| match not_pairs.iter().find(|(p, _)| p == input) {
        Some((_, what)) => bail!("{what}: {NOT_A_PAIR}"),
        None => {
            let progress = &mut band_progress(&bars, input);
            match &back {
                Some(back) => t.file_both_ways(back, direction, input, out, progress),
                None => t.file(input, out, aligned, a.fake_only, progress),
            }
        }
    };
    Ok(each_image(&bar, &batch, ("translated", &a.output), one))
}

/// `--both-ways`: the other generator of the CycleGAN checkpoint `found` came from (G_B for G_A,
/// G_A for G_B), located. Errors: anything but a CycleGAN run or checkpoint folder, naming it.
fn generator_back(
    ws: &Workspace,
    choice: &GenChoice,
    found: &aiart::infer::locate::Located,
) -> Result<(GenChoice, aiart::infer::locate::Located)> {
    let name = found
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let pair = matches!(
        name.as_deref(),
        Some("net_G_A.safetensors" | "net_G_B.safetensors")
    );
    if !pair || found.config.is_none() || found.aligned.is_some() {
        bail!(
            "--both-ways: {} is not a CycleGAN run or checkpoint folder, and a reconstruction \
             needs both its generators (G_A and G_B); pass the run (or its checkpoint folder)",
            found.file.display()
        );
    }
    // the same checkpoint folder G_A came from, even when the run writes a newer one meanwhile
    let folder = found.file.parent().expect("a file in a checkpoint folder");
    let back = GenChoice {
        checkpoint: folder.to_path_buf(),
        direction: Some(match choice.direction.unwrap_or(Direction::AtoB) {
            Direction::AtoB => Direction::BtoA,
            Direction::BtoA => Direction::AtoB,
        }),
        arch: choice.arch.clone(),
        norm: choice.norm,
        ngf: choice.ngf,
        step: None,
    };
    let located = locate(ws, &back, &mut |w| eprintln!("{w}"))?;
    Ok((back, located))
}

/// A clip in, a clip out: every frame whole through the generator, going on where an interrupted
/// run stopped.
fn clip(
    a: &TranslateArgs,
    input: &Path,
    choice: &GenChoice,
    found: aiart::infer::locate::Located,
    device: &candle_core::Device,
) -> Result<i32> {
    if a.skip_existing {
        bail!(
            "--skip-existing: a clip goes on by itself from the frames an interrupted run \
             finished; run the same command again without it"
        );
    }
    if a.fake_only {
        bail!("--fake-only: a clip's frames are translated whole (they are no A|B pairs)");
    }
    let out = output_for(input, &a.output, &found.read, a.force)?;
    let file = found.file.clone();
    let g = load(choice, found, device)?;
    let make = || {
        if a.eval {
            Ctx::eval()
        } else {
            Ctx::test(a.seed)
        }
    };
    let first = make();
    let t = Translation {
        g: &g,
        ctx: &first,
        device,
        tiling: a.tiling.tiling(),
        scratch_dir: None,
    };
    let options = format!(
        "direction {:?} eval {} seed {} arch {:?} norm {:?} ngf {:?}",
        choice.direction, a.eval, a.seed, choice.arch, a.norm, choice.ngf
    );
    let settings = settings("translate", &file, &options);
    let report = t.clip(input, &out, settings, &make, clip_progress(input))?;
    println!("{}", clip_done("translated", &out, &report));
    Ok(0)
}
