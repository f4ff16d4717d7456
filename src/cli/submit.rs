//! `--slurm` on `train` and `sweep`: the run directories are made first (queued, with their
//! effective presets), then the batch script, then `sbatch` (held until `slurm.json` is written).

use aiart::launch::slurm::config::{self, SlurmConfig};
use aiart::launch::slurm::record::{self, SlurmRecord};
use aiart::launch::slurm::script::{Script, Target};
use aiart::preset::Preset;
use aiart::run::dir::SweepTag;
use aiart::run::{clock, RunDir, RunInfo, RunState};
use aiart::workspace::Workspace;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Default, Clone)]
pub struct SlurmArgs {
    /// Submit to Slurm as a batch job (a job array for a sweep) instead of running here
    #[arg(long)]
    pub slurm: bool,
    /// Slurm partition [aiart.toml: slurm.partition]
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// Time limit per attempt: MM, HH:MM:SS or D-HH:MM:SS
    #[arg(long, requires = "slurm", value_name = "HH:MM:SS")]
    pub time: Option<String>,
    /// Generic resources, e.g. gpu:1
    #[arg(long, requires = "slurm")]
    pub gres: Option<String>,
    /// CPUs per task
    #[arg(long, requires = "slurm")]
    pub cpus: Option<u32>,
    /// Memory, e.g. 32G
    #[arg(long, requires = "slurm")]
    pub mem: Option<String>,
    /// Account to charge
    #[arg(long, requires = "slurm")]
    pub account: Option<String>,
    /// Another #SBATCH argument, e.g. --sbatch-arg=--qos=low (repeatable)
    #[arg(
        long = "sbatch-arg",
        requires = "slurm",
        value_name = "ARG",
        allow_hyphen_values = true
    )]
    pub sbatch_arg: Vec<String>,
    /// How many times a job may requeue itself before a time limit [3]
    #[arg(long, requires = "slurm", value_name = "N")]
    pub max_requeues: Option<u32>,
    /// Seconds before the time limit at which the trainer checkpoints and requeues [300]
    #[arg(long, requires = "slurm", value_name = "SECONDS")]
    pub signal_margin: Option<u32>,
    /// Write and print the batch script without submitting it (nothing is kept)
    #[arg(long, requires = "slurm")]
    pub dry_run: bool,
}

impl SlurmArgs {
    /// The site defaults (`aiart.toml`) with these flags on top, checked.
    pub fn config(&self, ws: &Workspace) -> Result<SlurmConfig> {
        let site = config::site_defaults(&ws.root).map_err(|e| anyhow!(e))?;
        let cfg = site.with(&SlurmConfig {
            partition: self.partition.clone(),
            time: self.time.clone(),
            gres: self.gres.clone(),
            cpus: self.cpus,
            mem: self.mem.clone(),
            account: self.account.clone(),
            sbatch_args: self.sbatch_arg.clone(),
            max_requeues: self.max_requeues,
            signal_margin: self.signal_margin,
            binary: None,
        });
        if let Err((field, msg)) = cfg.validate() {
            bail!("--{}: {msg}", field.replace('_', "-"));
        }
        Ok(cfg)
    }
}

/// An absolute path (the compute node's working folder is not this shell's).
pub fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let base = if p.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    base.join(p)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// A run directory that waits for its trainer: run.json, the effective preset, status `queued`
/// (with the `--max-steps` it was asked for). `aiart train --resume` starts it from step 0.
pub fn prepare_run(
    root: &Path,
    preset: &Preset,
    preset_path: &Path,
    overrides: &[String],
    sweep: Option<SweepTag>,
    max_steps: Option<u64>,
    message: &str,
) -> Result<RunDir> {
    let run = RunDir::create(root)
        .with_context(|| format!("creating run directory {}", root.display()))?;
    run.write_info(&RunInfo::now(
        &run,
        preset.kind(),
        absolute(preset_path),
        (String::new(), 0),
        overrides,
        sweep,
    ))?;
    run.write_preset(&preset.to_toml())?;
    let mut status = run.status_now(RunState::Queued, 0, 0, 0, message);
    status.pid = 0;
    status.max_steps = max_steps;
    run.write_status(&status)?;
    Ok(run)
}

