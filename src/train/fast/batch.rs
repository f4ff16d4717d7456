//! Fast style transfer behind the batch-trainer seam (`train::batch`): batches of photos in the
//! same order every epoch (read here, on the trainer's thread), the preset's constant learning
//! rate (or the GAN reference's linear decay over its last epochs), samples of the held-out
//! photos, checkpoints, and a live edit taken whole.

use super::FastTrainer;
use crate::preset::live::FastLive;
use crate::preset::nst::LogConfig;
use crate::preset::{Kind, Preset};
use crate::run::metrics::Losses;
use crate::run::RunDir;
use crate::train::batch::BatchTrainer;
use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use std::path::Path;

impl BatchTrainer for FastTrainer {
    /// Nothing: the photos are read on the trainer's thread, by the step's index in its epoch
    type Data = ();
    /// Photos (N, 3, S, S) in 0–255 on the trainer's device
    type Batch = Tensor;

    fn new(preset: &Preset, workspace: &Path, device: &Device) -> Result<Self> {
        let Preset::FastStyle(p) = preset else {
            bail!("not a fast style transfer preset")
        };
        FastTrainer::new(p, workspace, device)
    }

    fn kind(&self) -> Kind {
        Kind::FastStyle
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn data_text(&self) -> String {
        format!(
            "{} photos an epoch, {} held out for samples",
            self.photos.len(),
            self.photos.samples.len()
        )
    }

    fn batch_size(&self) -> u64 {
        self.preset.train.batch_size as u64
    }

    fn steps_per_epoch(&self) -> u64 {
        self.batches_per_epoch()
    }

    fn epochs(&self) -> u64 {
        self.preset.train.epochs
    }

    /// The reference's Adam keeps the preset's learning rate throughout; with
    /// `train.lr_decay_epochs` N > 0 the last N epochs fall linearly (the GAN reference's
    /// `linear` policy, `schedule::linear_lr`).
    fn lr(&self, epoch: u64) -> f64 {
        super::lr_at(&self.preset.train, epoch)
    }

    fn set_lr(&mut self, lr: f64) {
        self.opt.set_lr(lr)
    }

    fn log(&self) -> &LogConfig {
        &self.preset.log
    }

    fn preset(&self) -> Preset {
        Preset::FastStyle(self.preset.effective())
    }

    fn apply(&mut self, new: &Preset) -> Result<()> {
        let Preset::FastStyle(p) = new else {
            bail!("not a fast style transfer preset")
        };
        self.preset = p.effective();
        self.apply_live(FastLive::of(p));
        Ok(())
    }

    fn open_data(&mut self, _start: u64) -> Result<()> {
        Ok(())
    }

    fn next_batch(&mut self, _: &mut (), step: u64, warnings: &mut Vec<String>) -> Result<Tensor> {
        let k = step % self.batches_per_epoch();
        let bs = self.preset.train.batch_size;
        Ok(self.photos.batch(k, bs, &self.device, warnings)?)
    }

    fn step(&mut self, batch: Tensor) -> Result<Losses> {
        FastTrainer::step(self, &batch)
    }

    fn has_sample(&self) -> bool {
        true
    }

    fn sample(&self) -> Result<Option<image::RgbImage>> {
        Ok(Some(self.sample_grid()?))
    }

    fn temporal(&self) -> Result<Option<crate::data::temporal::TemporalError>> {
        if self.preset.train.stability_weight > 0.0 {
            self.temporal_error()
        } else {
            Ok(None)
        }
    }

    fn save(&self, dir: &Path, step: u64, epoch: u64) -> Result<()> {
        FastTrainer::save(self, dir, step, epoch)
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        FastTrainer::load(self, dir)
    }

    fn use_hint(run: &RunDir) -> Option<String> {
        Some(format!(
            "paint photos or frames with it: aiart stylize --model {} --input PHOTO|DIR --output OUT",
            run.root.display()
        ))
    }
}

impl FastTrainer {
    /// Takes a live edit whole (the preset in force already holds it): each field is named, so
    /// a live field added to [`FastLive`] does not compile until it is taken here.
    fn apply_live(&mut self, live: FastLive) {
        let FastLive {
            // `BatchTrainer::lr` reads it from the preset in force, and the loop sets it on Adam
            // after every live edit
            lr: _,
            lr_decay_epochs: _,
            // the schedule, the loss weights and the intervals are read from the preset in force
            // at every step
            epochs: _,
            content_weight: _,
            style_weight: _,
            log: _,
        } = live;
    }
}
