//! `aiart stylize --model M`: what it was given, and what it prints. Locating and loading the
//! TransformerNet and each image through it (pytorch/examples `fast_neural_style`'s `stylize`,
//! in exact bands past the memory budget) are the library's (`aiart::infer::stylize`).

use super::clip_progress::{clip_done, clip_progress};
use super::image_batch::each_image;
use super::tiling_args::band_progress;
use aiart::infer::batch::{check_folder_output, list_inputs, plan};
use aiart::infer::clip::{output_for, settings};
use aiart::infer::stylize::{load, locate, read_files, Stylization};
use aiart::infer::Tiling;
use aiart::nn::transformer_net::MIN_SIDE;
use aiart::workspace::Workspace;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// What `stylize --model` was given, once resolved.
pub struct ModelArgs {
    pub model: PathBuf,
    /// `--step N`: the run's checkpoint of step N instead of its newest
    pub step: Option<u64>,
    pub input: PathBuf,
    pub output: PathBuf,
    pub size: Option<u32>,
    pub device: String,
    pub force: bool,
    pub skip_existing: bool,
    pub tiling: Tiling,
}

pub fn run(ws: &Workspace, a: ModelArgs) -> Result<i32> {
    let input = ws.path(&a.input);
    if aiart::data::video::is_clip(&input) {
        return clip(ws, &a, &input);
    }
    let inputs = list_inputs(&input, &a.output)?;
    check_folder_output(&input, &a.output)?;
    if a.size == Some(0) {
        bail!("--size 0: give the longest side in pixels (at least {MIN_SIDE})");
    }
    let file = locate(ws, &a.model, a.step, &mut |w| eprintln!("{w}"))?;
    // every output checked (and its folder tried) before the first image is painted
    let batch = plan(
        (&input, &a.output),
        inputs,
        &read_files(&file),
        a.force,
        a.skip_existing,
    )?;
    let device = aiart::device::pick(&a.device)?;
    let net = load(&file, &device)?;
    if batch.inputs.is_empty() {
        println!(
            "nothing to stylize: all {} outputs are already in {} (--skip-existing)",
            batch.skipped,
            a.output.display()
        );
        return Ok(0);
    }
    let s = Stylization {
        net: &net,
        device: &device,
        tiling: a.tiling,
        scratch_dir: None,
    };
    let bars = indicatif::MultiProgress::new();
    if batch.inputs.len() == 1 && batch.skipped == 0 {
        let (input, out) = (&batch.inputs[0], &batch.outs[0]);
        s.file(input, out, a.size, &mut band_progress(&bars, input))?;
        println!("stylized 1 image to {}", out.display());
        return Ok(0);
    }
    let bar = bars.add(
        indicatif::ProgressBar::new(batch.inputs.len() as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
                .expect("a valid template"),
        ),
    );
    let one =
        |input: &Path, out: &Path| s.file(input, out, a.size, &mut band_progress(&bars, input));
    Ok(each_image(&bar, &batch, ("stylized", &a.output), one))
}

/// A clip in, a clip out: frame by frame, going on where an interrupted run stopped.
fn clip(ws: &Workspace, a: &ModelArgs, input: &Path) -> Result<i32> {
    if a.skip_existing {
        bail!(
            "--skip-existing: a clip goes on by itself from the frames an interrupted run \
             finished; run the same command again without it"
        );
    }
    if a.size == Some(0) {
        bail!("--size 0: give the longest side in pixels (at least {MIN_SIDE})");
    }
    let file = locate(ws, &a.model, a.step, &mut |w| eprintln!("{w}"))?;
    let out = output_for(input, &a.output, &read_files(&file), a.force)?;
    let device = aiart::device::pick(&a.device)?;
    let net = load(&file, &device)?;
    let s = Stylization {
        net: &net,
        device: &device,
        tiling: a.tiling,
        scratch_dir: None,
    };
    let settings = settings("stylize --model", &file, &format!("size {:?}", a.size));
    let report = s.clip(input, &out, a.size, settings, clip_progress(input))?;
    println!("{}", clip_done("stylized", &out, &report));
    Ok(0)
}
