//! The one resume of every kind (`aiart train --resume RUN`, a Slurm job's attempt, a sweep's
//! queue): continues a run from its newest complete checkpoint, or a chosen one (`--from-step N`),
//! appending to its files, with the
//! `--set` changes a live run may take, through the kind's trainer (a `BatchTrainer` and the one
//! batch loop, or style transfer's own loop); a run without a checkpoint starts over from step 0
//! through `train::start`.

use crate::nst::setup;
use crate::preset::{self, live, Kind, NstPreset, Preset};
use crate::run::follow::source_of;
use crate::run::lock::RunLock;
use crate::run::{list, RunDir, RunInfo, RunState};
use crate::train::batch::{self, BatchTrainer};
use crate::train::fast::FastTrainer;
use crate::train::gan::GanTrainer;
use crate::train::nst::{NstRun, NstTrainer, RunOptions};
use crate::train::start::{
    begin, device_of, failed, running_status, say_how_it_ended, start, train_device,
    AttemptLauncher, Launch, Place,
};
use crate::workspace::Workspace;
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;

/// How a `--resume` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resumed {
    /// The run trained on and ended in this state
    Ran(RunState),
    /// A finished run asked to go on without a change: left as it is (said on stderr)
    NothingToDo,
    /// Refused before anything changed (said on stderr)
    Refused,
}

/// What `--resume` takes from the command line.
pub struct ResumeArgs<'a> {
    /// `--set`: only what may change in a live run
    pub set: &'a [String],
    /// `--device` as an override of the preset (`train.device="cuda:0"`), or none
    pub device: &'a [String],
    pub max_steps: Option<u64>,
    /// `--from-step N`: resume from the checkpoint of step N instead of the newest (the
    /// reference's `--continue_train --epoch N`); what the run holds past it moves out
    pub from_step: Option<u64>,
    pub quiet: bool,
    /// Before the run's lock is taken: a launcher's own clean-up (a Slurm job takes over the
    /// lock its previous attempt left); the caller passes `launch::before_lock`
    pub before_lock: fn(&RunDir),
    pub launcher: AttemptLauncher,
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
pub fn schedule_keys(kind: Kind) -> &'static str {
    match kind {
        Kind::FastStyle => "train.epochs",
        Kind::Nst => "train.iterations",
        Kind::Pix2Pix | Kind::CycleGan => "train.n_epochs, train.n_epochs_decay",
    }
}

/// How to make a finished run train longer, for messages.
fn extend_hint(id: &str, kind: Kind) -> String {
    if kind == Kind::FastStyle {
        format!("`aiart train --resume {id} --set train.epochs=N` continues it to N epochs")
    } else if kind == Kind::Nst {
        format!("`aiart train --resume {id} --set train.iterations=N` continues it to N iterations")
    } else {
        format!(
            "`aiart train --resume {id} --set train.n_epochs=N` (or train.n_epochs_decay=N) \
             continues it to the longer schedule, with the learning rate the reference's \
             --continue_train --epoch_count would use"
        )
    }
}

