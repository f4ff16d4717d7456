//! `aiart train --resume RUN`: continues a run from its newest complete checkpoint (appending to
//! its files), with the `--set` changes a live run may take; a run without a checkpoint starts
//! over from step 0.

use super::train_new::start;
use super::train_run::{
    begin, device_override, exit_code, failed, running_status, train_device, Launch, Place,
};
use aiart::nst::setup;
use aiart::preset::{self, live, Kind, Preset};
use aiart::run::follow::source_of;
use aiart::run::lock::RunLock;
use aiart::run::{list, RunDir, RunInfo, RunState};
use aiart::train::gan::{self, GanTrainer};
use aiart::train::nst::{train, NstRun, NstTrainer, RunOptions};
use aiart::workspace::Workspace;
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;

/// What `--resume` takes from the command line.
pub struct ResumeArgs<'a> {
    /// `--set`: only what may change in a live run
    pub set: &'a [String],
    pub device: &'a Option<String>,
    pub max_steps: Option<u64>,
    pub quiet: bool,
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

/// Continues a run from its newest complete checkpoint, appending to its files. `--set` changes
/// what may change live first (a finished run continues to a longer schedule); a finished run
/// without one is left as it is.
pub fn resume(ws: &Workspace, name: &str, a: &ResumeArgs) -> Result<i32> {
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
    let device: Vec<String> = device_override(a.device).into_iter().collect();
    let changes = match resume_changes(&run, &text, a.set, &device)? {
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
            extend_hint(&run.id(), info.kind)
        );
        return Ok(0);
    }
    RunDir::repair_jsonl(&run.metrics())?;
    RunDir::repair_jsonl(&run.events())?;
    let Some((step, ck)) = readable_checkpoint(&run)? else {
        write_resume_changes(&run, &text, a.set, &changes)?;
        return start_over(ws, run, info, lock, a);
    };
    let mut overrides = a.set.to_vec();
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
                extend_hint(&run.id(), info.kind)
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
            write_resume_changes(&run, &text, a.set, &changes)?;
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
            let session = begin(
                &run,
                (lock, source),
                running_status(&run, step, 0, total, a.max_steps),
                ("resumed", &resumed_msg),
                &warnings,
                (1, &device, &p.train.device),
            )?;
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
            write_resume_changes(&run, &text, a.set, &changes)?;
            trainer.load(&ck)?;
            let total = aiart::run::ending::planned_steps(trainer.total_steps(), a.max_steps);
            let epoch = step / trainer.batches_per_epoch() + 1;
            let session = begin(
                &run,
                (lock, source),
                running_status(&run, step, epoch, total, a.max_steps),
                ("resumed", &resumed_msg),
                &trainer.warnings,
                (p.data.batch_size as u64, &device, &p.train.device),
            )?;
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
                write_resume_changes(&run, &text, a.set, &changes)?;
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
    a: &ResumeArgs,
) -> Result<i32> {
    let moved = run.discard_all()?;
    let text = std::fs::read_to_string(run.preset())
        .with_context(|| format!("{}: no preset.toml", run.root.display()))?;
    let overrides: Vec<String> = device_override(a.device).into_iter().collect();
    let preset = preset::parse(&text, &run.preset(), &overrides).map_err(|e| anyhow!("{e}"))?;
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
    };
    let result = start(preset, launch);
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
