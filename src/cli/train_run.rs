//! What every `aiart train` run shares, whatever it trains: where its directory is, run.json and
//! the effective preset, the device with its TF32 switch, the running status, and a failure
//! recorded in the run.

use aiart::preset::Kind;
use aiart::run::dir::fresh_run_id;
use aiart::run::follow::{source_of, PresetSource};
use aiart::run::lock::RunLock;
use aiart::run::session::Session;
use aiart::run::{RunDir, RunInfo, RunState, Status};
use aiart::workspace::Workspace;
use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};

/// Where a run's files go.
pub enum Place {
    /// A new run directory (this one, or `runs/<time>-<name>`)
    New(Option<PathBuf>),
    /// A run directory prepared for its trainer (queued in Slurm or a sweep), started from step 0
    Prepared(PathBuf, Box<RunInfo>, RunLock),
}

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
}

impl Launch<'_> {
    /// Opens the run's folder (a new one, or the prepared one), takes its lock, writes run.json
    /// (`kind` on `device`) and the `effective` preset; returns them with the preset's source.
    pub fn open(
        &mut self,
        kind: Kind,
        device: &candle_core::Device,
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

    /// A batch trainer's start (its `warnings` printed first): the run opened for `kind` on
    /// `device` (`spec`: the preset's device) with the `effective` preset, the `started` event
    /// (`data`: what an epoch holds, `schedule`: the preset's steps), the session measuring steps
    /// of `batch` images. Returns the run, the session and the steps planned.
    pub fn begin_batches(
        &mut self,
        (kind, device, spec): (Kind, &candle_core::Device, &str),
        effective: &impl serde::Serialize,
        (data, schedule, batch): (&str, u64, u64),
        warnings: &[String],
    ) -> Result<(RunDir, Session, u64)> {
        for w in warnings {
            eprintln!("warning: {w}");
        }
        let (run, held) = self.open(kind, device, &toml::to_string_pretty(effective)?)?;
        let total = self.planned(schedule);
        let session = begin(
            &run,
            held,
            running_status(&run, 0, 1, total, self.max_steps),
            ("started", &started(kind, device, data, total, schedule)),
            warnings,
            (batch, device, spec),
        )?;
        Ok((run, session, total))
    }

    /// The steps the run takes under `schedule` (fewer under `--max-steps`).
    pub fn planned(&self, schedule: u64) -> u64 {
        aiart::run::ending::planned_steps(schedule, self.max_steps)
    }
}

/// The `started` event's message of a run of `total` steps on `device` (`data`: what it trains
/// on); the schedule's length too when `--max-steps` cuts it.
fn started(
    kind: Kind,
    device: &candle_core::Device,
    data: &str,
    total: u64,
    schedule: u64,
) -> String {
    let capped = if total < schedule {
        format!(" (--max-steps; the schedule has {schedule})")
    } else {
        String::new()
    };
    let on = aiart::device::describe(device);
    format!("{kind} on {on}: {data}, {total} steps{capped}")
}

/// How a trainer's loop starts in its run, new or resumed: its first words in events.jsonl (the
/// `started` or `resumed` event, then the trainer's warnings, printed already), the run's folder
/// on stdout, then the session (heartbeat, control, preset watcher, the launcher of this attempt)
/// in `status`, measuring steps of `batch` images on `device` (`spec`: the preset's device).
pub fn begin(
    run: &RunDir,
    (lock, source): (RunLock, PresetSource),
    status: Status,
    event: (&str, &str),
    warnings: &[String],
    (batch, device, spec): (u64, &candle_core::Device, &str),
) -> Result<Session> {
    run.append_event(event.0, event.1)?;
    for w in warnings {
        run.append_event("warning", w)?;
    }
    println!("run: {}", run.root.display());
    let launcher = aiart::launch::attempt_launcher(run);
    let session = Session::start(run.clone(), lock, source, status, launcher)?;
    session.measure(batch, aiart::device::gpu_probe(device, spec));
    Ok(session)
}

/// Creates the run directory (or takes a prepared one), takes its lock and writes run.json and the
/// effective preset.
pub fn open_run(
    place: Place,
    kind: Kind,
    preset_path: &Path,
    overrides: &[String],
    device: &candle_core::Device,
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
    let who = (aiart::device::describe(device), std::process::id());
    run.write_info(&RunInfo::now(&run, kind, preset, who, overrides, sweep))?;
    run.write_preset(effective)?;
    Ok((run, lock))
}

/// The device of a training run, its TF32 switch set before it opens.
pub fn train_device(spec: &str, tf32: bool) -> Result<candle_core::Device> {
    aiart::device::set_tf32(tf32);
    Ok(aiart::device::pick(spec)?)
}

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
    let e = if aiart::device::is_ptx_too_new(&format!("{e:#}")) {
        let driver = aiart::device::driver_cuda_version();
        e.context(aiart::device::ptx_advice(
            aiart::device::BUILD_TOOLKIT,
            driver.as_deref(),
        ))
    } else {
        e
    };
    let mut msg = aiart::human::error_text(e.as_ref());
    if let Some(w) = e.downcast_ref::<aiart::run::WriteFailed>() {
        msg = format!("{msg}; {}", run.resume_advice(w));
    }
    let _ = run.append_event("error", &msg);
    let before = run.read_status().ok();
    // the step reached: status.json is rewritten about once a second, the metrics at each step
    let last = aiart::run::metrics::last(&run.metrics()).map_or((0, 0), |r| (r.step, r.epoch));
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

/// `--device D` as an override of the preset.
pub fn device_override(device: &Option<String>) -> Option<String> {
    device
        .as_ref()
        .map(|d| format!("train.device={}", toml::Value::String(d.clone())))
}

/// The exit status of a run that ended in `state`. Inside a Slurm job a stop or a requeue is a
/// clean end (exit 0), so that Slurm does not report the job FAILED.
pub fn exit_code(state: RunState) -> i32 {
    let in_job = std::env::var_os("SLURM_JOB_ID").is_some();
    match state {
        RunState::Finished | RunState::Requeued | RunState::Timeout => 0,
        RunState::Stopped if in_job => 0,
        RunState::Stopped => 130,
        _ => 1,
    }
}
