//! `aiart runs …`: list and inspect the workspace's runs, and steer live ones through
//! `control.jsonl` (the trainer acts between steps and answers in `events.jsonl`).

use aiart::run::control;
use aiart::run::list::{self, RunSummary, UserState};
use aiart::run::{clock, RunDir};
use aiart::workspace::Workspace;
use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use std::time::{Duration, Instant};

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// Every run of the workspace: kind, state, step/total, latest losses, age
    List {
        /// One JSON array of runs (id, path, kind, state, step, total_steps, epoch, losses, updated)
        #[arg(long)]
        json: bool,
    },
    /// One run in detail: status, latest losses, recent events, checkpoints
    Show {
        /// A run id (or a unique prefix of it) or a run folder
        run: String,
        /// The run as one JSON object (the fields of `runs list --json`)
        #[arg(long)]
        json: bool,
    },
    /// Pause a live run at its next step
    Pause(Steer),
    /// Resume a paused run
    Resume(Steer),
    /// Stop a live run (it writes a checkpoint and a sample first). A Slurm run that does not
    /// answer within --timeout gets SIGTERM (checkpoint and exit), then scancel; a queued job is cancelled.
    Stop(Steer),
    /// Write a checkpoint now
    Checkpoint(Steer),
    /// Write a sample now
    Sample(Steer),
    /// Put away runs that are over: moved whole to archive/runs/ (kept, out of the lists), or with
    /// --delete deleted for good (asks first). A live or queued run is refused: stop it first.
    #[command(alias = "archive")]
    Rm {
        /// Run ids (or unique prefixes of them) or run folders
        #[arg(required = true)]
        runs: Vec<String>,
        /// Delete the runs for good instead of moving them to archive/runs/
        #[arg(long)]
        delete: bool,
        /// With --delete: do not ask first
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Write the run's results page: one self-contained HTML file to share
    ///
    /// Loss curves as SVG with every recorded point, samples per checkpoint embedded (at most
    /// 512 px a side and 48 images), the preset, timing, kind, state and device; it opens in a
    /// browser without a server.
    Report {
        /// A run id (or a unique prefix of it) or a run folder
        run: String,
        /// Where to write it (default: report.html in the run's folder)
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        /// Replace an existing file that is not an earlier report (a report is always replaced)
        #[arg(long)]
        force: bool,
    },
    /// Change live preset fields of a running run, as `section.key=value` (same rules as editing the preset)
    Set {
        /// A run id (or a unique prefix of it) or a run folder
        run: String,
        /// section.key=value …
        #[arg(required = true)]
        fields: Vec<String>,
        /// Seconds to wait for the trainer's answer
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
}

#[derive(Args, Debug)]
pub struct Steer {
    /// A run id (or a unique prefix of it) or a run folder
    pub run: String,
    /// Seconds to wait for the trainer's answer
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

/// The run's latest losses in the reference's order (pix2pix `G_GAN G_L1 D_real D_fake`, …), at
/// most `max` of them.
pub fn losses_line(r: &RunSummary, max: usize) -> String {
    let mut names: Vec<&String> = r.losses.keys().filter(|k| !k.contains('/')).collect();
    aiart::human::loss_order(&mut names);
    names
        .into_iter()
        .take(max)
        .map(|k| (k, &r.losses[k.as_str()]))
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_f64()
                    .map(aiart::human::loss)
                    .unwrap_or_else(|| v.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(ws: &Workspace, cmd: RunsCommand) -> Result<i32> {
    match cmd {
        RunsCommand::List { json } => {
            let runs = aiart::launch::list_runs(&ws.runs());
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else if runs.is_empty() {
                println!("no runs in {}", ws.runs().display());
            } else {
                // columns as wide as their longest value (`fast_neural_style` is 17 letters)
                let idw = runs.iter().map(|r| r.id.chars().count()).max().unwrap_or(0);
                let idw = idw.max(40);
                let kw = runs
                    .iter()
                    .map(|r| r.kind.as_str().chars().count())
                    .max()
                    .unwrap_or(0);
                let kw = kw.max("kind".len());
                println!(
                    "{:<idw$} {:<kw$} {:<24} {:>15} {:>5}  losses",
                    "run", "kind", "state", "step", "age"
                );
                for r in &runs {
                    println!(
                        "{:<idw$} {:<kw$} {:<24} {:>15} {:>5}  {}",
                        r.id,
                        r.kind,
                        state_text(r),
                        r.steps_text(),
                        clock::ago(r.updated),
                        match &r.scale {
                            Some(sc) => format!("{sc}  {}", losses_line(r, usize::MAX)),
                            None => losses_line(r, usize::MAX),
                        }
                    );
                }
            }
            Ok(0)
        }
        RunsCommand::Show { run, json } => show(ws, &run, json),
        RunsCommand::Report { run, output, force } => report(ws, &run, output, force),
        RunsCommand::Rm { runs, delete, yes } => super::runs_rm::rm(ws, &runs, delete, yes),
        RunsCommand::Pause(s) => steer(ws, &s.run, "pause", &[], &["paused"], s.timeout),
        RunsCommand::Resume(s) => steer(ws, &s.run, "resume", &[], &["resumed"], s.timeout),
        RunsCommand::Stop(s) => stop(ws, &s.run, s.timeout),
        RunsCommand::Checkpoint(s) => {
            steer(ws, &s.run, "checkpoint", &[], &["checkpoint"], s.timeout)
        }
        RunsCommand::Sample(s) => steer(ws, &s.run, "sample", &[], &["sample"], s.timeout),
        RunsCommand::Set {
            run,
            fields,
            timeout,
        } => steer(
            ws,
            &run,
            "set",
            &fields,
            &["preset_applied", "preset_rejected"],
            timeout,
        ),
    }
}

/// The state with what it needs said: `queued (Resources)`, `queued (stuck: PartitionConfig)`.
pub fn state_text(r: &RunSummary) -> String {
    if r.detail.is_empty() || r.state == UserState::Running {
        r.state.to_string()
    } else {
        format!("{} ({})", r.state, r.detail)
    }
}

/// `runs stop`: through control.jsonl; a Slurm run that does not answer in time gets SIGTERM on
/// its batch step (checkpoint and exit), then `scancel`; a job still queued is just cancelled.
pub fn stop(ws: &Workspace, name: &str, timeout: u64) -> Result<i32> {
    let dir = list::resolve(&ws.runs(), name).map_err(|e| anyhow!(e))?;
    let r = aiart::launch::summarize(&dir)
        .ok_or_else(|| anyhow!("{}: not a run (no run.json)", dir.display()))?;
    let Some(job) = r.job.clone() else {
        return steer(ws, name, "stop", &[], &["stopped"], timeout);
    };
    if matches!(r.state, UserState::Queued | UserState::Requeued) {
        aiart::launch::slurm::cancel(&job, None).map_err(|e| anyhow!(e))?;
        println!(
            "cancelled: Slurm job {job} of run {} was still queued",
            r.id
        );
        return Ok(0);
    }
    if !r.alive() {
        bail!(
            "run {} is not live (state: {}); nothing to stop",
            r.id,
            r.state
        );
    }
    match steer(ws, name, "stop", &[], &["stopped"], timeout) {
        Ok(code) => return Ok(code),
        Err(e) => eprintln!("{e:#}"),
    }
    let ended = |secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            let s = RunDir::open(&dir).read_status().ok();
            if s.is_some_and(|s| !matches!(s.state.as_str(), "running" | "paused" | "queued")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };
    eprintln!("sending SIGTERM to the trainer of Slurm job {job} (it checkpoints and exits)");
    aiart::launch::slurm::cancel(&job, Some("TERM")).map_err(|e| anyhow!(e))?;
    if ended(timeout) {
        let s = RunDir::open(&dir).read_status()?;
        println!("{}: {}", s.state.as_str(), s.message);
        return Ok(0);
    }
    eprintln!("no end within {timeout} s: scancel {job}");
    aiart::launch::slurm::cancel(&job, None).map_err(|e| anyhow!(e))?;
    println!("cancelled: Slurm job {job}");
    Ok(0)
}

fn report(
    ws: &Workspace,
    name: &str,
    output: Option<std::path::PathBuf>,
    force: bool,
) -> Result<i32> {
    let dir = list::resolve(&ws.runs(), name).map_err(|e| anyhow!(e))?;
    let out = aiart::report::output_path(&dir, output.as_deref());
    aiart::report::check_output(&dir, &out, force)?;
    let r = aiart::launch::summarize(&dir)
        .ok_or_else(|| anyhow!("{}: not a run (no run.json)", dir.display()))?;
    let written = aiart::report::write(&r, &out, force)?;
    println!("{}", written.display());
    Ok(0)
}

fn show(ws: &Workspace, name: &str, json: bool) -> Result<i32> {
    let dir = list::resolve(&ws.runs(), name).map_err(|e| anyhow!(e))?;
    let r = aiart::launch::summarize(&dir)
        .ok_or_else(|| anyhow!("{}: not a run (no run.json)", dir.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(0);
    }
    let run = RunDir::open(&dir);
    let info = run.read_info()?;
    println!(
        "run      {}\npath     {}\nkind     {}\nstate    {}",
        r.id,
        dir.display(),
        r.kind,
        state_text(&r)
    );
    if let Some(rec) = aiart::launch::slurm::record::read(&run) {
        println!(
            "slurm    job {} (output {}), requeues at most {}",
            rec.job,
            rec.output.display(),
            rec.max_requeues
        );
        for a in &rec.attempts {
            println!(
                "  attempt {} (job {}) on {}: steps {}..{} {} {}",
                a.restart,
                a.job_id,
                a.node,
                a.from_step,
                a.to_step.map(|s| s.to_string()).unwrap_or_default(),
                clock::iso(a.start),
                a.state.as_deref().unwrap_or("")
            );
        }
    }
    match &r.scale {
        Some(sc) => println!("step     {}/{} ({sc})", r.step, r.total_steps),
        None => println!("step     {}/{} (epoch {})", r.step, r.total_steps, r.epoch),
    }
    println!(
        "trainer  pid {} on {} ({}), updated {} ago",
        r.pid,
        r.host,
        info.device,
        clock::ago(r.updated)
    );
    match (r.gpu_text(), r.speed_text()) {
        (Some(gpu), _) => println!("gpu      {gpu}"),
        (None, Some(speed)) => println!("speed    {speed}"),
        (None, None) => {}
    }
    println!("preset   {}", info.preset.display());
    println!("started  {}", info.started_iso);
    if let Ok(s) = run.read_status() {
        if !s.message.is_empty() {
            println!("message  {}", s.message);
        }
        for line in s.cuda_ops.iter().flat_map(|ops| ops.lines()) {
            println!("{line}");
        }
    }
    println!("losses   {}", losses_line(&r, 100));
    let cks = run.list_checkpoints()?;
    println!(
        "checkpoints ({}): {}",
        cks.len(),
        cks.iter()
            .map(|c| c.0.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let events = RunDir::read_jsonl(&run.events())?;
    // a video preset's newest temporal error (measured at each sample)
    if let Some(e) = events.iter().rev().find(|e| e["kind"] == "temporal") {
        println!("flicker  {}", e["message"].as_str().unwrap_or(""));
    }
    println!("events (latest {}):", events.len().min(8));
    for e in events.iter().rev().take(8).rev() {
        println!(
            "  {} {:<16} {}",
            clock::ago(e["time"].as_f64().unwrap_or(0.0)),
            e["kind"].as_str().unwrap_or(""),
            e["message"].as_str().unwrap_or("")
        );
    }
    Ok(0)
}

/// Sends a command and waits for the trainer's answer.
fn steer(
    ws: &Workspace,
    name: &str,
    command: &str,
    args: &[String],
    answers: &[&str],
    timeout: u64,
) -> Result<i32> {
    let dir = list::resolve(&ws.runs(), name).map_err(|e| anyhow!(e))?;
    let r = aiart::launch::summarize(&dir)
        .ok_or_else(|| anyhow!("{}: not a run (no run.json)", dir.display()))?;
    if !r.alive() {
        bail!(
            "run {} is not live (state: {}); nothing to {command}{}",
            r.id,
            r.state,
            match r.state.as_str() {
                "crashed" => format!(" — continue it with `aiart train --resume {}`", r.id),
                _ if command == "set" => format!(
                    " — a run that is not live takes its changes when it continues: \
                     `aiart train --resume {} --set {}` (a finished run trains on to a longer \
                     {})",
                    r.id,
                    args.join(" --set "),
                    aiart::train::resume::schedule_keys(r.kind).replace(", ", " / ")
                ),
                _ => String::new(),
            }
        );
    }
    let run = RunDir::open(&dir);
    let id = control::send(&run, command, args)?;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut last_check = Instant::now();
    loop {
        let events = RunDir::read_jsonl(&run.events())?;
        if let Some(e) = events
            .iter()
            .find(|e| e.get("request").and_then(|v| v.as_str()) == Some(id.as_str()))
        {
            let kind = e["kind"].as_str().unwrap_or("");
            let message = e["message"].as_str().unwrap_or("");
            println!("{kind}: {message}");
            return Ok(
                if answers.first() == Some(&kind) || (command != "set" && answers.contains(&kind)) {
                    0
                } else {
                    1
                },
            );
        }
        if last_check.elapsed() > Duration::from_secs(1) {
            last_check = Instant::now();
            let now = aiart::launch::summarize(&dir);
            if !now.as_ref().is_some_and(|s| s.alive()) {
                bail!(
                    "the trainer of run {} is gone (state: {}) before answering `{command}`",
                    r.id,
                    now.map(|s| s.state.to_string()).unwrap_or_default()
                );
            }
        }
        if Instant::now() > deadline {
            bail!(
                "no answer from the trainer of run {} (pid {}) within {timeout} s; it acts between steps and a step may take longer — the command stays queued in control.jsonl",
                r.id,
                r.pid
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
