//! `aiart train PRESET`: a headless run into a run directory; `--detach` leaves it running in its
//! own session; `--resume RUN` continues a run from its newest checkpoint. The arguments, the
//! launchers (detached, Slurm) and the exit status; every kind starts and resumes through
//! `aiart::train::start` / `aiart::train::resume`.

use aiart::launch::local;
use aiart::preset::{self, Preset};
use aiart::run::dir::fresh_run_id;
use aiart::run::{list, RunState};
use aiart::train::resume::{ResumeArgs, Resumed};
pub use aiart::train::start::Place;
use aiart::train::start::{self, Launch};
use aiart::workspace::Workspace;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The preset: a TOML file, or a name in the workspace's presets/ (nst-quick)
    #[arg(required_unless_present = "resume")]
    pub preset: Option<PathBuf>,
    /// Run directory to create [default: runs/<time>-<preset name> in the workspace]
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Device: auto, cpu or cuda:N (overrides the preset's train.device)
    #[arg(long)]
    pub device: Option<String>,
    /// Override a preset field, as `section.key=value` (repeatable). With --resume, only fields
    /// that may change in a run (lr, the schedule length: train.n_epochs for pix2pix/CycleGAN,
    /// train.epochs for fast style, train.iterations for nst; loss weights, [log]): a finished
    /// run continues to the longer schedule
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
    /// End the run after N steps (smoke tests)
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,
    /// Print only errors and the run directory
    #[arg(long, short)]
    pub quiet: bool,
    /// Start the trainer in its own session (it outlives this shell and SSH); its output goes to
    /// train.log in the run directory. Prints the run directory and returns.
    #[arg(long)]
    pub detach: bool,
    /// Continue RUN (an id or a folder) from its newest complete checkpoint
    #[arg(long, value_name = "RUN", conflicts_with_all = ["preset", "run_dir"])]
    pub resume: Option<String>,
    /// With --resume: continue from the run's checkpoint of step N instead of its newest (the
    /// reference's --continue_train --epoch N). What the run holds past step N (metrics, samples,
    /// checkpoints) moves to metrics.discarded.jsonl, samples/discarded/ and
    /// checkpoints/discarded/, never deleted; a step without a complete checkpoint is refused,
    /// naming the steps that have one
    #[arg(long, value_name = "N", requires = "resume")]
    pub from_step: Option<u64>,
    #[command(flatten)]
    pub slurm: super::submit::SlurmArgs,
}

fn print_issues(e: &preset::PresetError) {
    for issue in &e.issues {
        eprintln!("error: {issue}");
    }
}

/// A run's name from its preset file: `presets/nst-quick.toml` → `nst-quick`.
pub fn run_name(path: &Path, fallback: &str) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| fallback.into())
}

/// `train PRESET`'s preset with `--set` and `--device` applied, and those overrides; None when it
/// has problems (printed, one per line).
fn load_args_preset(path: &Path, a: &TrainArgs) -> Option<(Preset, Vec<String>)> {
    let mut overrides = a.set.clone();
    overrides.extend(device_override(&a.device));
    match preset::load(path, &overrides) {
        Ok(p) => Some((p, overrides)),
        Err(e) => {
            print_issues(&e);
            None
        }
    }
}

/// `problems`, one line each; true when there are none.
fn none_of(problems: Vec<String>) -> bool {
    for p in &problems {
        eprintln!("error: {p}");
    }
    problems.is_empty()
}

/// What a run started elsewhere (detached, Slurm) would fail on, said before it leaves: false
/// when something is wrong (printed, one line each). The foreground trainer checks it itself.
fn sizes_fit(ws: &Workspace, preset: &Preset) -> bool {
    none_of(start::problems_before_leaving(ws, preset))
}

