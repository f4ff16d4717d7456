//! `aiart train PRESET` in the foreground: a new run of a style-transfer or pix2pix / CycleGAN
//! preset (fast style's is train_fast.rs), everything loaded and checked before its directory
//! exists, then the loop.

use super::train_run::{begin, failed, running_status, train_device, Launch};
use aiart::nst::setup;
use aiart::preset::{GanPreset, NstPreset, Preset};
use aiart::run::{RunDir, RunState};
use aiart::train::gan::{self, GanTrainer};
use aiart::train::nst::{train, NstRun, NstTrainer, RunOptions};
use anyhow::Result;
use std::path::PathBuf;

/// Starts a new run of `preset` and trains it in the foreground.
pub fn start(preset: Preset, launch: Launch) -> Result<(RunDir, RunState)> {
    match preset {
        Preset::Nst(p) => run_nst(&p, launch, None),
        Preset::Gan(p) => run_gan(&p, launch),
        Preset::FastStyle(p) => super::train_fast::run_fast(&p, launch),
    }
}

/// Loads everything (all errors before any work), creates the run directory and trains; the
/// final image goes to `output` too.
pub fn run_nst(
    p: &NstPreset,
    mut l: Launch,
    output: Option<PathBuf>,
) -> Result<(RunDir, RunState)> {
    let device = train_device(&p.train.device, p.train.tf32)?;
    let prepared = setup::prepare(p, &l.ws.root, &device)?;
    for w in &prepared.warnings {
        eprintln!("warning: {w}");
    }
    let effective = toml::to_string_pretty(&p.effective())?;
    let (run, held) = l.open(aiart::preset::Kind::Nst, &device, &effective)?;
    let total = l.planned(p.total_iterations());
    let session = begin(
        &run,
        held,
        running_status(&run, 0, 0, total, l.max_steps),
        (
            "started",
            &format!("nst on {}", aiart::device::describe(&device)),
        ),
        &prepared.warnings,
        (1, &device, &p.train.device),
    )?;
    let r = NstRun {
        trainer: NstTrainer::new(prepared, p)?,
        preset: p.effective(),
        workspace: l.ws.root.clone(),
    };
    let opts = RunOptions {
        max_steps: l.max_steps,
        output,
        quiet: l.quiet,
    };
    match train(session, r, &opts, None) {
        Ok(state) => Ok((run, state)),
        Err(e) => failed(&run, total, e),
    }
}

/// pix2pix / CycleGAN: dataset and networks checked first, then the run directory and the loop.
pub fn run_gan(p: &GanPreset, mut l: Launch) -> Result<(RunDir, RunState)> {
    let device = train_device(&p.train.device, p.train.tf32)?;
    let trainer = GanTrainer::new(p, &l.ws.root, &device)?;
    let data = format!("{} images an epoch", trainer.dataset_len);
    let epochs = (&data[..], trainer.total_steps(), p.data.batch_size as u64);
    let on = (p.kind(), &device, &p.train.device[..]);
    let (run, session, total) = l.begin_batches(on, &p.effective(), epochs, &trainer.warnings)?;
    match gan::train(session, trainer, l.max_steps, l.quiet, None) {
        Ok(state) => Ok((run, state)),
        Err(e) => failed(&run, total, e),
    }
}
