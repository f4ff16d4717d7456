//! What every `aiart train` run shares, whatever it trains: where its directory is, run.json and
//! the effective preset, the device with its TF32 switch, the running status, and a failure
//! recorded in the run.

use aiart::run::dir::hostname;
use aiart::run::lock::RunLock;
use aiart::run::{clock, RunDir, RunInfo, RunState, Status};
use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};

/// Where a run's files go.
pub enum Place {
    /// A new run directory (this one, or `runs/<time>-<name>`)
    New(Option<PathBuf>),
    /// A run directory prepared for its trainer (queued in Slurm or a sweep), started from step 0
    Prepared(PathBuf, Box<RunInfo>, RunLock),
}

/// Creates the run directory (or takes a prepared one), takes its lock and writes run.json and the
/// effective preset.
pub fn open_run(
    place: Place,
    kind: &str,
    preset_path: &Path,
    overrides: &[String],
    device: &candle_core::Device,
    effective: &str,
) -> Result<(RunDir, RunLock)> {
    let (run, sweep) = match place {
        Place::New(dir) => {
            let root = dir.expect("resolved by the caller");
            let run = RunDir::create(&root)
                .with_context(|| format!("creating run directory {}", root.display()))?;
            (run, None)
        }
        Place::Prepared(root, info, lock) => {
            return write_info(
                RunDir::open(root),
                lock,
                kind,
                preset_path,
                overrides,
                device,
                effective,
                info.sweep,
            );
        }
    };
    let lock = RunLock::acquire(&run).map_err(|e| anyhow!(e))?;
    write_info(
        run,
        lock,
        kind,
        preset_path,
        overrides,
        device,
        effective,
        sweep,
    )
}

#[allow(clippy::too_many_arguments)]
fn write_info(
    run: RunDir,
    lock: RunLock,
    kind: &str,
    preset_path: &Path,
    overrides: &[String],
    device: &candle_core::Device,
    effective: &str,
    sweep: Option<aiart::run::dir::SweepTag>,
) -> Result<(RunDir, RunLock)> {
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
        overrides: overrides.to_vec(),
        sweep,
    })?;
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
    let msg = format!("{e:#}");
    let _ = run.append_event("error", &msg);
    let (step, epoch) = run
        .read_status()
        .map(|s| (s.step, s.epoch))
        .unwrap_or((0, 0));
    let _ = run.write_status(&run.status_now(RunState::Failed, step, epoch, total, &msg));
    Err(e)
}
