//! Image in, image out, for `translate` and `stylize --model`: the inputs a run reads, where each
//! result goes, and the output rule (`data::outputs`) applied before any work.

use crate::data::dataset::{is_image_file, list_images};
use crate::data::naming;
use crate::data::outputs::{self, Existing, Rule};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The images a run reads: the one image, or every image of the folder except those under the
/// output folder when it lies inside the input folder (`--input D --output D/out`), so that a
/// second run (`--skip-existing`, `--force`) does not take the first run's results as inputs.
pub fn list_inputs(input: &Path, output: &Path) -> Result<Vec<PathBuf>> {
    let inputs = if input.is_dir() {
        let (i, o) = (outputs::resolved(input), outputs::resolved(output));
        let nested = o != i && o.starts_with(&i);
        list_images(input)
            .into_iter()
            .filter(|f| !(nested && outputs::resolved(f).starts_with(&o)))
            .collect()
    } else if input.exists() {
        vec![input.to_path_buf()]
    } else {
        bail!("{}: no such image or folder", input.display());
    };
    if inputs.is_empty() {
        bail!("{}: holds no images", input.display());
    }
    Ok(inputs)
}

/// What a run still has to do once the output rule is applied.
pub struct Batch {
    /// The inputs to do, and the output of each.
    pub inputs: Vec<PathBuf>,
    pub outs: Vec<PathBuf>,
    /// Inputs whose output was already there, complete (`--skip-existing`).
    pub skipped: usize,
}

/// Where each input's result goes, checked against the output rule before any work: an output
/// that is an input (or a folder output that is the input folder) is refused even with `force`,
/// an existing one needs `force` (or is kept with `skip_existing` when it is a complete image), and
/// the folders they go to are made and tried. `read` are the other files the command reads (the
/// network's weights), which no output may replace either.
pub fn plan(
    (input, output): (&Path, &Path),
    inputs: Vec<PathBuf>,
    read: &[PathBuf],
    force: bool,
    skip_existing: bool,
) -> Result<Batch> {
    check_folder_output(input, output)?;
    if input.is_dir() {
        outputs::refuse_input_folder("--output", output, &[input], false)?;
    }
    let to_dir = input.is_dir() || output.is_dir() || output.to_string_lossy().ends_with('/');
    let outs = outputs(input, output, &inputs, to_dir);
    let rule = Rule {
        flag: "--output",
        existing: Existing::from_flags(force, skip_existing),
        can_skip: true,
    };
    let all: Vec<PathBuf> = inputs.iter().chain(read).cloned().collect();
    let skip = outputs::check(rule, &outs, &all)?;
    let skipped = skip.iter().filter(|s| **s).count();
    let (inputs, outs) = inputs
        .into_iter()
        .zip(outs)
        .zip(skip)
        .filter(|(_, s)| !s)
        .map(|(io, _)| io)
        .unzip();
    Ok(Batch {
        inputs,
        outs,
        skipped,
    })
}

/// Where each input's result goes. A folder input keeps each file's path relative to it, with
/// `.png` in place of the extension (inputs that differ only in extension keep it: a.png.png,
/// a.jpg.png); an explicit output file is the user's choice.
fn outputs(input: &Path, output: &Path, inputs: &[PathBuf], to_dir: bool) -> Vec<PathBuf> {
    if !to_dir {
        return vec![output.to_path_buf()];
    }
    if input.is_dir() {
        naming::png_names(input, inputs)
            .into_iter()
            .map(|n| output.join(n))
            .collect()
    } else {
        inputs.iter().map(|i| output.join(output_name(i))).collect()
    }
}

/// A folder input writes a folder of results. `--output` naming an image file (`x.png`) or an
/// existing file would otherwise become a folder named `x.png`, or fail after the work: refused
/// before any work, saying what to pass. A folder that already exists is taken whatever its name.
/// (`plan` checks it too; callers check it first, before loading a network.)
pub fn check_folder_output(input: &Path, output: &Path) -> Result<()> {
    if !input.is_dir() || output.is_dir() {
        return Ok(());
    }
    let folder = output.with_extension("");
    let instead = match folder.file_name() {
        Some(n) if !n.is_empty() && folder != output => {
            format!("pass a folder instead, e.g. --output {}/", folder.display())
        }
        _ => "pass a folder instead".to_string(),
    };
    if output.exists() {
        bail!(
            "--output {}: the input {} is a folder, so the output must be a folder, but {} is an \
             existing file; {instead}",
            output.display(),
            input.display(),
            output.display()
        );
    }
    if output.to_string_lossy().ends_with('/') {
        return Ok(());
    }
    if is_image_file(output) {
        bail!(
            "--output {}: the input {} is a folder, so the output must be a folder, but {} names \
             an image file; {instead} (to make one image, pass one image as --input)",
            output.display(),
            input.display(),
            output.display()
        );
    }
    Ok(())
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
