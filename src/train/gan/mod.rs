//! pix2pix and CycleGAN training: the dataset, the networks (seeded, or from the reference's
//! `.pth` files or a run checkpoint), the epoch loop with the linear LR policy, and everything
//! written to the run directory. Metrics record `step` k holds the losses of the k-th update,
//! computed from the weights before it (record 1 = the initial weights).

mod batch;
mod checkpoint;
pub mod cyclegan;
#[cfg(test)]
mod first_update;
pub mod loader;
pub mod losses;
pub mod pix2pix;
pub mod pool;
pub mod schedule;

use crate::data::dataset::PairDataset;
use crate::data::grid;
use crate::data::transform::{self, Options};
use crate::nn::gan::{DiscConfig, Discriminator, GenConfig, Generator};
use crate::nn::weights;
use crate::preset::gan::{Direction, GanPreset};
use crate::run::metrics::Losses;
use crate::train::optim::AdamConfig;
use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use cyclegan::{CycleGan, Lambdas};
use pix2pix::Pix2Pix;
use std::path::{Path, PathBuf};

pub enum Model {
    Pix2Pix(Box<Pix2Pix>),
    CycleGan(Box<CycleGan>),
}

pub struct GanTrainer {
    pub model: Model,
    /// The training data, until the loader thread takes it.
    pub dataset: Option<PairDataset>,
    pub dataset_len: usize,
    pub preset: GanPreset,
    pub(crate) device: Device,
    /// Notes for the user (missing discriminators in init_from …).
    pub warnings: Vec<String>,
}

/// G (pix2pix) or G_A (CycleGAN): `input_nc` channels in, `output_nc` out (the reference's
/// `define_G(opt.input_nc, opt.output_nc, …)`).
pub fn gen_config(p: &GanPreset) -> GenConfig {
    GenConfig {
        arch: p.net_g(),
        input_nc: p.input_nc(),
        output_nc: p.output_nc(),
        ngf: p.model.ngf,
        norm: p.norm(),
        dropout: p.dropout(),
    }
}

/// CycleGAN's G_B: B → A, so `output_nc` channels in and `input_nc` out.
pub fn gen_b_config(p: &GanPreset) -> GenConfig {
    GenConfig {
        input_nc: p.output_nc(),
        output_nc: p.input_nc(),
        ..gen_config(p)
    }
}

/// pix2pix's D (it sees A and B stacked: `input_nc + output_nc` channels) or CycleGAN's D_A (it
/// judges B images: `output_nc`), as the reference's pix2pix_model.py / cycle_gan_model.py.
pub fn disc_config(p: &GanPreset) -> DiscConfig {
    let input_nc = if p.is_cyclegan() {
        p.output_nc()
    } else {
        p.input_nc() + p.output_nc()
    };
    DiscConfig {
        arch: p.model.net_d,
        input_nc,
        ndf: p.model.ndf,
        n_layers: p.model.n_layers_d,
        norm: p.norm(),
    }
}

/// CycleGAN's D_B: it judges A images, `input_nc` channels.
pub fn disc_b_config(p: &GanPreset) -> DiscConfig {
    DiscConfig {
        input_nc: p.input_nc(),
        ..disc_config(p)
    }
}

/// The file for network `name` (`G`, `D_A` …) in an init_from folder: a run checkpoint's
/// `net_<name>.safetensors`, or the reference's `<epoch>_net_<name>.pth` (`latest` preferred); in
/// a published CycleGAN model's folder, G_A and G_B are the pair's two models (`data::models`).
pub fn find_net_file(dir: &Path, name: &str) -> Option<PathBuf> {
    if let Some(published) = crate::data::models::init_file(dir, name) {
        return Some(published);
    }
    let st = dir.join(format!("net_{name}.safetensors"));
    if st.is_file() {
        return Some(st);
    }
    let latest = dir.join(format!("latest_net_{name}.pth"));
    if latest.is_file() {
        return Some(latest);
    }
    let suffix = format!("_net_{name}.pth");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(&suffix))
        })
        .collect();
    found.sort();
    found.pop()
}

fn load_gen(
    c: &GenConfig,
    dir: Option<&Path>,
    name: &str,
    seed: u64,
    gain: (f32, crate::nn::init::InitType),
    device: &Device,
) -> Result<Generator> {
    match dir {
        Some(d) => {
            let f = find_net_file(d, name).with_context(|| {
                format!(
                    "{}: no net_{name}.safetensors or *_net_{name}.pth to start from",
                    d.display()
                )
            })?;
            let sd = weights::load_state_dict(&f, device)?;
            check_channels(c, &sd, &f, name)?;
            Ok(Generator::from_state_dict(
                c,
                sd,
                &f.display().to_string(),
                device,
            )?)
        }
        None => Ok(Generator::seeded_as(c, seed, gain.0, gain.1, device)?),
    }
}

