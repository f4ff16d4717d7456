//! The batch-trainer seam: what pix2pix, CycleGAN and fast style transfer each define
//! ([`BatchTrainer`]: new from preset and device, steps per epoch, the learning rate of an epoch,
//! a step on a batch, a sample, save / load, a live edit) and the one loop that drives any of them
//! in a live run ([`train`], with one [`Steer`] impl on [`BatchRun`]) — as burn-train's
//! `TrainStep` lets the model define its step while the learner owns the loop.
//!
//! The loop owns the epoch and the learning rate: the lr in force is always
//! [`BatchTrainer::lr`] of the epoch the step belongs to, set on the optimisers before the first
//! step, at each new epoch and after each live edit, and written into that step's metrics record
//! — one source, whatever the constructor started the optimisers with.

use crate::preset::nst::LogConfig;
use crate::preset::{Kind, Preset};
use crate::run::metrics::Losses;
use crate::run::session::Session;
use crate::run::steer::Steer;
use crate::run::{RunDir, RunState};
use crate::train::live::Live;
use anyhow::{bail, Result};
use candle_core::Device;
use std::path::{Path, PathBuf};

/// A method trained by steps on batches, epoch after epoch (pix2pix / CycleGAN: `GanTrainer`; fast
/// style transfer: `FastTrainer`). Step `k` of a run (1-based) belongs to epoch
/// `(k − 1) / steps_per_epoch + 1`.
pub trait BatchTrainer: Sized {
    /// What the data source hands the loop (a loader thread's receiver, or nothing when the
    /// trainer reads its batches itself); dropped when the loop ends.
    type Data;
    /// One batch as [`BatchTrainer::next_batch`] makes it for [`BatchTrainer::step`].
    type Batch;

    /// Builds everything from `preset` (paths relative to `workspace`) on `device`, checking the
    /// data and the networks before any work: an error names the preset field and the file. Errors
    /// too when `preset` is another kind's.
    fn new(preset: &Preset, workspace: &Path, device: &Device) -> Result<Self>;
    /// The kind this trainer trains (pix2pix and CycleGAN share one trainer).
    fn kind(&self) -> Kind;
    /// Notes for the user gathered while building (skipped files, weights not found …).
    fn warnings(&self) -> &[String];
    /// What an epoch holds, for the `started` event ("124 images an epoch").
    fn data_text(&self) -> String;
    /// Images in a batch (the heartbeat's images per second).
    fn batch_size(&self) -> u64;
    /// Steps in one epoch (at least 1).
    fn steps_per_epoch(&self) -> u64;
    /// Epochs the preset in force plans.
    fn epochs(&self) -> u64;
    /// Steps the preset in force plans: epochs × steps per epoch.
    fn total_steps(&self) -> u64 {
        self.epochs() * self.steps_per_epoch()
    }
    /// The learning rate of `epoch` (1-based) under the preset in force: the run's one source.
    fn lr(&self, epoch: u64) -> f64;
    /// Sets the optimisers' learning rate.
    fn set_lr(&mut self, lr: f64);
    /// The intervals of the preset in force.
    fn log(&self) -> &LogConfig;
    /// The effective preset in force.
    fn preset(&self) -> Preset;
    /// Takes a new effective preset whose changes are all live (its `*Live` struct taken whole);
    /// the loop sets the learning rate from [`BatchTrainer::lr`] afterwards.
    fn apply(&mut self, new: &Preset) -> Result<()>;

    /// The data from step `start` on (0 for a new run; a resumed run goes on with the batch
    /// after its checkpoint's).
    fn open_data(&mut self, start: u64) -> Result<Self::Data>;
    /// The batch of step `step + 1` (0-based `step`); files skipped on the way go to `warnings`
    /// (said before any error).
    fn next_batch(
        &mut self,
        data: &mut Self::Data,
        step: u64,
        warnings: &mut Vec<String>,
    ) -> Result<Self::Batch>;
    /// One update on `batch`; the losses computed before it, by name in the reference's order.
    fn step(&mut self, batch: Self::Batch) -> Result<Losses>;

    /// Whether [`BatchTrainer::sample`] has something to show (a GAN shows the last step's
    /// images: nothing before its first step).
    fn has_sample(&self) -> bool;
    /// The sample image; None before there is anything to show.
    fn sample(&self) -> Result<Option<image::RgbImage>>;
    /// The temporal error of the network as it is now, measured at each sample (a fast style
    /// run with `train.stability_weight` > 0; None: not measured, the default).
    fn temporal(&self) -> Result<Option<crate::data::temporal::TemporalError>> {
        Ok(None)
    }
    /// The checkpoint of `step` in `epoch` into `dir` (a temporary folder the run renames).
    fn save(&self, dir: &Path, step: u64, epoch: u64) -> Result<()>;
    /// Takes the state of a checkpoint folder of this run.
    fn load(&mut self, dir: &Path) -> Result<()>;
    /// A line for the person at the terminal after a run that ended finished or stopped, saying
    /// how to use what it learnt (None: the run's end says nothing more).
    fn use_hint(run: &RunDir) -> Option<String>;
}