/// Continues run `name` (an id or a folder) from its newest complete checkpoint (`a.from_step`:
/// its checkpoint of that step, the ones past it moved to `checkpoints/discarded/` with the
/// metrics and samples past it; a step without a complete, readable checkpoint is refused before
/// anything changes, naming the steps that have one), appending to its
/// files, through the same start as a new run: the kind's trainer (a [`BatchTrainer`], or style
/// transfer's loop), loaded from the checkpoint. `--set` changes what may change live first (a
/// finished run continues to a longer schedule); a finished run without one is left as it is. A
/// run without a complete checkpoint starts over from step 0. Errors: no such run, no run.json or
/// preset.toml, the lock held by a live trainer, every checkpoint damaged, and the trainer's own.
pub fn resume(ws: &Workspace, name: &str, a: &ResumeArgs) -> Result<Resumed> {
    let dir = list::resolve(&ws.runs(), name).map_err(|e| anyhow!(e))?;
    let run = RunDir::open(&dir);
    let info = run
        .read_info()
        .with_context(|| format!("{}: no run.json", dir.display()))?;
    (a.before_lock)(&run);
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
    let device = a.device;
    let changes = match resume_changes(&run, &text, a.set, device)? {
        Ok(c) => c,
        Err(why) => {
            for line in why.lines() {
                eprintln!("error: {line}");
            }
            return Ok(Resumed::Refused);
        }
    };
    // the chosen checkpoint, before anything changes; a step without one is refused
    let chosen = match a.from_step {
        Some(n) => Some((
            n,
            run.checkpoint_at(n)
                .map_err(|e| anyhow!("--from-step {n}: {e}"))?,
        )),
        None => None,
    };
    // a run its schedule (or convergence) finished, rather than --max-steps
    let done = status
        .as_ref()
        .filter(|s| s.state == RunState::Finished && s.max_steps.is_none_or(|m| s.step < m));
    if let (Some(s), true, None) = (done, changes.is_empty(), &chosen) {
        eprintln!(
            "run {} is finished ({}): nothing to continue. To train it longer, {}",
            run.id(),
            s.message,
            extend_hint(&run.id(), info.kind)
        );
        return Ok(Resumed::NothingToDo);
    }
    RunDir::repair_jsonl(&run.metrics())?;
    RunDir::repair_jsonl(&run.events())?;
    let found = match chosen {
        Some(c) => Some(c),
        None => readable_checkpoint(&run)?,
    };
    let Some((step, ck)) = found else {
        write_resume_changes(&run, &text, a.set, &changes)?;
        return start_over(ws, run, info, lock, a);
    };
    let mut overrides = a.set.to_vec();
    overrides.extend(device.iter().cloned());
    let preset = preset::parse(&text, &run.preset(), &overrides).map_err(|e| anyhow!("{e}"))?;
    // a finished run goes on only where the new schedule is longer than what it did
    let too_short = |total: u64| -> Option<String> {
        (done.is_some() && total <= step).then(|| {
            format!(
                "run {} is finished at step {step}, and with {} its schedule has {total} steps: \
                 nothing to continue; {}",
                run.id(),
                live::describe(&changes),
                extend_hint(&run.id(), info.kind)
            )
        })
    };
    let from = From {
        run: &run,
        held: (lock, source_of(&info.preset, &info.overrides)),
        step,
        checkpoint: &ck,
        // the killed trainer's records past the checkpoint move out, and the `--set` changes go
        // into the run's preset, once the new schedule is known to go on
        before: &|| -> Result<String> {
            let msg = discard_past(&run, step, &ck)?;
            write_resume_changes(&run, &text, a.set, &changes)?;
            Ok(msg)
        },
        too_short: &too_short,
    };
    match preset {
        Preset::Nst(p) => resume_nst(ws, &p, from, a),
        p @ Preset::Gan(_) => resume_batches::<GanTrainer>(ws, &p, from, a),
        p @ Preset::FastStyle(_) => resume_batches::<FastTrainer>(ws, &p, from, a),
    }
}

/// The checkpoint a run goes on from, and what happens before it does.
struct From<'a> {
    run: &'a RunDir,
    held: (RunLock, crate::run::follow::PresetSource),
    step: u64,
    checkpoint: &'a Path,
    /// Moves the past out and writes the `--set` changes; the `resumed` event's message
    before: &'a dyn Fn() -> Result<String>,
    /// Why a finished run has nothing to continue under a schedule of this many steps (None: go on)
    too_short: &'a dyn Fn(u64) -> Option<String>,
}

/// A batch trainer's resume: the trainer built (every input checked), the schedule checked,
/// the past moved out, the checkpoint loaded, then the loop from the batch after it.
fn resume_batches<T: BatchTrainer>(
    ws: &Workspace,
    p: &Preset,
    f: From,
    a: &ResumeArgs,
) -> Result<Resumed> {
    let (spec, tf32) = device_of(p);
    let device = train_device(spec, tf32)?;
    let mut trainer = T::new(p, &ws.root, &device)?;
    if let Some(why) = (f.too_short)(trainer.total_steps()) {
        eprintln!("error: {why}");
        return Ok(Resumed::Refused);
    }
    for w in trainer.warnings() {
        eprintln!("warning: {w}");
    }
    let resumed_msg = (f.before)()?;
    trainer.load(f.checkpoint)?;
    let (run, step) = (f.run, f.step);
    let total = crate::run::ending::planned_steps(trainer.total_steps(), a.max_steps);
    let epoch = step / trainer.steps_per_epoch() + 1;
    if !a.quiet {
        eprintln!("resumed at step {step}");
    }
    let session = begin(
        run,
        f.held,
        running_status(run, step, epoch, total, a.max_steps),
        ("resumed", &resumed_msg),
        trainer.warnings(),
        (trainer.batch_size(), &device, spec),
        a.launcher,
    )?;
    match batch::train(session, trainer, a.max_steps, a.quiet, Some(step)) {
        Ok(s) => {
            say_how_it_ended::<T>(run, s, a.quiet);
            Ok(Resumed::Ran(s))
        }
        Err(e) => failed(run, total, e),
    }
}