/// Refuses init_from weights whose channel counts are not the preset's, naming the fields to set
/// (G_B runs B → A: its counts are the preset's swapped).
fn check_channels(
    c: &GenConfig,
    sd: &crate::nn::weights::StateDict,
    file: &Path,
    name: &str,
) -> Result<()> {
    let Some((i, o)) = crate::nn::gan::infer_channels(sd) else {
        return Ok(()); // not a generator's keys: loading names every misfit
    };
    if (i, o) == (c.input_nc, c.output_nc) {
        return Ok(());
    }
    let (want_in, want_out) = if name == "G_B" { (o, i) } else { (i, o) };
    anyhow::bail!(
        "model.init_from: {} ({name}) takes {i} channel(s) and gives {o}, but the preset builds \
         {name} {} -> {}: set model.input_nc = {want_in} and model.output_nc = {want_out}",
        file.display(),
        c.input_nc,
        c.output_nc
    )
}

fn load_disc(
    c: &DiscConfig,
    dir: Option<&Path>,
    name: &str,
    seed: u64,
    gain: (f32, crate::nn::init::InitType),
    device: &Device,
    warnings: &mut Vec<String>,
) -> Result<Discriminator> {
    if let Some(d) = dir {
        match find_net_file(d, name) {
            Some(f) => {
                let sd = weights::load_state_dict(&f, device)?;
                return Ok(Discriminator::from_state_dict(c, sd, &f.display().to_string(), device)?);
            }
            None => warnings.push(format!("{}: no weights for D{} (the reference publishes generators only); it starts from scratch", d.display(), name.trim_start_matches('D'))),
        }
    }
    Ok(Discriminator::seeded_as(c, seed, gain.0, gain.1, device)?)
}

impl GanTrainer {
    /// Builds everything and checks the dataset before any work.
    pub fn new(p: &GanPreset, workspace: &Path, device: &Device) -> Result<Self> {
        let p = p.effective();
        let root = crate::workspace::resolve_path(workspace, &p.data.dataroot);
        if let Some(why) = crate::data::fetch::missing_dataset(&root) {
            anyhow::bail!("data.dataroot: {why}");
        }
        let opts = Options {
            preprocess: p.data.preprocess,
            load_size: p.data.load_size,
            crop_size: p.data.crop_size,
            no_flip: p.data.no_flip,
        };
        let swap = p.data.direction == Direction::BtoA;
        let dataset = if p.is_cyclegan() {
            PairDataset::unaligned(&root, "train", p.data.serial_batches, swap, opts)?
        } else if p.is_colorization() {
            PairDataset::colorization(&root, "train", opts)?
        } else {
            PairDataset::aligned(&root, "train", swap, opts)?
        };
        let dataset = dataset
            .keep_first(p.data.max_dataset_size)
            .with_channels(p.input_nc(), p.output_nc());
        // every size rule against the images at hand, before any work (the run directory included)
        let sizes = crate::data::sizes::check(&p, &root);
        if !sizes.problems.is_empty() {
            anyhow::bail!(
                "{} cannot train on these images:\n{}",
                p.kind,
                sizes.problem_lines()
            );
        }
        let mut warnings = sizes.notes;
        let init_from = p
            .model
            .init_from
            .as_ref()
            .map(|d| crate::data::models::init_from(workspace, d));
        let init = init_from.as_deref();
        let (seed, gain) = (p.train.seed, (p.model.init_gain as f32, p.model.init_type));
        let adam = AdamConfig {
            lr: p.train.lr,
            beta1: p.train.beta1,
            beta2: 0.999,
            eps: 1e-8,
        };
        let (gc, dc) = (gen_config(&p), disc_config(&p));
        let model = if p.is_cyclegan() {
            let (gc_b, dc_b) = (gen_b_config(&p), disc_b_config(&p));
            let g_a = load_gen(&gc, init, "G_A", seed, gain, device)?;
            let g_b = load_gen(&gc_b, init, "G_B", seed + 1, gain, device)?;
            let d_a = load_disc(&dc, init, "D_A", seed + 2, gain, device, &mut warnings)?;
            let d_b = load_disc(&dc_b, init, "D_B", seed + 3, gain, device, &mut warnings)?;
            let l = Lambdas {
                a: p.train.lambda_a,
                b: p.train.lambda_b,
                identity: p.train.lambda_identity,
            };
            Model::CycleGan(Box::new(CycleGan::new(
                g_a,
                g_b,
                d_a,
                d_b,
                adam,
                p.gan_mode(),
                l,
                p.pool_size(),
                seed,
            )?))
        } else {
            let g = load_gen(&gc, init, "G", seed, gain, device)?;
            let d = load_disc(&dc, init, "D", seed + 1, gain, device, &mut warnings)?;
            Model::Pix2Pix(Box::new(Pix2Pix::new(
                g,
                d,
                adam,
                p.gan_mode(),
                p.train.lambda_l1,
                seed,
            )?))
        };
        Ok(Self {
            model,
            dataset_len: dataset.len(),
            dataset: Some(dataset),
            preset: p.clone(),
            device: device.clone(),
            warnings,
        })
    }

