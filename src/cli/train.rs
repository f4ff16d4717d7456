//! `aiart train PRESET`: a headless run into a run directory.

use aiart::nst::setup;
use aiart::preset::{self, GanPreset, NstPreset, Preset};
use aiart::run::{clock, dir::hostname, dir::new_run_id, RunDir, RunInfo, RunState};
use aiart::train::gan::{self, GanTrainer};
use aiart::train::nst::{train, NstTrainer, RunOptions};
use aiart::workspace::Workspace;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The preset file (TOML)
    pub preset: PathBuf,
    /// Run directory to create [default: runs/<time>-<preset name> in the workspace]
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Device: auto, cpu or cuda:N (overrides the preset's train.device)
    #[arg(long)]
    pub device: Option<String>,
    /// Override a preset field, as `section.key=value` (repeatable)
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
    /// End the run after N steps (smoke tests)
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,
    /// Print only errors and the run directory
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--device D` as an override of the preset.
pub fn device_override(device: &Option<String>) -> Option<String> {
    device
        .as_ref()
        .map(|d| format!("train.device={}", toml::Value::String(d.clone())))
}

pub fn run(ws: &Workspace, a: TrainArgs) -> Result<i32> {
    let mut overrides = a.set.clone();
    overrides.extend(device_override(&a.device));
    let preset = match preset::load(&a.preset, &overrides) {
        Ok(p) => p,
        Err(e) => {
            for issue in &e.issues {
                eprintln!("error: {issue}");
            }
            return Ok(1);
        }
    };
    let name = a
        .preset
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    match preset {
        Preset::Nst(p) => {
            let opts = RunOptions {
                max_steps: a.max_steps,
                output: None,
                quiet: a.quiet,
            };
            let (_, state) = run_nst(ws, &p, &a.preset, &name, a.run_dir, &opts)?;
            Ok(exit_code(state))
        }
        Preset::Gan(p) => {
            let (_, state) = run_gan(ws, &p, &a.preset, &name, a.run_dir, a.max_steps, a.quiet)?;
            Ok(exit_code(state))
        }
    }
}

fn write_info(
    run: &RunDir,
    kind: &str,
    preset_path: &Path,
    device: &candle_core::Device,
) -> Result<()> {
    let now = clock::now();
    run.write_info(&RunInfo {
        id: run.id(),
        kind: kind.into(),
        preset: std::fs::canonicalize(preset_path).unwrap_or_else(|_| preset_path.to_path_buf()),
        device: aiart::device::describe(device),
        pid: std::process::id(),
        host: hostname(),
        started: now,
        started_iso: clock::iso(now),
    })?;
    Ok(())
}

/// pix2pix / CycleGAN: dataset and networks checked first, then the run directory and the loop.
pub fn run_gan(
    ws: &Workspace,
    p: &GanPreset,
    preset_path: &Path,
    name: &str,
    run_dir: Option<PathBuf>,
    max_steps: Option<u64>,
    quiet: bool,
) -> Result<(RunDir, RunState)> {
    let device = aiart::device::pick(&p.train.device)?;
    let trainer = GanTrainer::new(p, &ws.root, &device)?;
    for w in &trainer.warnings {
        eprintln!("warning: {w}");
    }
    let root = run_dir.unwrap_or_else(|| ws.runs().join(new_run_id(name)));
    let run = RunDir::create(&root)
        .with_context(|| format!("creating run directory {}", root.display()))?;
    write_info(&run, &p.kind, preset_path, &device)?;
    run.write_preset(&toml::to_string_pretty(&p.effective())?)?;
    run.append_event(
        "started",
        &format!(
            "{} on {}: {} images a epoch, {} steps",
            p.kind,
            aiart::device::describe(&device),
            trainer.dataset.len(),
            trainer.total_steps()
        ),
    )?;
    for w in &trainer.warnings {
        run.append_event("warning", w)?;
    }
    println!("run: {}", run.root.display());
    let total = trainer.total_steps();
    match gan::train(&run, trainer, max_steps, quiet) {
        Ok(state) => Ok((run, state)),
        Err(e) => {
            let msg = format!("{e:#}");
            let _ = run.append_event("error", &msg);
            let status = run.read_status().ok();
            let (step, epoch) = status.map(|s| (s.step, s.epoch)).unwrap_or((0, 0));
            let _ = run.write_status(&run.status_now(RunState::Failed, step, epoch, total, &msg));
            Err(e)
        }
    }
}

pub fn exit_code(state: RunState) -> i32 {
    match state {
        RunState::Finished => 0,
        RunState::Stopped => 130,
        _ => 1,
    }
}

/// Loads everything (all errors before any work), creates the run directory and trains.
pub fn run_nst(
    ws: &Workspace,
    p: &NstPreset,
    preset_path: &Path,
    name: &str,
    run_dir: Option<PathBuf>,
    opts: &RunOptions,
) -> Result<(RunDir, RunState)> {
    let device = aiart::device::pick(&p.train.device)?;
    let prepared = setup::prepare(p, &ws.root, &device)?;
    for w in &prepared.warnings {
        eprintln!("warning: {w}");
    }
    let root = run_dir.unwrap_or_else(|| ws.runs().join(new_run_id(name)));
    let run = RunDir::create(&root)
        .with_context(|| format!("creating run directory {}", root.display()))?;
    let now = clock::now();
    run.write_info(&RunInfo {
        id: run.id(),
        kind: "nst".into(),
        preset: std::fs::canonicalize(preset_path).unwrap_or_else(|_| preset_path.to_path_buf()),
        device: aiart::device::describe(&device),
        pid: std::process::id(),
        host: hostname(),
        started: now,
        started_iso: clock::iso(now),
    })?;
    run.write_preset(&toml::to_string_pretty(&p.effective())?)?;
    run.append_event(
        "started",
        &format!("nst on {}", aiart::device::describe(&device)),
    )?;
    for w in &prepared.warnings {
        run.append_event("warning", w)?;
    }
    println!("run: {}", run.root.display());
    let trainer = NstTrainer::new(prepared, p)?;
    match train(&run, trainer, p, opts) {
        Ok(state) => Ok((run, state)),
        Err(e) => {
            let msg = format!("{e:#}");
            let _ = run.append_event("error", &msg);
            let step = run.read_status().map(|s| s.step).unwrap_or(0);
            let _ = run.write_status(&run.status_now(
                RunState::Failed,
                step,
                0,
                p.train.iterations,
                &msg,
            ));
            Err(e)
        }
    }
}