/// Style transfer's resume: inside the scale the checkpoint belongs to, its image and optimiser
/// state loaded, then its own loop.
fn resume_nst(ws: &Workspace, p: &NstPreset, f: From, a: &ResumeArgs) -> Result<Resumed> {
    if let Some(why) = (f.too_short)(p.total_iterations()) {
        eprintln!("error: {why}");
        return Ok(Resumed::Refused);
    }
    let (run, step) = (f.run, f.step);
    let resumed_msg = (f.before)()?;
    let device = train_device(&p.train.device, p.train.tf32)?;
    // a coarse-to-fine run resumes inside the scale it stopped in
    let k = crate::train::nst::scale_of(p, step);
    let prepared = setup::prepare_scale(p, &ws.root, &device, k, None)?;
    let warnings = prepared.warnings.clone();
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let mut trainer = NstTrainer::new(prepared, p)?;
    trainer.scale = k;
    trainer.load(f.checkpoint)?;
    let total = crate::run::ending::planned_steps(p.total_iterations(), a.max_steps);
    let session = begin(
        run,
        f.held,
        running_status(run, step, 0, total, a.max_steps),
        ("resumed", &resumed_msg),
        &warnings,
        (1, &device, &p.train.device),
        a.launcher,
    )?;
    let opts = RunOptions {
        max_steps: a.max_steps,
        output: None,
        quiet: a.quiet,
    };
    let r = NstRun {
        trainer,
        preset: p.effective(),
        workspace: ws.root.clone(),
    };
    match crate::train::nst::train(session, r, &opts, Some(step)) {
        Ok(s) => Ok(Resumed::Ran(s)),
        Err(e) => failed(run, total, e),
    }
}

/// The newest checkpoint that reads; newer damaged ones are set aside (`step-N.damaged/`, never
/// deleted), each said on stderr and in the run's events. A run whose every checkpoint is
/// damaged is not started over: that would throw its progress away.
fn readable_checkpoint(run: &RunDir) -> Result<Option<(u64, std::path::PathBuf)>> {
    let (ok, damaged) = run.newest_readable_checkpoint()?;
    if ok.is_none() && !damaged.is_empty() {
        let list: Vec<String> = damaged.iter().map(|d| d.why.clone()).collect();
        bail!(
            "run {}: no checkpoint reads, so it cannot resume: {}; copy a whole checkpoint back \
             into {} (or start a new run)",
            run.id(),
            list.join("; "),
            run.checkpoints().display()
        );
    }
    let from = ok.as_ref().map_or(0, |c| c.0);
    for d in &damaged {
        let kept = run.set_aside(d)?;
        let msg = format!(
            "checkpoint of step {} is damaged ({}): resuming from step {from}; it is kept as {}",
            d.step,
            d.why,
            kept.display()
        );
        eprintln!("warning: {msg}");
        run.append_event("warning", &msg)?;
    }
    Ok(ok)
}

/// The killed trainer's records past the checkpoint are replayed: they move out first. Returns
/// the `resumed` event's message.
fn discard_past(run: &RunDir, step: u64, ck: &Path) -> Result<String> {
    let moved = run.discard_after(step)?;
    let checkpoints = if moved.checkpoints > 0 {
        format!(
            ", and {} checkpoints past it to {}",
            moved.checkpoints,
            run.discarded_checkpoints().display()
        )
    } else {
        String::new()
    };
    Ok(format!(
        "from {} (step {step}); moved {} metrics records and {} samples past step {step} to \
         metrics.discarded.jsonl and samples/discarded/{checkpoints}",
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
    a: &ResumeArgs,
) -> Result<Resumed> {
    let moved = run.discard_all()?;
    let text = std::fs::read_to_string(run.preset())
        .with_context(|| format!("{}: no preset.toml", run.root.display()))?;
    let preset = preset::parse(&text, &run.preset(), a.device).map_err(|e| anyhow!("{e}"))?;
    if moved.records + moved.samples > 0 {
        run.append_event(
            "resumed",
            &format!(
                "no complete checkpoint: starting over from step 0; moved {} metrics records and \
                 {} samples to metrics.discarded.jsonl and samples/discarded/",
                moved.records, moved.samples
            ),
        )?;
    }
    let name = run.id();
    let root = run.root.clone();
    let launch = Launch {
        ws,
        preset_path: &info.preset.clone(),
        overrides: &info.overrides.clone(),
        name: &name,
        place: Place::Prepared(run.root.clone(), Box::new(info), lock),
        max_steps: a.max_steps,
        quiet: a.quiet,
        launcher: a.launcher,
        output: None,
    };
    let result = start(preset, launch);
    match result {
        Ok((_, state)) => Ok(Resumed::Ran(state)),
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
