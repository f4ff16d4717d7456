//! `aiart sweep PRESET --grid section.key=v1,v2 …`: one run per combination, made up front, then a
//! Slurm job array (`--slurm`) or a local queue that runs `--max-parallel` trainers at a time.
//! `aiart sweep list|show|stop ID`.

use super::submit::{absolute, prepare_run, SlurmArgs};
use aiart::launch::slurm::script::Target;
use aiart::launch::sweep::{self, Manifest, Task};
use aiart::preset;
use aiart::run::dir::{fresh_run_id, SweepTag};
use aiart::run::list::{RunSummary, UserState};
use aiart::run::{clock, RunDir, RunState};
use aiart::workspace::Workspace;
use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
// `aiart sweep` alone prints the whole help (start a sweep, or list|show|stop one), not an error
// whose usage line names only the start
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    arg_required_else_help = true
)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    #[command(flatten)]
    pub start: StartArgs,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// The preset every run starts from: a TOML file, or a name in the workspace's presets/
    #[arg(required = true)]
    pub preset: Option<PathBuf>,
    /// One axis of the grid, as section.key=v1,v2,… (repeatable; every combination is a run)
    #[arg(long = "grid", value_name = "SECTION.KEY=V1,V2", required = true)]
    pub grid: Vec<String>,
    /// Override a preset field for every run, as section.key=value (repeatable)
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
    /// How many runs train at once [local: 1; Slurm: no limit]
    #[arg(long, value_name = "P")]
    pub max_parallel: Option<usize>,
    /// Device for every run: auto, cpu or cuda:N (a grid over train.device spreads runs over GPUs)
    #[arg(long)]
    pub device: Option<String>,
    /// End each run of the sweep after N steps, as `train --max-steps` (smoke tests)
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,
    #[command(flatten)]
    pub slurm: SlurmArgs,
}

