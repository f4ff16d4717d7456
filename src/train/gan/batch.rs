//! pix2pix and CycleGAN behind the batch-trainer seam (`train::batch`): batches from the loader
//! thread, the reference's linear LR policy per epoch, the labelled sample grid, checkpoints, and
//! a live edit taken whole.

use super::cyclegan::Lambdas;
use super::loader::{self, Loaded};
use super::{GanTrainer, Model};
use crate::data::dataset::Batch;
use crate::preset::live::GanLive;
use crate::preset::nst::LogConfig;
use crate::preset::{Kind, Preset};
use crate::run::metrics::Losses;
use crate::run::RunDir;
use crate::train::batch::BatchTrainer;
use anyhow::{bail, Context, Result};
use candle_core::Device;
use std::path::Path;
use std::sync::mpsc::Receiver;

impl BatchTrainer for GanTrainer {
    /// The loader thread's batches (it stops when this is dropped)
    type Data = Receiver<Result<Loaded, loader::Failed>>;
    type Batch = Batch;

    fn new(preset: &Preset, workspace: &Path, device: &Device) -> Result<Self> {
        let Preset::Gan(p) = preset else {
            bail!("not a pix2pix / CycleGAN preset")
        };
        GanTrainer::new(p, workspace, device)
    }

    fn kind(&self) -> Kind {
        self.preset.kind()
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn data_text(&self) -> String {
        format!("{} images an epoch", self.dataset_len)
    }

    fn batch_size(&self) -> u64 {
        self.preset.data.batch_size as u64
    }

    fn steps_per_epoch(&self) -> u64 {
        self.batches_per_epoch()
    }

    fn epochs(&self) -> u64 {
        self.preset.train.n_epochs + self.preset.train.n_epochs_decay
    }

    fn lr(&self, epoch: u64) -> f64 {
        self.lr_for(epoch)
    }

    fn set_lr(&mut self, lr: f64) {
        GanTrainer::set_lr(self, lr)
    }

    fn log(&self) -> &LogConfig {
        &self.preset.log
    }

    fn preset(&self) -> Preset {
        Preset::Gan(self.preset.effective())
    }

    fn apply(&mut self, new: &Preset) -> Result<()> {
        let Preset::Gan(p) = new else {
            bail!("not a GAN preset")
        };
        self.preset = p.effective();
        self.apply_live(GanLive::of(p));
        Ok(())
    }

    fn open_data(&mut self, start: u64) -> Result<Self::Data> {
        let bpe = self.batches_per_epoch();
        let d = &self.preset.data;
        let skip = (start % bpe) as usize * d.batch_size;
        let (bs, serial) = (d.batch_size, d.serial_batches);
        let dataset = self
            .dataset
            .take()
            .context("the dataset was already handed to a loader")?;
        let seed = self.preset.train.seed.wrapping_add(17);
        Ok(loader::spawn(
            dataset,
            bs,
            serial,
            seed,
            start / bpe + 1,
            skip,
        ))
    }

    fn next_batch(
        &mut self,
        data: &mut Self::Data,
        _step: u64,
        warnings: &mut Vec<String>,
    ) -> Result<Batch> {
        match data.recv() {
            Ok(Ok(l)) => {
                warnings.extend(l.warnings);
                Ok(l.batch)
            }
            Ok(Err(failed)) => {
                warnings.extend(failed.warnings);
                bail!(failed.error)
            }
            Err(_) => bail!("the data loader stopped"),
        }
    }

    fn step(&mut self, batch: Batch) -> Result<Losses> {
        GanTrainer::step(self, &batch.a, &batch.b)
    }

    fn has_sample(&self) -> bool {
        match &self.model {
            Model::Pix2Pix(m) => m.visuals.is_some(),
            Model::CycleGan(m) => m.visuals.is_some(),
        }
    }

    fn sample(&self) -> Result<Option<image::RgbImage>> {
        self.sample_grid()
    }

    fn save(&self, dir: &Path, step: u64, epoch: u64) -> Result<()> {
        GanTrainer::save(self, dir, step, epoch)
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        GanTrainer::load(self, dir)
    }

    fn use_hint(_run: &RunDir) -> Option<String> {
        None
    }
}

impl GanTrainer {
    /// Takes a live edit whole (the preset in force already holds it): each field is named, so
    /// a live field added to [`GanLive`] does not compile until it is taken here.
    fn apply_live(&mut self, live: GanLive) {
        let GanLive {
            // the linear policy's: `BatchTrainer::lr` reads them from the preset in force, and the
            // loop sets the epoch's lr after every live edit
            lr: _,
            n_epochs: _,
            n_epochs_decay: _,
            lambda_l1,
            lambda_a,
            lambda_b,
            lambda_identity,
            // the loop reads the intervals from the preset in force at every step
            log: _,
        } = live;
        match &mut self.model {
            Model::Pix2Pix(m) => m.lambda_l1 = lambda_l1,
            Model::CycleGan(m) => {
                m.lambdas = Lambdas {
                    a: lambda_a,
                    b: lambda_b,
                    identity: lambda_identity,
                }
            }
        }
    }
}