/// The trainer with what a live run needs: the step and epoch it is at.
pub struct BatchRun<T> {
    pub t: T,
    pub step: u64,
    pub epoch: u64,
}

impl<T: BatchTrainer> Steer for BatchRun<T> {
    fn sample(&mut self, run: &RunDir, step: u64) -> Result<PathBuf> {
        let path = run.sample_path(step);
        match self.t.sample()? {
            Some(img) => crate::data::image_io::save_image(&img, &path)?,
            None => bail!("no step has run yet: nothing to show"),
        }
        // a `temporal` event beside the sample, its values as fields (the metrics keep their
        // one record per logged step)
        // one; a measurement that fails is a warning, never the end of the run
        match self.t.temporal() {
            Ok(Some(e)) => {
                let message = format!("{} at step {step}", e.summary());
                run.append_event_values("temporal", &message, &e.fields())?;
            }
            Ok(None) => {}
            Err(e) => run.append_event(
                "warning",
                &format!("step {step}: the temporal error was not measured: {e:#}"),
            )?,
        }
        Ok(path)
    }

    fn checkpoint(&mut self, run: &RunDir, step: u64) -> Result<PathBuf> {
        let (t, epoch) = (&self.t, self.epoch);
        let keep = t.log().keep_checkpoints as usize;
        run.write_checkpoint::<anyhow::Error>(step, keep, |dir| t.save(dir, step, epoch))
    }

    fn preset(&self) -> Preset {
        self.t.preset()
    }

    fn apply(&mut self, new: &Preset) -> Result<()> {
        self.t.apply(new)?;
        let lr = self.t.lr(self.epoch);
        self.t.set_lr(lr);
        Ok(())
    }
}

