//! `aiart train` for fast style transfer presets: the foreground run, `--resume`, and the checks
//! a detached or Slurm run makes before it leaves (the photos, the style image, the VGG).

use super::train_run::{begin, failed, running_status, train_device, Launch};
use aiart::preset::FastStylePreset;
use aiart::run::follow::PresetSource;
use aiart::run::lock::RunLock;
use aiart::run::{RunDir, RunState};
use aiart::train::fast::{self, FastTrainer};
use aiart::workspace::Workspace;
use anyhow::Result;
use std::path::Path;

/// What a run started elsewhere (detached, Slurm) needs, checked here first: the folder of
/// photos, the style image, and the VGG ("hub": fetched now, so that an offline machine says so
/// before any run exists). False when something is wrong (printed).
pub fn inputs_fit(ws: &Workspace, p: &FastStylePreset) -> bool {
    // missing files and folders: `train::sizes_fit` has said so before this
    let root = aiart::workspace::resolve_path(&ws.root, &p.data.dataset);
    if aiart::data::photos::list_photos(&root).is_empty() {
        eprintln!(
            "error: data.dataset: {}: holds no images (jpg, png, …), at any depth",
            root.display()
        );
        return false;
    }
    let style = aiart::workspace::resolve_path(&ws.root, &p.data.style_image);
    if let Err(e) = aiart::data::image_io::dimensions(&style) {
        eprintln!("error: data.style_image: {e}");
        return false;
    }
    if p.model.vgg_weights == "hub" {
        if let Err(e) = aiart::nn::hub::fetch_vgg16() {
            eprintln!("error: model.vgg_weights: {e}");
            return false;
        }
    }
    true
}

/// Photos, style and VGG checked first, then the run directory and the loop.
pub fn run_fast(p: &FastStylePreset, mut l: Launch) -> Result<(RunDir, RunState)> {
    let device = train_device(&p.train.device, p.train.tf32)?;
    let trainer = FastTrainer::new(p, &l.ws.root, &device)?;
    let photos = &trainer.photos;
    let data = format!(
        "{} photos an epoch, {} held out for samples",
        photos.len(),
        photos.samples.len()
    );
    let epochs = (&data[..], trainer.total_steps(), p.train.batch_size as u64);
    let on = (aiart::preset::Kind::FastStyle, &device, &p.train.device[..]);
    let (run, session, total) = l.begin_batches(on, &p.effective(), epochs, &trainer.warnings)?;
    match fast::train(session, trainer, l.max_steps, l.quiet, None) {
        Ok(state) => {
            say_how_it_ended(&run, state, l.quiet);
            Ok((run, state))
        }
        Err(e) => failed(&run, total, e),
    }
}

/// The run's last word for a person at the terminal (it is in status.json and events.jsonl too):
/// how it ended, and the command that paints with what it learnt.
fn say_how_it_ended(run: &RunDir, state: RunState, quiet: bool) {
    if quiet {
        return;
    }
    let message = run.read_status().map(|s| s.message).unwrap_or_default();
    eprintln!("{}: {message}", state.as_str());
    if matches!(state, RunState::Finished | RunState::Stopped) {
        eprintln!(
            "paint photos or frames with it: aiart stylize --model {} --input PHOTO|DIR --output OUT",
            run.root.display()
        );
    }
}

/// What `--resume` hands over once it has found the checkpoint to continue from.
pub struct Resume<'a> {
    pub run: &'a RunDir,
    pub lock: RunLock,
    pub source: PresetSource,
    pub step: u64,
    pub checkpoint: &'a Path,
    pub max_steps: Option<u64>,
    pub quiet: bool,
}

/// Continues a fast style run from its checkpoint. `too_short`: why a finished run has nothing
/// to continue under this schedule (None: go on); `before`: moves the past out and writes the
/// `--set` changes, returning the `resumed` event's message. Ok(None): refused (printed).
pub fn resume_fast(
    ws: &Workspace,
    p: &FastStylePreset,
    r: Resume,
    too_short: &dyn Fn(u64) -> Option<String>,
    before: &dyn Fn() -> Result<String>,
) -> Result<Option<RunState>> {
    let device = train_device(&p.train.device, p.train.tf32)?;
    let mut trainer = FastTrainer::new(p, &ws.root, &device)?;
    if let Some(why) = too_short(trainer.total_steps()) {
        eprintln!("error: {why}");
        return Ok(None);
    }
    for w in &trainer.warnings {
        eprintln!("warning: {w}");
    }
    let resumed_msg = before()?;
    trainer.load(r.checkpoint)?;
    let (run, step) = (r.run, r.step);
    let total = aiart::run::ending::planned_steps(trainer.total_steps(), r.max_steps);
    let epoch = step / trainer.batches_per_epoch() + 1;
    if !r.quiet {
        eprintln!("resumed at step {step}");
    }
    let session = begin(
        run,
        (r.lock, r.source),
        running_status(run, step, epoch, total, r.max_steps),
        ("resumed", &resumed_msg),
        &trainer.warnings,
        (p.train.batch_size as u64, &device, &p.train.device),
    )?;
    match fast::train(session, trainer, r.max_steps, r.quiet, Some(step)) {
        Ok(s) => {
            say_how_it_ended(run, s, r.quiet);
            Ok(Some(s))
        }
        Err(e) => failed(run, total, e),
    }
}
