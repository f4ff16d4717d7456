//! Where every `aiart train` run starts, whatever it trains: the run's folder (new, or prepared
//! by a launcher), run.json and the effective preset, the device with its TF32 switch, the first
//! events and the session, the trainer's loop, and a failure recorded in the run. One path for
//! every kind: [`start`] builds the kind's trainer (a [`BatchTrainer`] for pix2pix, CycleGAN and
//! fast style; style transfer's own loop), checking every input before the run's folder exists.
//! The CLI parses and prints; it names no trainer module.

use crate::nst::setup;
use crate::preset::{Kind, NstPreset, Preset};
use crate::run::dir::fresh_run_id;
use crate::run::follow::{source_of, PresetSource};
use crate::run::lock::RunLock;
use crate::run::session::{Launcher, Session};
use crate::run::{RunDir, RunInfo, RunState, Status};
use crate::train::batch::{self, BatchTrainer};
use crate::train::fast::FastTrainer;
use crate::train::gan::GanTrainer;
use crate::train::nst::{NstRun, NstTrainer, RunOptions};
use crate::workspace::Workspace;
use anyhow::{anyhow, Context, Result};
use candle_core::Device;
use std::path::{Path, PathBuf};

/// Where a run's files go.
pub enum Place {
    /// A new run directory (this one, or `runs/<time>-<name>`)
    New(Option<PathBuf>),
    /// A run directory prepared for its trainer (queued in Slurm or a sweep), started from step 0
    Prepared(PathBuf, Box<RunInfo>, RunLock),
}

/// The launcher of this process's attempt at a run, when one has a say in how it ends (the
/// caller passes `launch::attempt_launcher`: a trainer names no launcher).
pub type AttemptLauncher = fn(&RunDir) -> Option<Box<dyn Launcher>>;

/// A new run as `aiart train` starts it, whatever it trains.
pub struct Launch<'a> {
    pub ws: &'a Workspace,
    pub preset_path: &'a Path,
    pub overrides: &'a [String],
    /// The run's name (a new folder is `runs/<time>-<name>`)
    pub name: &'a str,
    pub place: Place,
    pub max_steps: Option<u64>,
    pub quiet: bool,
    pub launcher: AttemptLauncher,
    /// Style transfer: also write the final image here (`stylize --output`); refused for the
    /// batch-trained kinds, which make a network, not an image
    pub output: Option<PathBuf>,
}

impl Launch<'_> {
    /// Opens the run's folder (a new one, or the prepared one), takes its lock, writes run.json
    /// (`kind` on `device`) and the `effective` preset; returns them with the preset's source.
    pub fn open(
        &mut self,
        kind: Kind,
        device: &Device,
        effective: &str,
    ) -> Result<(RunDir, (RunLock, PresetSource))> {
        // a launch opens one run: its place is taken
        let place = match std::mem::replace(&mut self.place, Place::New(None)) {
            Place::New(None) => {
                let runs = self.ws.runs();
                Place::New(Some(runs.join(fresh_run_id(&runs, self.name))))
            }
            p => p,
        };
        let (run, lock) = open_run(
            place,
            kind,
            self.preset_path,
            self.overrides,
            device,
            effective,
        )?;
        Ok((run, (lock, source_of(self.preset_path, self.overrides))))
    }

    /// The steps the run takes under `schedule` (fewer under `--max-steps`).
    pub fn planned(&self, schedule: u64) -> u64 {
        crate::run::ending::planned_steps(schedule, self.max_steps)
    }
}

/// Starts a new run of `preset` and trains it in the foreground: the trainer is built (every
/// input checked) before the run's folder exists. Returns the run and how it ended; an error
/// after the folder exists is recorded in it (`failed`).
pub fn start(preset: Preset, launch: Launch) -> Result<(RunDir, RunState)> {
    match preset {
        Preset::Nst(p) => start_nst(&p, launch),
        p if launch.output.is_some() => anyhow::bail!(
            "{}: a {} run trains a network, and writes no single image to an output",
            launch.preset_path.display(),
            p.kind()
        ),
        p @ Preset::Gan(_) => start_batches::<GanTrainer>(&p, launch),
        p @ Preset::FastStyle(_) => start_batches::<FastTrainer>(&p, launch),
    }
}

/// The preset's device (`train.device`) and TF32 switch.
pub fn device_of(preset: &Preset) -> (&str, bool) {
    match preset {
        Preset::Nst(p) => (&p.train.device, p.train.tf32),
        Preset::Gan(p) => (&p.train.device, p.train.tf32),
        Preset::FastStyle(p) => (&p.train.device, p.train.tf32),
    }
}