/// Trains to the end of the last epoch (or to a stop, or to `max_steps`). `start`: the step of the
/// checkpoint a resumed run continues from (its batches go on where it left off).
pub fn train<T: BatchTrainer>(
    session: Session,
    t: T,
    max_steps: Option<u64>,
    quiet: bool,
    start: Option<u64>,
) -> Result<RunState> {
    let mut live = Live::new(session, t.total_steps(), max_steps, quiet);
    let run = live.run.clone();
    let bpe = t.steps_per_epoch();
    let start = start.unwrap_or(0);
    let mut r = BatchRun {
        t,
        step: start,
        epoch: start / bpe + 1,
    };
    let mut data = r.t.open_data(start)?;
    let lr = r.t.lr(r.epoch);
    r.t.set_lr(lr);
    let state = loop {
        let (at, total) = (r.step, live.planned(r.t.total_steps()));
        if let Some(state) = live.before_step(&mut r, at, total)? {
            break state;
        }
        let mut warnings = vec![];
        let batch = r.t.next_batch(&mut data, r.step, &mut warnings);
        for w in &warnings {
            eprintln!("warning: {w}");
            run.append_event("warning", w)?;
        }
        let batch = batch?;
        let e = r.step / bpe + 1;
        if e != r.epoch {
            r.epoch = e;
            if e > r.t.epochs() {
                break RunState::Finished;
            }
            let lr = r.t.lr(e);
            r.t.set_lr(lr);
        }
        let lr = r.t.lr(e);
        let losses = r.t.step(batch)?;
        r.step += 1;
        let (step, log) = (r.step, r.t.log().clone());
        live.after_step(&mut r, (step, e, lr), &losses, &log)?;
        live.session
            .progress(step, e, live.planned(r.t.total_steps()));
    };
    drop(data);
    r.epoch = r.epoch.min(r.t.epochs()).max(1);
    let (step, epoch, schedule) = (r.step, r.epoch, r.t.total_steps());
    live.end(&mut r, state, (step, epoch), schedule, |r| {
        Ok(r.t.has_sample())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::follow::PresetSource;
    use crate::run::lock::RunLock;
    use crate::run::{metrics, RunInfo};
    use std::sync::{Arc, Mutex};

    /// A trainer that learns nothing and says what the loop did with it: the lr it was given,
    /// the batches it was handed (in order), the checkpoints it wrote.
    struct Counting {
        steps_per_epoch: u64,
        epochs: u64,
        log: LogConfig,
        set_lrs: Arc<Mutex<Vec<f64>>>,
        saved: Arc<Mutex<Vec<(u64, u64)>>>,
    }

    impl BatchTrainer for Counting {
        /// The next batch the data source hands out
        type Data = u64;
        type Batch = u64;
        fn new(_: &Preset, _: &Path, _: &Device) -> Result<Self> {
            bail!("built by the test")
        }
        fn kind(&self) -> Kind {
            Kind::FastStyle
        }
        fn warnings(&self) -> &[String] {
            &[]
        }
        fn data_text(&self) -> String {
            String::new()
        }
        fn batch_size(&self) -> u64 {
            1
        }
        fn steps_per_epoch(&self) -> u64 {
            self.steps_per_epoch
        }
        fn epochs(&self) -> u64 {
            self.epochs
        }
        fn lr(&self, epoch: u64) -> f64 {
            0.125 * epoch as f64
        }
        fn set_lr(&mut self, lr: f64) {
            self.set_lrs.lock().unwrap().push(lr);
        }
        fn log(&self) -> &LogConfig {
            &self.log
        }
        fn preset(&self) -> Preset {
            unreachable!("no preset edit reaches this run")
        }
        fn apply(&mut self, _: &Preset) -> Result<()> {
            unreachable!("no preset edit reaches this run")
        }
        fn open_data(&mut self, start: u64) -> Result<u64> {
            Ok(start)
        }
        fn next_batch(&mut self, next: &mut u64, step: u64, _: &mut Vec<String>) -> Result<u64> {
            assert_eq!(*next, step, "the batches come in order, from the start");
            *next += 1;
            Ok(step)
        }
        fn step(&mut self, batch: u64) -> Result<Losses> {
            Ok(Losses::new().with("loss", 1.0 / (batch + 1) as f64))
        }
        fn has_sample(&self) -> bool {
            false
        }
        fn sample(&self) -> Result<Option<image::RgbImage>> {
            Ok(None)
        }
        fn save(&self, dir: &Path, step: u64, epoch: u64) -> Result<()> {
            self.saved.lock().unwrap().push((step, epoch));
            std::fs::write(dir.join("meta.json"), format!("{{\"step\":{step}}}"))?;
            Ok(())
        }
        fn load(&mut self, _: &Path) -> Result<()> {
            Ok(())
        }
        fn use_hint(_: &RunDir) -> Option<String> {
            None
        }
    }

    /// Trains `Counting` (2 steps an epoch, 3 epochs) from `start` in a run of its own; returns
    /// the lr values set, the (step, epoch, lr) of each record written, the checkpoints saved and
    /// the state it ended in.
    #[allow(clippy::type_complexity)]
    fn run_from(
        start: Option<u64>,
        name: &str,
    ) -> (Vec<f64>, Vec<(u64, u64, f64)>, Vec<(u64, u64)>, RunState) {
        let root = std::env::temp_dir().join(format!(
            "aiart-batch-loop-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let run = RunDir::create(&root).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: Kind::FastStyle,
            device: "cpu".into(),
            pid: std::process::id(),
            ..Default::default()
        })
        .unwrap();
        let lock = RunLock::acquire(&run).unwrap();
        let at = start.unwrap_or(0);
        let status = run.status_now(RunState::Running, at, at / 2 + 1, 6, "");
        let source = PresetSource {
            path: None,
            overrides: vec![],
        };
        let session = Session::start(run.clone(), lock, source, status, None).unwrap();
        let (set_lrs, saved) = (Arc::default(), Arc::default());
        let t = Counting {
            steps_per_epoch: 2,
            epochs: 3,
            log: LogConfig {
                print_every: 1000,
                sample_every: 0,
                checkpoint_every: 0,
                keep_checkpoints: 3,
            },
            set_lrs: Arc::clone(&set_lrs),
            saved: Arc::clone(&saved),
        };
        let state = train(session, t, None, true, start).unwrap();
        let records = metrics::read_all(&run.metrics())
            .unwrap()
            .iter()
            .map(|r| (r.step, r.epoch, r.lr.unwrap()))
            .collect();
        std::fs::remove_dir_all(&root).unwrap();
        let set = set_lrs.lock().unwrap().clone();
        let saved = saved.lock().unwrap().clone();
        (set, records, saved, state)
    }

    /// The lr of every step is `lr(epoch)` of the epoch the step belongs to: set before the first
    /// step and at each new epoch, and the same value written in the step's record.
    #[test]
    fn the_loop_sets_and_records_the_lr_of_each_steps_epoch() {
        let (set, records, saved, state) = run_from(None, "new");
        assert_eq!(set, [0.125, 0.25, 0.375]);
        assert_eq!(
            records,
            [
                (1, 1, 0.125),
                (2, 1, 0.125),
                (3, 2, 0.25),
                (4, 2, 0.25),
                (5, 3, 0.375),
                (6, 3, 0.375)
            ]
        );
        assert_eq!(saved, [(6, 3)], "the final checkpoint, in the last epoch");
        assert_eq!(state, RunState::Finished);
    }

    /// A run resumed in the middle of epoch 2 starts at that epoch's lr and goes on with the
    /// batch after the checkpoint's.
    #[test]
    fn a_resumed_loop_goes_on_in_the_epoch_and_at_the_batch_it_stopped() {
        let (set, records, saved, state) = run_from(Some(3), "resumed");
        assert_eq!(set, [0.25, 0.375]);
        assert_eq!(records, [(4, 2, 0.25), (5, 3, 0.375), (6, 3, 0.375)]);
        assert_eq!(saved, [(6, 3)]);
        assert_eq!(state, RunState::Finished);
    }
}
