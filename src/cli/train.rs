//! `aiart train PRESET`: a headless run into a run directory; `--detach` leaves it running in its
//! own session; `--resume RUN` continues a run from its newest checkpoint.

pub use super::train_run::Place;
use super::train_run::{failed, open_run, running_status, train_device};
use aiart::launch::local;
use aiart::nst::setup;
use aiart::preset::{self, live, GanPreset, NstPreset, Preset};
use aiart::run::dir::new_run_id;
use aiart::run::lock::RunLock;
use aiart::run::session::{source_of, Session};
use aiart::run::{list, RunDir, RunInfo, RunState};
use aiart::train::gan::{self, GanTrainer};
use aiart::train::nst::{train, NstRun, NstTrainer, RunOptions};
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
    #[command(flatten)]
    pub slurm: super::submit::SlurmArgs,
}

/// `--device D` as an override of the preset.
pub fn device_override(device: &Option<String>) -> Option<String> {
    device
        .as_ref()
        .map(|d| format!("train.device={}", toml::Value::String(d.clone())))
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

/// The size rules against the images at hand, for a run started elsewhere (detached, Slurm): false
/// when they fail (printed, one line per file). The foreground trainer checks them itself.
fn sizes_fit(ws: &Workspace, preset: &Preset) -> bool {
    if !inputs_there(ws, preset) {
        return false;
    }
    let p = match preset {
        Preset::Gan(p) => p,
        Preset::FastStyle(p) => return super::train_fast::inputs_fit(ws, p),
        Preset::Nst(_) => return true,
    };
    let root = aiart::workspace::resolve_path(&ws.root, &p.data.dataroot);
    if !root.is_dir() {
        return true;
    }
    let r = aiart::data::sizes::check(p, &root);
    for (f, what) in &r.problems {
        eprintln!("error: {}: {what}", f.display());
    }
    r.problems.is_empty()
}

/// Every input file and folder the preset names is there (`preset check` asks the same); false
/// when one is not (printed, one line each, naming its field), before any run directory exists.
fn inputs_there(ws: &Workspace, preset: &Preset) -> bool {
    let missing = aiart::data::fetch::preset_missing_inputs(preset, &ws.root);
    for m in &missing {
        eprintln!("error: {m}");
    }
    missing.is_empty()
}

pub fn run(ws: &Workspace, mut a: TrainArgs) -> Result<i32> {
    a.preset = a.preset.map(|p| ws.preset(&p)).transpose()?;
    if a.slurm.slurm {
        return submit(ws, &a);
    }
    if a.detach {
        return detach(ws, &a);
    }
    if let Some(r) = a.resume.clone() {
        a.max_steps = a
            .max_steps
            .or_else(|| super::submit::queued_max_steps(ws, &r));
        return resume(ws, &r, &a);
    }
    let preset_path = a.preset.clone().expect("clap requires it");
    let Some((preset, overrides)) = load_args_preset(&preset_path, &a) else {
        return Ok(1);
    };
    if !inputs_there(ws, &preset) {
        return Ok(1);
    }
    let name = run_name(&preset_path, "run");
    let state = match preset {
        Preset::Nst(p) => {
            let opts = RunOptions {
                max_steps: a.max_steps,
                output: None,
                quiet: a.quiet,
            };
            let place = Place::New(a.run_dir);
            run_nst(ws, &p, &preset_path, &overrides, &name, place, &opts)?.1
        }
        Preset::Gan(p) => {
            run_gan(
                ws,
                &p,
                &preset_path,
                &overrides,
                &name,
                Place::New(a.run_dir),
                a.max_steps,
                a.quiet,
            )?
            .1
        }
        Preset::FastStyle(p) => {
            super::train_fast::run_fast(
                ws,
                &p,
                &preset_path,
                &overrides,
                &name,
                Place::New(a.run_dir),
                a.max_steps,
                a.quiet,
            )?
            .1
        }
    };
    Ok(exit_code(state))
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

/// Loads everything (all errors before any work), creates the run directory and trains.
#[allow(clippy::too_many_arguments)]
pub fn run_nst(
    ws: &Workspace,
    p: &NstPreset,
    preset_path: &Path,
    overrides: &[String],
    name: &str,
    place: Place,
    opts: &RunOptions,
) -> Result<(RunDir, RunState)> {
    let device = train_device(&p.train.device, p.train.tf32)?;
    let prepared = setup::prepare(p, &ws.root, &device)?;
    for w in &prepared.warnings {
        eprintln!("warning: {w}");
    }
    let place = match place {
        Place::New(None) => Place::New(Some(ws.runs().join(new_run_id(name)))),
        p => p,
    };
    let (run, lock) = open_run(
        place,
        "nst",
        preset_path,
        overrides,
        &device,
        &toml::to_string_pretty(&p.effective())?,
    )?;
    run.append_event(
        "started",
        &format!("nst on {}", aiart::device::describe(&device)),
    )?;
    for w in &prepared.warnings {
        run.append_event("warning", w)?;
    }
    println!("run: {}", run.root.display());
    let total = aiart::run::ending::planned_steps(p.total_iterations(), opts.max_steps);
    let session = Session::start(
        run.clone(),
        lock,
        source_of(preset_path, overrides),
        running_status(&run, 0, 0, total, opts.max_steps),
        aiart::launch::attempt_launcher(&run),
    )?;
    session.measure(1, aiart::device::gpu_probe(&device, &p.train.device));
    let r = NstRun {
        trainer: NstTrainer::new(prepared, p)?,
        preset: p.effective(),
        workspace: ws.root.clone(),
    };
    match train(session, r, opts, None) {
        Ok(state) => Ok((run, state)),
        Err(e) => failed(&run, total, e),
    }
}

/// pix2pix / CycleGAN: dataset and networks checked first, then the run directory and the loop.
#[allow(clippy::too_many_arguments)]
pub fn run_gan(
    ws: &Workspace,
    p: &GanPreset,
    preset_path: &Path,
    overrides: &[String],
    name: &str,
    place: Place,
    max_steps: Option<u64>,
    quiet: bool,
) -> Result<(RunDir, RunState)> {
    let device = train_device(&p.train.device, p.train.tf32)?;
    let trainer = GanTrainer::new(p, &ws.root, &device)?;
    for w in &trainer.warnings {
        eprintln!("warning: {w}");
    }
    let place = match place {
        Place::New(None) => Place::New(Some(ws.runs().join(new_run_id(name)))),
        p => p,
    };
    let (run, lock) = open_run(
        place,
        &p.kind,
        preset_path,
        overrides,
        &device,
        &toml::to_string_pretty(&p.effective())?,
    )?;
    let total = aiart::run::ending::planned_steps(trainer.total_steps(), max_steps);
    let capped = if total < trainer.total_steps() {
        format!(" (--max-steps; the schedule has {})", trainer.total_steps())
    } else {
        String::new()
    };
    run.append_event(
        "started",
        &format!(
            "{} on {}: {} images a epoch, {total} steps{capped}",
            p.kind,
            aiart::device::describe(&device),
            trainer.dataset_len
        ),
    )?;
    for w in &trainer.warnings {
        run.append_event("warning", w)?;
    }
    println!("run: {}", run.root.display());
    let session = Session::start(
        run.clone(),
        lock,
        source_of(preset_path, overrides),
        running_status(&run, 0, 1, total, max_steps),
        aiart::launch::attempt_launcher(&run),
    )?;
    session.measure(
        p.data.batch_size as u64,
        aiart::device::gpu_probe(&device, &p.train.device),
    );
    match gan::train(session, trainer, max_steps, quiet, None) {
        Ok(state) => Ok((run, state)),
        Err(e) => failed(&run, total, e),
    }
}

/// `--set` with `--resume`: only what may change in a live run (preset/live.rs), and the changes
/// it makes to the run's preset; an error with what to do instead otherwise.
fn resume_changes(
    run: &RunDir,
    text: &str,
    set: &[String],
    device: &[String],
) -> Result<std::result::Result<Vec<live::Change>, String>> {
    let parse = |o: &[String]| preset::parse(text, &run.preset(), o);
    let before = parse(device).map_err(|e| anyhow!("{e}"))?;
    let all: Vec<String> = set.iter().chain(device).cloned().collect();
    let after = match parse(&all) {
        Ok(p) => p,
        Err(e) => {
            let lines: Vec<String> = e.issues.iter().map(|i| i.to_string()).collect();
            return Ok(Err(lines.join("\n")));
        }
    };
    let (changes, frozen) = live::classify(live::diff(
        &before.effective_value(),
        &after.effective_value(),
    ));
    if !frozen.is_empty() {
        return Ok(Err(format!(
            "--set {}: cannot change in a run that continues (architecture, data, sizes, device \
             and optimiser are fixed for a run's life): start a new run with `aiart train PRESET \
             --set …`. With --resume, --set takes what may change in a live run: learning rate, \
             schedule length ({}), loss weights and [log] intervals",
            frozen
                .iter()
                .map(|c| format!("{} ({} -> {})", c.field, c.old, c.new))
                .collect::<Vec<_>>()
                .join(", "),
            schedule_keys(before.kind())
        )));
    }
    Ok(Ok(changes))
}

/// The `--set` keys that set a kind's schedule length, for messages.
pub fn schedule_keys(kind: &str) -> &'static str {
    match kind {
        "fast_neural_style" => "train.epochs",
        "nst" => "train.iterations",
        _ => "train.n_epochs, train.n_epochs_decay",
    }
}

/// How to make a finished run train longer, for messages.
fn extend_hint(id: &str, kind: &str) -> String {
    if kind == "fast_neural_style" {
        format!("`aiart train --resume {id} --set train.epochs=N` continues it to N epochs")
    } else if kind == "nst" {
        format!("`aiart train --resume {id} --set train.iterations=N` continues it to N iterations")
    } else {
        format!(
            "`aiart train --resume {id} --set train.n_epochs=N` (or train.n_epochs_decay=N) \
             continues it to the longer schedule, with the learning rate the reference's \
             --continue_train --epoch_count would use"
        )
    }
}

/// Continues a run from its newest complete checkpoint, appending to its files. `--set` changes
/// what may change live first (a finished run continues to a longer schedule); a finished run
/// without one is left as it is.
fn resume(ws: &Workspace, name: &str, a: &TrainArgs) -> Result<i32> {
    let dir = list::resolve(&ws.runs(), name).map_err(|e| anyhow!(e))?;
    let run = RunDir::open(&dir);
    let info = run
        .read_info()
        .with_context(|| format!("{}: no run.json", dir.display()))?;
    if let Some(job) = aiart::launch::slurm::job::InJob::of(&run) {
        job.clear_previous_lock(&run);
    }
    let lock = match RunLock::acquire(&run) {
        Ok(l) => l,
        Err(e) if !a.set.is_empty() => bail!(
            "{e}\na live run takes changes without a restart: `aiart runs set {} FIELD=VALUE`, \
             or an edit of its preset file {}",
            run.id(),
            info.preset.display()
        ),
        Err(e) => bail!(e),
    };
    let status = run.read_status().ok();
    let text = std::fs::read_to_string(run.preset())
        .with_context(|| format!("{}: no preset.toml", run.root.display()))?;
    let device: Vec<String> = device_override(&a.device).into_iter().collect();
    let changes = match resume_changes(&run, &text, &a.set, &device)? {
        Ok(c) => c,
        Err(why) => {
            for line in why.lines() {
                eprintln!("error: {line}");
            }
            return Ok(1);
        }
    };
    // a run its schedule (or convergence) finished, rather than --max-steps
    let done = status
        .as_ref()
        .filter(|s| s.state == RunState::Finished && s.max_steps.is_none_or(|m| s.step < m));
    if let (Some(s), true) = (done, changes.is_empty()) {
        eprintln!(
            "run {} is finished ({}): nothing to continue. To train it longer, {}",
            run.id(),
            s.message,
            extend_hint(&run.id(), &info.kind)
        );
        return Ok(0);
    }
    RunDir::repair_jsonl(&run.metrics())?;
    RunDir::repair_jsonl(&run.events())?;
    let Some((step, ck)) = run.newest_complete_checkpoint()? else {
        write_resume_changes(&run, &text, &a.set, &changes)?;
        return start_over(ws, run, info, lock, a);
    };
    let mut overrides = a.set.clone();
    overrides.extend(device);
    let preset = preset::parse(&text, &run.preset(), &overrides).map_err(|e| anyhow!("{e}"))?;
    // a finished run goes on only where the new schedule is longer than what it did
    let too_short = |total: u64| -> Option<String> {
        (done.is_some() && total <= step).then(|| {
            format!(
                "run {} is finished at step {step}, and with {} its schedule has {total} steps: \
                 nothing to continue; {}",
                run.id(),
                live::describe(&changes),
                extend_hint(&run.id(), &info.kind)
            )
        })
    };
    let source = source_of(&info.preset, &info.overrides);
    let state = match preset {
        Preset::Nst(p) => {
            if let Some(why) = too_short(p.total_iterations()) {
                eprintln!("error: {why}");
                return Ok(1);
            }
            let resumed_msg = discard_past(&run, step, &ck)?;
            write_resume_changes(&run, &text, &a.set, &changes)?;
            let device = train_device(&p.train.device, p.train.tf32)?;
            // a coarse-to-fine run resumes inside the scale it stopped in
            let k = aiart::train::nst::scale_of(&p, step);
            let prepared = setup::prepare_scale(&p, &ws.root, &device, k, None)?;
            let warnings = prepared.warnings.clone();
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            let mut trainer = NstTrainer::new(prepared, &p)?;
            trainer.scale = k;
            trainer.load(&ck)?;
            let total = aiart::run::ending::planned_steps(p.total_iterations(), a.max_steps);
            println!("run: {}", run.root.display());
            run.append_event("resumed", &resumed_msg)?;
            for w in &warnings {
                run.append_event("warning", w)?;
            }
            let session = Session::start(
                run.clone(),
                lock,
                source,
                running_status(&run, step, 0, total, a.max_steps),
                aiart::launch::attempt_launcher(&run),
            )?;
            session.measure(1, aiart::device::gpu_probe(&device, &p.train.device));
            let opts = RunOptions {
                max_steps: a.max_steps,
                output: None,
                quiet: a.quiet,
            };
            match train(
                session,
                NstRun {
                    trainer,
                    preset: p.effective(),
                    workspace: ws.root.clone(),
                },
                &opts,
                Some(step),
            ) {
                Ok(s) => s,
                Err(e) => return failed(&run, total, e),
            }
        }
        Preset::Gan(p) => {
            let device = train_device(&p.train.device, p.train.tf32)?;
            let mut trainer = GanTrainer::new(&p, &ws.root, &device)?;
            if let Some(why) = too_short(trainer.total_steps()) {
                eprintln!("error: {why}");
                return Ok(1);
            }
            for w in &trainer.warnings {
                eprintln!("warning: {w}");
            }
            let resumed_msg = discard_past(&run, step, &ck)?;
            write_resume_changes(&run, &text, &a.set, &changes)?;
            trainer.load(&ck)?;
            let total = aiart::run::ending::planned_steps(trainer.total_steps(), a.max_steps);
            let epoch = step / trainer.batches_per_epoch() + 1;
            println!("run: {}", run.root.display());
            run.append_event("resumed", &resumed_msg)?;
            for w in &trainer.warnings {
                run.append_event("warning", w)?;
            }
            let session = Session::start(
                run.clone(),
                lock,
                source,
                running_status(&run, step, epoch, total, a.max_steps),
                aiart::launch::attempt_launcher(&run),
            )?;
            session.measure(
                p.data.batch_size as u64,
                aiart::device::gpu_probe(&device, &p.train.device),
            );
            match gan::train(session, trainer, a.max_steps, a.quiet, Some(step)) {
                Ok(s) => s,
                Err(e) => return failed(&run, total, e),
            }
        }
        Preset::FastStyle(p) => {
            let r = super::train_fast::Resume {
                run: &run,
                lock,
                source,
                step,
                checkpoint: &ck,
                max_steps: a.max_steps,
                quiet: a.quiet,
            };
            let before = || -> Result<String> {
                let msg = discard_past(&run, step, &ck)?;
                write_resume_changes(&run, &text, &a.set, &changes)?;
                Ok(msg)
            };
            match super::train_fast::resume_fast(ws, &p, r, &too_short, &before)? {
                Some(s) => s,
                None => return Ok(1),
            }
        }
    };
    Ok(exit_code(state))
}

/// The killed trainer's records past the checkpoint are replayed: they move out first. Returns
/// the `resumed` event's message.
fn discard_past(run: &RunDir, step: u64, ck: &Path) -> Result<String> {
    let moved = run.discard_after(step)?;
    Ok(format!(
        "from {} (step {step}); moved {} metrics records and {} samples past step {step} to \
         metrics.discarded.jsonl and samples/discarded/",
        ck.display(),
        moved.records,
        moved.samples
    ))
}

/// `--resume --set`: the run's preset takes the changes (without any --device), said in an event.
fn write_resume_changes(
    run: &RunDir,
    text: &str,
    set: &[String],
    changes: &[live::Change],
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let p = preset::parse(text, &run.preset(), set).map_err(|e| anyhow!("{e}"))?;
    run.write_preset(&p.to_toml())?;
    let what = live::describe(changes);
    eprintln!("preset changed: {what}");
    run.append_event("preset_applied", &format!("--resume --set: {what}"))?;
    Ok(())
}

/// A run without a complete checkpoint (queued, or killed before its first one) starts from step 0
/// with its own effective preset; records a killed trainer left move to the discard files.
fn start_over(
    ws: &Workspace,
    run: RunDir,
    info: RunInfo,
    lock: RunLock,
    a: &TrainArgs,
) -> Result<i32> {
    let moved = run.discard_all()?;
    let text = std::fs::read_to_string(run.preset())
        .with_context(|| format!("{}: no preset.toml", run.root.display()))?;
    let overrides: Vec<String> = device_override(&a.device).into_iter().collect();
    let preset = preset::parse(&text, &run.preset(), &overrides).map_err(|e| anyhow!("{e}"))?;
    if moved.records + moved.samples > 0 {
        run.append_event(
            "resumed",
            &format!(
                "no complete checkpoint: starting over from step 0; moved {} metrics records and                  {} samples to metrics.discarded.jsonl and samples/discarded/",
                moved.records, moved.samples
            ),
        )?;
    }
    let name = run.id();
    let (preset_path, start_overrides) = (info.preset.clone(), info.overrides.clone());
    let place = Place::Prepared(run.root.clone(), Box::new(info), lock);
    let root = run.root.clone();
    let result = match preset {
        Preset::Nst(p) => {
            let opts = RunOptions {
                max_steps: a.max_steps,
                output: None,
                quiet: a.quiet,
            };
            run_nst(ws, &p, &preset_path, &start_overrides, &name, place, &opts)
        }
        Preset::Gan(p) => run_gan(
            ws,
            &p,
            &preset_path,
            &start_overrides,
            &name,
            place,
            a.max_steps,
            a.quiet,
        ),
        Preset::FastStyle(p) => super::train_fast::run_fast(
            ws,
            &p,
            &preset_path,
            &start_overrides,
            &name,
            place,
            a.max_steps,
            a.quiet,
        ),
    };
    match result {
        Ok((_, state)) => Ok(exit_code(state)),
        // an error before the run started (a dataset missing on this node …): the run says so
        Err(e) => {
            let run = RunDir::open(root);
            match run.read_status() {
                Ok(s) if s.state == RunState::Queued => failed(&run, 0, e),
                _ => Err(e),
            }
        }
    }
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
            .unwrap_or_else(|| ws.runs().join(new_run_id(&name))),
    );
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
                .unwrap_or_else(|| ws.runs().join(new_run_id(&name)));
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