/// The launcher of this process's attempt, for the run protocol's session.
pub fn launcher() -> start::AttemptLauncher {
    aiart::launch::attempt_launcher
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

pub fn run(ws: &Workspace, mut a: TrainArgs) -> Result<i32> {
    a.preset = a.preset.map(|p| ws.preset(&p)).transpose()?;
    if a.slurm.slurm {
        return submit(ws, &a);
    }
    if a.detach {
        return detach(ws, &a);
    }
    if let Some(r) = &a.resume {
        let device: Vec<String> = device_override(&a.device).into_iter().collect();
        let again = ResumeArgs {
            set: &a.set,
            device: &device,
            max_steps: a
                .max_steps
                .or_else(|| super::submit::queued_max_steps(ws, r)),
            from_step: a.from_step,
            quiet: a.quiet,
            before_lock: aiart::launch::before_lock,
            launcher: launcher(),
        };
        return Ok(match aiart::train::resume::resume(ws, r, &again)? {
            Resumed::Ran(state) => exit_code(state),
            Resumed::NothingToDo => 0,
            Resumed::Refused => 1,
        });
    }
    let preset_path = a.preset.clone().expect("clap requires it");
    let Some((preset, overrides)) = load_args_preset(&preset_path, &a) else {
        return Ok(1);
    };
    if !none_of(start::missing_inputs(ws, &preset)) {
        return Ok(1);
    }
    let name = run_name(&preset_path, "run");
    let launch = Launch {
        ws,
        preset_path: &preset_path,
        overrides: &overrides,
        name: &name,
        place: Place::New(a.run_dir),
        max_steps: a.max_steps,
        quiet: a.quiet,
        launcher: launcher(),
        output: None,
    };
    let state = start::start(preset, launch)?.1;
    Ok(exit_code(state))
}

/// `train PRESET --slurm`: a queued run directory, its batch script, and the job.
fn submit(ws: &Workspace, a: &TrainArgs) -> Result<i32> {
    if a.detach || a.resume.is_some() {
        bail!("--slurm submits a new run; it takes neither --detach nor --resume");
    }
    let cfg = a.slurm.config(ws)?;
    let preset_path = a.preset.clone().expect("clap requires it");
    let Some((preset, overrides)) = load_args_preset(&preset_path, a) else {
        return Ok(1);
    };
    if !sizes_fit(ws, &preset) {
        return Ok(1);
    }
    let name = run_name(&preset_path, "run");
    let root = super::submit::absolute(
        &a.run_dir
            .clone()
            .unwrap_or_else(|| ws.runs().join(fresh_run_id(&ws.runs(), &name))),
    );
    super::submit::refuse_line_breaks(&[&super::submit::absolute(&ws.root), &root])?;
    let run = super::submit::prepare_run(
        &root,
        &preset,
        &preset_path,
        &overrides,
        None,
        a.max_steps,
        "",
    )?;
    let job_name = format!("aiart-{}", run.id());
    let target = aiart::launch::slurm::script::Target::Run(&run.root);
    match super::submit::submit(
        ws,
        &run.root,
        &job_name,
        &cfg,
        target,
        std::slice::from_ref(&run),
        a.slurm.dry_run,
    ) {
        Ok(Some(job)) => {
            println!("{}", run.root.display());
            eprintln!("Slurm job {job}; `aiart runs list` shows its state");
            Ok(0)
        }
        Ok(None) => {
            std::fs::remove_dir_all(&run.root)?;
            eprintln!("dry run: nothing submitted, nothing kept");
            Ok(0)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&run.root);
            Err(e)
        }
    }
}

/// Starts this same command without `--detach` in a new session, output to the run's train.log;
/// returns once the trainer holds the run's lock (or has failed).
fn detach(ws: &Workspace, a: &TrainArgs) -> Result<i32> {
    let root = match (&a.resume, &a.preset) {
        (Some(r), _) => list::resolve(&ws.runs(), r).map_err(|e| anyhow!(e))?,
        (None, Some(p)) => {
            match load_args_preset(p, a) {
                Some((preset, _)) if sizes_fit(ws, &preset) => {}
                _ => return Ok(1),
            }
            let name = run_name(p, "run");
            let root = a
                .run_dir
                .clone()
                .unwrap_or_else(|| ws.runs().join(fresh_run_id(&ws.runs(), &name)));
            if root.join("run.json").exists() {
                bail!(
                    "{} already holds a run; choose another --run-dir",
                    root.display()
                );
            }
            root
        }
        (None, None) => bail!("give a preset or --resume RUN"),
    };
    std::fs::create_dir_all(&root)?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("--workspace").arg(&ws.root).arg("train");
    match (&a.resume, &a.preset) {
        (Some(_), _) => {
            cmd.arg("--resume").arg(&root);
            if let Some(n) = a.from_step {
                cmd.arg("--from-step").arg(n.to_string());
            }
            for s in &a.set {
                cmd.arg("--set").arg(s);
            }
        }
        (None, Some(p)) => {
            cmd.arg(p).arg("--run-dir").arg(&root);
            for s in &a.set {
                cmd.arg("--set").arg(s);
            }
        }
        _ => unreachable!(),
    }
    if let Some(d) = &a.device {
        cmd.arg("--device").arg(d);
    }
    if let Some(m) = a.max_steps {
        cmd.arg("--max-steps").arg(m.to_string());
    }
    let log = root.join("train.log");
    let mut child = local::spawn_detached(cmd, &log).context("starting the trainer")?;
    let pid = child.id();
    match local::wait_for_lock(&root, &mut child, std::time::Duration::from_secs(120))? {
        local::Start::Holding => {
            println!("{}", root.display());
            eprintln!("trainer pid {pid}; its output: {}", log.display());
            Ok(0)
        }
        local::Start::Exited { success } => {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            // the log's last line may lack its newline; never run the next line into it
            eprint!("{text}");
            if !text.is_empty() && !text.ends_with('\n') {
                eprintln!();
            }
            if success {
                println!("{}", root.display());
            }
            Ok(if success { 0 } else { 1 })
        }
        local::Start::Starting => {
            println!("{}", root.display());
            eprintln!(
                "trainer pid {pid} is still starting; follow {}",
                log.display()
            );
            Ok(0)
        }
    }
}