    pub fn batches_per_epoch(&self) -> u64 {
        self.dataset_len.div_ceil(self.preset.data.batch_size) as u64
    }

    pub fn total_steps(&self) -> u64 {
        (self.preset.train.n_epochs + self.preset.train.n_epochs_decay) * self.batches_per_epoch()
    }

    /// The learning rate of an epoch under the preset's `lr_policy`.
    pub(crate) fn lr_for(&self, epoch: u64) -> f64 {
        schedule::lr_at(&self.preset.train, epoch)
    }

    pub(crate) fn set_lr(&mut self, lr: f64) {
        match &mut self.model {
            Model::Pix2Pix(m) => {
                m.opt_g.set_lr(lr);
                m.opt_d.set_lr(lr);
            }
            Model::CycleGan(m) => {
                m.opt_g.set_lr(lr);
                m.opt_d.set_lr(lr);
            }
        }
    }

    /// One step on a batch from the loader: uploaded here, on the thread that runs the step, so
    /// on CUDA the copies go to the step's stream (no copy on the CPU).
    pub(crate) fn step(&mut self, a: &Tensor, b: &Tensor) -> Result<Losses> {
        let (a, b) = (&a.to_device(&self.device)?, &b.to_device(&self.device)?);
        Ok(match &mut self.model {
            Model::Pix2Pix(m) => m.step(a, b)?,
            Model::CycleGan(m) => m.step(a, b)?,
        }
        .into())
    }

    /// The labelled grid of the last step's first images, or None before any step.
    pub fn sample_grid(&self) -> Result<Option<image::RgbImage>> {
        let first = |t: &Tensor| -> Result<image::RgbImage> {
            Ok(transform::to_image(&t.narrow(0, 0, 1)?)?)
        };
        if let (Model::Pix2Pix(m), true) = (&self.model, self.preset.is_colorization()) {
            return match &m.visuals {
                Some([a, fake_b, b]) => Ok(Some(colorization_grid(a, fake_b, b)?)),
                None => Ok(None),
            };
        }
        let (names, tensors): (Vec<&str>, Vec<&Tensor>) = match &self.model {
            Model::Pix2Pix(m) => match &m.visuals {
                Some(v) => (vec!["real_A", "fake_B", "real_B"], v.iter().collect()),
                None => return Ok(None),
            },
            Model::CycleGan(m) => match &m.visuals {
                Some(v) => (
                    vec!["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"],
                    v.iter().collect(),
                ),
                None => return Ok(None),
            },
        };
        let tiles = names
            .iter()
            .zip(tensors)
            .map(|(n, t)| Ok((n.to_string(), first(t)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(grid::labelled_grid(&tiles, 3)))
    }
}

/// The colorization model's visuals as the reference's `compute_visuals` makes them, for the
/// first image of a batch: real_A (L, 1 channel, shown grey as `util.tensor2im` tiles it),
/// fake_B_rgb and real_B_rgb (the real L with the predicted / the real ab, through `lab2rgb`).
/// `a` is (N, 1, H, W), `fake_b` and `b` (N, 2, H, W).
fn colorization_grid(a: &Tensor, fake_b: &Tensor, b: &Tensor) -> Result<image::RgbImage> {
    let plane = |t: &Tensor| -> Result<Vec<f32>> {
        Ok(t.narrow(0, 0, 1)?
            .to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1()?)
    };
    let (_, _, h, w) = a.dims4()?;
    let l = plane(a)?;
    // one channel: to_image tiles it grey, as the reference's tensor2im
    let grey = transform::to_image(&a.narrow(0, 0, 1)?)?;
    let rgb = |ab: &Tensor| -> Result<image::RgbImage> {
        Ok(crate::data::lab::network_lab_to_image(
            &l,
            &plane(ab)?,
            w as u32,
            h as u32,
        ))
    };
    let tiles = vec![
        ("real_A".to_string(), grey),
        ("fake_B_rgb".to_string(), rgb(fake_b)?),
        ("real_B_rgb".to_string(), rgb(b)?),
    ];
    Ok(grid::labelled_grid(&tiles, 3))
}