/// A batch trainer's new run: trainer first (data, networks, sizes), then the run's folder, the
/// `started` event and the loop.
fn start_batches<T: BatchTrainer>(p: &Preset, mut l: Launch) -> Result<(RunDir, RunState)> {
    let (spec, tf32) = device_of(p);
    let device = train_device(spec, tf32)?;
    let trainer = T::new(p, &l.ws.root, &device)?;
    for w in trainer.warnings() {
        eprintln!("warning: {w}");
    }
    let kind = trainer.kind();
    let (run, held) = l.open(kind, &device, &p.to_toml())?;
    let schedule = trainer.total_steps();
    let total = l.planned(schedule);
    let data = trainer.data_text();
    let session = begin(
        &run,
        held,
        running_status(&run, 0, 1, total, l.max_steps),
        ("started", &started(kind, &device, &data, total, schedule)),
        trainer.warnings(),
        (trainer.batch_size(), &device, spec),
        l.launcher,
    )?;
    match batch::train(session, trainer, l.max_steps, l.quiet, None) {
        Ok(state) => {
            say_how_it_ended::<T>(&run, state, l.quiet);
            Ok((run, state))
        }
        Err(e) => failed(&run, total, e),
    }
}

/// Style transfer's new run: everything loaded (all errors before any work), the run's folder,
/// then its own loop; the final image goes to the launch's `output` too.
fn start_nst(p: &NstPreset, mut l: Launch) -> Result<(RunDir, RunState)> {
    let device = train_device(&p.train.device, p.train.tf32)?;
    let prepared = setup::prepare(p, &l.ws.root, &device)?;
    for w in &prepared.warnings {
        eprintln!("warning: {w}");
    }
    let effective = toml::to_string_pretty(&p.effective())?;
    let (run, held) = l.open(Kind::Nst, &device, &effective)?;
    let total = l.planned(p.total_iterations());
    let session = begin(
        &run,
        held,
        running_status(&run, 0, 0, total, l.max_steps),
        (
            "started",
            &format!("nst on {}", crate::device::describe(&device)),
        ),
        &prepared.warnings,
        (1, &device, &p.train.device),
        l.launcher,
    )?;
    let r = NstRun {
        trainer: NstTrainer::new(prepared, p)?,
        preset: p.effective(),
        workspace: l.ws.root.clone(),
    };
    let opts = RunOptions {
        max_steps: l.max_steps,
        output: l.output.take(),
        quiet: l.quiet,
    };
    match crate::train::nst::train(session, r, &opts, None) {
        Ok(state) => Ok((run, state)),
        Err(e) => failed(&run, total, e),
    }
}

/// The run's last word for a person at the terminal, for kinds that have a use to point at (it
/// is in status.json and events.jsonl too): how it ended, and the command that uses it.
pub(crate) fn say_how_it_ended<T: BatchTrainer>(run: &RunDir, state: RunState, quiet: bool) {
    let Some(hint) = T::use_hint(run) else {
        return;
    };
    if quiet {
        return;
    }
    let message = run.read_status().map(|s| s.message).unwrap_or_default();
    eprintln!("{}: {message}", state.as_str());
    if matches!(state, RunState::Finished | RunState::Stopped) {
        eprintln!("{hint}");
    }
}

/// The `started` event's message of a run of `total` steps on `device` (`data`: what it trains
/// on); the schedule's length too when `--max-steps` cuts it.
fn started(kind: Kind, device: &Device, data: &str, total: u64, schedule: u64) -> String {
    let capped = if total < schedule {
        format!(" (--max-steps; the schedule has {schedule})")
    } else {
        String::new()
    };
    let on = crate::device::describe(device);
    format!("{kind} on {on}: {data}, {total} steps{capped}")
}

/// How a trainer's loop starts in its run, new or resumed: the signal handlers (Ctrl-C, TERM:
/// checkpoint and stop at the next step), its first words in events.jsonl (the `started` or
/// `resumed` event, then the trainer's warnings, printed already), the run's folder on stdout,
/// then the session (heartbeat, control, preset watcher, the `launcher` of this
/// attempt) in `status`, measuring steps of `batch` images on `device` (`spec`: the preset's
/// device).
pub fn begin(
    run: &RunDir,
    (lock, source): (RunLock, PresetSource),
    status: Status,
    event: (&str, &str),
    warnings: &[String],
    (batch, device, spec): (u64, &Device, &str),
    launcher: AttemptLauncher,
) -> Result<Session> {
    crate::run::signals::install();
    run.append_event(event.0, event.1)?;
    for w in warnings {
        run.append_event("warning", w)?;
    }
    println!("run: {}", run.root.display());
    let session = Session::start(run.clone(), lock, source, status, launcher(run))?;
    session.measure(batch, crate::device::gpu_probe(device, spec));
    Ok(session)
}