#[derive(Subcommand, Debug)]
pub enum SweepCommand {
    /// The workspace's sweeps, with how many runs are in each state
    List,
    /// One sweep: its grid and each run's state, step and latest losses
    Show {
        /// A sweep id (or a unique prefix of it), as `sweep list` prints it
        sweep: String,
    },
    /// Stop a sweep: queued runs never start, live ones stop (checkpoint first)
    Stop {
        /// A sweep id (or a unique prefix of it), as `sweep list` prints it
        sweep: String,
        /// Seconds to wait for each live trainer's answer
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// (internal) the local queue of a sweep: starts its runs, max-parallel at a time
    #[command(hide = true)]
    Queue { sweep: String },
}

pub fn run(ws: &Workspace, a: SweepArgs) -> Result<i32> {
    match a.command {
        Some(SweepCommand::List) => list_sweeps(ws),
        Some(SweepCommand::Show { sweep }) => show(ws, &sweep),
        Some(SweepCommand::Stop { sweep, timeout }) => stop(ws, &sweep, timeout),
        Some(SweepCommand::Queue { sweep }) => queue(ws, &sweep),
        None => start(ws, a.start),
    }
}

fn start(ws: &Workspace, a: StartArgs) -> Result<i32> {
    let preset_path = ws.preset(a.preset.as_deref().expect("clap requires it"))?;
    let grid = a
        .grid
        .iter()
        .map(|g| sweep::parse_axis(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!(e))?;
    let cfg = if a.slurm.slurm {
        Some(a.slurm.config(ws)?)
    } else {
        None
    };
    if a.max_parallel == Some(0) {
        bail!("--max-parallel must be at least 1");
    }
    let mut base = a.set.clone();
    base.extend(super::train::device_override(&a.device));
    // every combination's preset is checked before anything is made
    let combos = sweep::combinations(&grid);
    let mut presets = vec![];
    for values in &combos {
        let overrides: Vec<String> = base.iter().chain(values).cloned().collect();
        match preset::load(&preset_path, &overrides) {
            Ok(p) => presets.push((p, overrides)),
            Err(e) => {
                eprintln!("with {}:", values.join(" "));
                for issue in &e.issues {
                    eprintln!("error: {issue}");
                }
                return Ok(1);
            }
        }
    }
    let name = super::train::run_name(&preset_path, "sweep");
    let sweeps = sweep::dir(&ws.root, "");
    let id = fresh_run_id(&sweeps, &format!("sweep-{name}"));
    let mut runs = vec![];
    let mut tasks = vec![];
    for (i, ((p, overrides), values)) in presets.iter().zip(&combos).enumerate() {
        let root = absolute(&ws.runs().join(format!("{id}-{i}")));
        let tag = SweepTag {
            id: id.clone(),
            index: i,
            values: values.clone(),
        };
        let run = prepare_run(
            &root,
            p,
            &preset_path,
            overrides,
            Some(tag),
            a.max_steps,
            "",
        )?;
        tasks.push(Task {
            index: i,
            run: run.root.clone(),
            values: values.clone(),
        });
        runs.push(run);
    }
    let mut manifest = Manifest {
        id: id.clone(),
        preset: absolute(&preset_path),
        grid,
        tasks,
        launcher: if cfg.is_some() { "slurm" } else { "local" }.into(),
        max_parallel: a
            .max_parallel
            .or(if cfg.is_some() { None } else { Some(1) }),
        job: None,
        created: clock::now(),
    };
    sweep::write(&ws.root, &manifest)?;
    let dir = sweep::dir(&ws.root, &id);
    println!("sweep: {id} ({} runs)", runs.len());
    if let Some(cfg) = cfg {
        let roots: Vec<PathBuf> = runs.iter().map(|r| r.root.clone()).collect();
        let target = Target::Array {
            runs: &roots,
            max_parallel: manifest.max_parallel,
        };
        let submitted = super::submit::submit(
            ws,
            &dir,
            &format!("aiart-{id}"),
            &cfg,
            target,
            &runs,
            a.slurm.dry_run,
        );
        match submitted {
            Ok(Some(job)) => {
                manifest.job = Some(job.clone());
                sweep::write(&ws.root, &manifest)?;
                println!("Slurm job array {job}: `aiart sweep show {id}` follows it");
            }
            Ok(None) | Err(_) => {
                for r in &runs {
                    let _ = std::fs::remove_dir_all(&r.root);
                }
                let _ = std::fs::remove_dir_all(&dir);
                submitted?;
                eprintln!("dry run: nothing submitted, nothing kept");
            }
        }
        return Ok(0);
    }
    // the local queue outlives this shell, like a detached trainer
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("--workspace")
        .arg(absolute(&ws.root))
        .args(["sweep", "queue", &id]);
    let child = aiart::launch::local::spawn_detached(cmd, &dir.join("queue.log"))?;
    println!(
        "local queue pid {}: {} at a time; `aiart sweep show {id}` follows it",
        child.id(),
        manifest.max_parallel.unwrap_or(1)
    );
    Ok(0)
}

/// The local queue (`aiart sweep queue ID`, started detached by `sweep` itself).
fn queue(ws: &Workspace, name: &str) -> Result<i32> {
    let m = sweep::resolve(&ws.root, name).map_err(|e| anyhow!(e))?;
    aiart::launch::queue::run(&ws.root, &m, &std::env::current_exe()?)?;
    Ok(0)
}

/// The sweep's runs as the runs list sees them (Slurm state included), by task index.
fn runs_of(ws: &Workspace, m: &Manifest) -> Vec<(Task, Option<RunSummary>)> {
    let all = aiart::launch::list_runs(&ws.runs());
    m.tasks
        .iter()
        .map(|t| {
            let r = all
                .iter()
                .find(|r| {
                    r.sweep
                        .as_ref()
                        .is_some_and(|s| s.id == m.id && s.index == t.index)
                })
                .cloned();
            (t.clone(), r)
        })
        .collect()
}

fn counts(runs: &[(Task, Option<RunSummary>)]) -> String {
    let mut c: Vec<(String, usize)> = vec![];
    for (_, r) in runs {
        let st = r
            .as_ref()
            .map(|r| r.state.to_string())
            .unwrap_or_else(|| "missing".into());
        match c.iter_mut().find(|(s, _)| *s == st) {
            Some((_, n)) => *n += 1,
            None => c.push((st, 1)),
        }
    }
    c.iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_sweeps(ws: &Workspace) -> Result<i32> {
    let all = sweep::list(&ws.root);
    if all.is_empty() {
        println!("no sweeps in {}", ws.root.join("sweeps").display());
        return Ok(0);
    }
    println!("{:<44} {:<6} {:>4}  states", "sweep", "where", "runs");
    for m in &all {
        let runs = runs_of(ws, m);
        println!(
            "{:<44} {:<6} {:>4}  {}",
            m.id,
            m.launcher,
            m.tasks.len(),
            counts(&runs)
        );
    }
    Ok(0)
}

fn show(ws: &Workspace, name: &str) -> Result<i32> {
    let m = sweep::resolve(&ws.root, name).map_err(|e| anyhow!(e))?;
    println!("sweep    {}\npreset   {}", m.id, m.preset.display());
    match &m.job {
        Some(j) => println!(
            "where    Slurm job array {j}, {} at a time",
            m.max_parallel.map_or("all".into(), |p| p.to_string())
        ),
        None => println!(
            "where    {}, {} at a time",
            m.launcher,
            m.max_parallel.unwrap_or(1)
        ),
    }
    for a in &m.grid {
        println!("grid     {} = {}", a.key, a.values.join(", "));
    }
    let runs = runs_of(ws, &m);
    println!("states   {}", counts(&runs));
    println!(
        "{:>4}  {:<32} {:<24} {:>13}  losses",
        "task", "values", "state", "step"
    );
    for (t, r) in &runs {
        let values = sweep::label(&t.values);
        match r {
            Some(r) => println!(
                "{:>4}  {:<32} {:<24} {:>13}  {}",
                t.index,
                values,
                super::runs::state_text(r),
                r.steps_text(),
                super::runs::losses_line(r, usize::MAX)
            ),
            None => println!(
                "{:>4}  {:<32} missing ({})",
                t.index,
                values,
                t.run.display()
            ),
        }
    }
    Ok(0)
}

fn stop(ws: &Workspace, name: &str, timeout: u64) -> Result<i32> {
    let m = sweep::resolve(&ws.root, name).map_err(|e| anyhow!(e))?;
    std::fs::write(sweep::stop_marker(&ws.root, &m.id), b"stop\n")?;
    let mut code = 0;
    for (t, r) in runs_of(ws, &m) {
        let Some(r) = r else { continue };
        if !r.pending_or_alive() {
            continue;
        }
        if r.job.is_none() && r.state == UserState::Queued {
            // the local queue will not start it; say so now in case no queue is running
            let run = RunDir::open(&r.path);
            let s = run.status_now(
                RunState::Stopped,
                0,
                0,
                0,
                "the sweep was stopped before this run started",
            );
            run.write_status(&s)?;
            println!("task {}: stopped before it started", t.index);
            continue;
        }
        print!("task {}: ", t.index);
        match super::runs::stop(ws, &r.path.to_string_lossy(), timeout) {
            Ok(c) => code = code.max(c),
            Err(e) => {
                eprintln!("{e:#}");
                code = 1;
            }
        }
    }
    Ok(code)
}
