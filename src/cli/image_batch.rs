//! The loop over a folder of images for `translate` and `stylize --model`, with its progress bar
//! and its final line (what goes where is `aiart::infer::batch`).

use aiart::infer::batch::Batch;
use anyhow::Result;
use std::path::Path;

/// Runs `one` on each image of a batch, `bar` counting them (a failure is named and skipped),
/// then says how many were `done` (the verb) to `output`, and how many were skipped as already
/// there. The exit status: 1 when any failed.
pub fn each_image(
    bar: &indicatif::ProgressBar,
    batch: &Batch,
    (verb, output): (&str, &Path),
    mut one: impl FnMut(&Path, &Path) -> Result<()>,
) -> i32 {
    let (mut done, mut failed) = (0, 0);
    for (input, out) in batch.inputs.iter().zip(&batch.outs) {
        match one(input, out) {
            Ok(()) => done += 1,
            Err(e) => {
                bar.suspend(|| eprintln!("warning: skipping {e:#}"));
                failed += 1;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let skipped = match batch.skipped {
        0 => String::new(),
        n => format!("; {n} skipped (already there, --skip-existing)"),
    };
    if failed > 0 {
        println!(
            "{verb} {done} of {} images to {}; {failed} failed (named above){skipped}",
            batch.inputs.len(),
            output.display()
        );
        1
    } else {
        println!("{verb} {done} images to {}{skipped}", output.display());
        0
    }
}