/// Creates the run directory (or takes a prepared one), takes its lock and writes run.json and the
/// effective preset.
pub fn open_run(
    place: Place,
    kind: Kind,
    preset_path: &Path,
    overrides: &[String],
    device: &Device,
    effective: &str,
) -> Result<(RunDir, RunLock)> {
    let (run, lock, sweep) = match place {
        Place::New(dir) => {
            let root = dir.expect("resolved by the caller");
            let run = RunDir::create(&root)
                .with_context(|| format!("creating run directory {}", root.display()))?;
            let lock = RunLock::acquire(&run).map_err(|e| anyhow!(e))?;
            (run, lock, None)
        }
        Place::Prepared(root, info, lock) => (RunDir::open(root), lock, info.sweep),
    };
    let preset = std::fs::canonicalize(preset_path).unwrap_or_else(|_| preset_path.to_path_buf());
    let who = (crate::device::describe(device), std::process::id());
    run.write_info(&RunInfo::now(&run, kind, preset, who, overrides, sweep))?;
    run.write_preset(effective)?;
    Ok((run, lock))
}

/// The device of a training run, its TF32 switch set before it opens.
pub fn train_device(spec: &str, tf32: bool) -> Result<Device> {
    crate::device::set_tf32(tf32);
    Ok(crate::device::pick(spec)?)
}

/// The status of a run at `step` of `total`, running (`max_steps`: `--max-steps`, kept in it).
pub fn running_status(
    run: &RunDir,
    step: u64,
    epoch: u64,
    total: u64,
    max_steps: Option<u64>,
) -> Status {
    Status {
        max_steps,
        ..run.status_now(RunState::Running, step, epoch, total, "")
    }
}

/// Marks a run failed (the error is also an event) and passes the error on.
/// A driver refusing the binary's kernels later than when the device opened gets the same
/// advice (the toolkit, the driver's CUDA version, the rebuild command).
pub fn failed<T>(run: &RunDir, total: u64, e: anyhow::Error) -> Result<T> {
    let e = if crate::device::is_ptx_too_new(&format!("{e:#}")) {
        let driver = crate::device::driver_cuda_version();
        e.context(crate::device::ptx_advice(
            crate::device::BUILD_TOOLKIT,
            driver.as_deref(),
        ))
    } else {
        e
    };
    let mut msg = crate::human::error_text(e.as_ref());
    if let Some(w) = e.downcast_ref::<crate::run::WriteFailed>() {
        msg = format!("{msg}; {}", run.resume_advice(w));
    }
    let _ = run.append_event("error", &msg);
    let before = run.read_status().ok();
    // the step reached: status.json is rewritten about once a second, the metrics at each step
    let last = crate::run::metrics::last(&run.metrics()).map_or((0, 0), |r| (r.step, r.epoch));
    let (step, epoch) = before
        .as_ref()
        .map_or((0, 0), |s| (s.step, s.epoch))
        .max(last);
    let mut status = run.status_now(RunState::Failed, step, epoch, total, &msg);
    // a queued run's --max-steps stays for the `train --resume` that retries it
    status.max_steps = before.and_then(|s| s.max_steps);
    let _ = run.write_status(&status);
    Err(anyhow!(msg))
}

/// Every input file and folder the preset names is there (`preset check` asks the same): each
/// missing one, naming its field; none when all are there.
pub fn missing_inputs(ws: &Workspace, preset: &Preset) -> Vec<String> {
    crate::data::fetch::preset_missing_inputs(preset, &ws.root)
}

/// What a run started elsewhere (detached, Slurm) would fail on, checked here first (the
/// foreground trainer checks it itself): missing inputs; the size rules against the images at
/// hand (one line per file); for fast style the folder of photos, the style image and the VGG
/// ("hub": fetched now, so an offline machine says so before any run exists). Empty when fine.
pub fn problems_before_leaving(ws: &Workspace, preset: &Preset) -> Vec<String> {
    let missing = missing_inputs(ws, preset);
    if !missing.is_empty() {
        return missing;
    }
    match preset {
        Preset::Gan(p) => {
            let root = crate::workspace::resolve_path(&ws.root, &p.data.dataroot);
            if !root.is_dir() {
                return vec![];
            }
            let r = crate::data::sizes::check(p, &root);
            r.problems
                .iter()
                .map(|(f, what)| format!("{}: {what}", f.display()))
                .collect()
        }
        Preset::FastStyle(p) => {
            let root = crate::workspace::resolve_path(&ws.root, &p.data.dataset);
            if crate::data::photos::list_photos(&root).is_empty() {
                return vec![format!(
                    "data.dataset: {}: holds no images (jpg, png, …), at any depth",
                    root.display()
                )];
            }
            let style = crate::workspace::resolve_path(&ws.root, &p.data.style_image);
            if let Err(e) = crate::data::image_io::dimensions(&style) {
                return vec![format!("data.style_image: {e}")];
            }
            if p.model.vgg_weights == "hub" {
                if let Err(e) = crate::nn::hub::fetch_vgg16() {
                    return vec![format!("model.vgg_weights: {e}")];
                }
            }
            vec![]
        }
        Preset::Nst(_) => vec![],
    }
}