/// The `--max-steps` a run waiting for its trainer was prepared with (by `train --slurm` or
/// `sweep`): the trainer that Slurm or the local queue starts (`train --resume RUN`) keeps to
/// it, as a detached `train --max-steps N` does; so does a `--resume` after such a run failed or
/// ran out of time. None for any other run.
pub fn queued_max_steps(ws: &Workspace, name: &str) -> Option<u64> {
    let dir = aiart::run::list::resolve(&ws.runs(), name).ok()?;
    let s = RunDir::open(&dir).read_status().ok()?;
    matches!(
        s.state,
        RunState::Queued | RunState::Requeued | RunState::Failed | RunState::Timeout
    )
    .then_some(s.max_steps)
    .flatten()
}

/// A path with a line break cannot be said in an `#SBATCH` line (the directive ends there, quoted
/// or not): refused, naming it, before anything is written for Slurm. Spaces, quotes and `#` are
/// fine: the script quotes them.
pub fn refuse_line_breaks(paths: &[&Path]) -> Result<()> {
    for p in paths {
        if aiart::launch::slurm::script::unwritable(&p.to_string_lossy()) {
            bail!(
                "{:?}: a path with a line break cannot go into a Slurm batch script; \
                 move the workspace (or the binary) to a path without one",
                p
            );
        }
    }
    Ok(())
}

/// Writes the script to `dir/slurm/job.sbatch`; with `dry_run` prints it and stops there. Else
/// submits it and writes each run's `slurm.json` (the trainer waits for it: the script says so).
pub fn submit(
    ws: &Workspace,
    dir: &Path,
    name: &str,
    cfg: &SlurmConfig,
    target: Target,
    runs: &[RunDir],
    dry_run: bool,
) -> Result<Option<String>> {
    let slurm_dir = dir.join("slurm");
    let binary = match &cfg.binary {
        Some(b) => absolute(b),
        None => std::env::current_exe()?,
    };
    let workspace = absolute(&ws.root);
    refuse_line_breaks(&[&workspace, &binary, &slurm_dir])?;
    std::fs::create_dir_all(&slurm_dir)?;
    let array = matches!(target, Target::Array { .. });
    let output = aiart::launch::slurm::script::output_pattern(
        &slurm_dir,
        if array { "%A_%a.out" } else { "%j.out" },
    );
    let text = Script {
        name,
        workspace: &workspace,
        binary: &binary,
        output: &output,
        config: cfg,
        target,
    }
    .render();
    let script = slurm_dir.join("job.sbatch");
    aiart::atomic::write_atomic(&script, text.as_bytes())?;
    if dry_run {
        print!("{text}");
        return Ok(None);
    }
    let job = aiart::launch::slurm::sbatch(&script).map_err(|e| anyhow!(e))?;
    let max_requeues = cfg.max_requeues();
    for (i, run) in runs.iter().enumerate() {
        let (id, out) = if array {
            (
                format!("{job}_{i}"),
                slurm_dir.join(format!("{job}_{i}.out")),
            )
        } else {
            (job.clone(), slurm_dir.join(format!("{job}.out")))
        };
        let rec = SlurmRecord {
            job: id.clone(),
            output: out,
            script: script.clone(),
            submitted: clock::now(),
            max_requeues,
            attempts: vec![],
        };
        if let Err(e) = record::write(run, &rec) {
            let _ = aiart::launch::slurm::cancel(&job, None);
            bail!("{}: {e}; job {job} cancelled", run.root.display());
        }
        let _ = run.append_event("queued", &format!("submitted as Slurm job {id}"));
    }
    aiart::launch::slurm::queue::invalidate();
    Ok(Some(job))
}
