//! Fast style transfer training (Johnson, Alahi & Fei-Fei 2016) as pytorch/examples
//! `fast_neural_style/neural_style.py train`: a TransformerNet learns to paint photos in one style,
//! judged by the perceptual losses of a fixed VGG; one Adam, batches of photos in order, every
//! epoch the same. Metrics record `step` k holds the losses of the k-th update, computed from the
//! weights before it (record 1 = the initial weights).

mod batch;
mod checkpoint;
pub mod stability;

use crate::data::grid;
use crate::data::image_io;
use crate::data::photos::{self, Photos};
use crate::data::temporal::{measure, Clips, TemporalError};
use crate::nn::transformer_net::{TransformerNet, MIN_SIDE};
use crate::nst::fast_loss::perceptual_loss;
use crate::nst::perceptual::PerceptualLoss;
use crate::preset::fast::{FastStylePreset, FastTrain};
use crate::rng::SeededRng;
use crate::run::metrics::Losses;
use crate::train::optim::{Adam, AdamConfig};
use crate::workspace::resolve_path;
use anyhow::Result;
use candle_core::{Device, Tensor};
use std::path::Path;

/// The learning rate epoch `epoch` (from 1) trains at: `t.lr`, or with `t.lr_decay_epochs` N > 0
/// the GAN reference's `linear` policy over the last N of `t.epochs`
/// ([`linear_lr`](crate::train::gan::schedule::linear_lr) with n_epochs = epochs − N): the last
/// epoch at lr / (N + 1). A function of the epoch and the options alone, so a resumed run trains
/// at the lr an uninterrupted one would.
pub fn lr_at(t: &FastTrain, epoch: u64) -> f64 {
    let decay = t.lr_decay_epochs.min(t.epochs);
    crate::train::gan::schedule::linear_lr(t.lr, epoch, t.epochs - decay, decay)
}

pub struct FastTrainer {
    pub net: TransformerNet,
    pub opt: Adam,
    pub loss: PerceptualLoss,
    pub photos: Photos,
    pub preset: FastStylePreset,
    pub(crate) device: Device,
    /// Notes for the user (skipped files, a VGG that is not the reference's …).
    pub warnings: Vec<String>,
}

impl FastTrainer {
    /// Builds everything and checks the photos, the style image and the VGG before any work.
    pub fn new(p: &FastStylePreset, workspace: &Path, device: &Device) -> Result<Self> {
        let p = p.effective();
        let root = resolve_path(workspace, &p.data.dataset);
        if let Some(why) = crate::data::fetch::missing_dataset(&root) {
            anyhow::bail!("data.dataset: {why}");
        }
        let mut warnings = vec![];
        let sample_dir = (!p.data.sample_images.as_os_str().is_empty())
            .then(|| resolve_path(workspace, &p.data.sample_images));
        let photos = Photos::open(
            &root,
            sample_dir.as_deref(),
            p.data.sample_count,
            p.data.image_size,
            &mut warnings,
        )?;
        let loss = perceptual_loss(&p, workspace, device, &mut warnings)?;
        let net = TransformerNet::seeded(p.train.seed, device)?;
        let opt = Adam::new(
            net.params.trainable(),
            AdamConfig {
                lr: p.train.lr,
                ..AdamConfig::default()
            },
        )?;
        Ok(Self {
            net,
            opt,
            loss,
            photos,
            preset: p,
            device: device.clone(),
            warnings,
        })
    }

    pub fn batches_per_epoch(&self) -> u64 {
        self.photos.batches_per_epoch(self.preset.train.batch_size)
    }

    pub fn total_steps(&self) -> u64 {
        self.preset.train.epochs * self.batches_per_epoch()
    }

    /// One update on a batch of photos (N, 3, S, S) in 0–255: TransformerNet, the perceptual
    /// losses, backward, Adam. Returns content, style and total (weighted, before the update).
    ///
    /// With `train.stability_weight` > 0 the weighted stability term (`stability.rs`) joins the
    /// total and is recorded as `stability`; its window and noise are drawn from a generator
    /// seeded by the preset's seed and the update's number, so a resumed run draws what an
    /// uninterrupted one would; its weight follows `train.stability_ramp_steps`
    /// (`stability::weight_at`), also by the update's number.
    pub fn step(&mut self, x: &Tensor) -> Result<Losses> {
        let t = &self.preset.train;
        let y = self.net.forward(x)?;
        let l = self.loss.losses(x, &y, t.content_weight, t.style_weight)?;
        let update = self.opt.steps_taken();
        let weight = stability::weight_at(t, update);
        let (total, stab) = if weight > 0.0 {
            let seed = t.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ update;
            let term = stability::compound_term(
                |z| self.net.forward(z),
                x,
                &y,
                &mut SeededRng::new(seed),
                t.stability_shift,
                t.stability_noise as f32,
                t.stability_norm,
            )?;
            let weighted = (term * weight)?;
            ((&l.total + &weighted)?, Some(weighted))
        } else if t.stability_weight > 0.0 {
            // the ramp's first update weighs the term 0: recorded as 0, not computed
            let zero = l.total.zeros_like()?;
            (l.total.clone(), Some(zero))
        } else {
            (l.total.clone(), None)
        };
        let grads = total.backward()?;
        self.opt.step(&grads)?;
        // one read-back from the device for all
        let mut all = vec![l.content.detach(), l.style.detach(), total.detach()];
        all.extend(stab.map(|s| s.detach()));
        let v = Tensor::stack(&all, 0)?
            .to_dtype(candle_core::DType::F64)?
            .to_vec1::<f64>()?;
        let losses = Losses::new()
            .with("content", v[0])
            .with("style", v[1])
            .with("total", v[2]);
        Ok(match v.get(3) {
            Some(&s) => losses.with("stability", s),
            None => losses,
        })
    }

    /// The network as it stands, for painting only: its parameters detached, so a forward records
    /// no graph and frees each activation once the next is computed (as the GAN generator's
    /// `frozen`).
    pub fn frozen_net(&self) -> Result<TransformerNet> {
        let sd = self.net.state_dict();
        Ok(TransformerNet::for_inference(
            sd,
            "the network in training",
            &self.device,
        )?)
    }

    /// The temporal error (`data::temporal::measure`) of the network as it is now on the first
    /// held-out photo: 6-frame clips of 128×128, or the largest that fits the photo (the pan
    /// needs 5 more columns) in multiples of 4 (the network's two stride-2 layers give back the
    /// input's size only then), moving 1 pixel a frame, noise σ 3 levels, seed 0. None where the
    /// photo is too small for the network (`MIN_SIDE`) or there is no held-out photo.
    pub fn temporal_error(&self) -> Result<Option<TemporalError>> {
        let Some((_, photo)) = self.photos.samples.first() else {
            return Ok(None);
        };
        let (frames, dx) = (6u32, 1u32);
        let w = photo.width().saturating_sub(dx * (frames - 1)).min(128) / 4 * 4;
        let h = photo.height().min(128) / 4 * 4;
        if (w.min(h) as usize) < MIN_SIDE {
            return Ok(None);
        }
        let clips = Clips {
            size: (w, h),
            frames,
            dx,
            sigma: 3.0,
            seed: 0,
        };
        let net = self.frozen_net()?;
        let e = measure(photo, &clips, |f| {
            let x = photos::to_tensor_255(f, &self.device)?;
            let y = (net.forward(&x)?.clamp(0f32, 255f32)? / 255.0)?;
            Ok(image_io::to_image(&y)?)
        })?;
        Ok(Some(e))
    }

    /// The held-out photos and the network's paintings of them, side by side, labelled.
    pub fn sample_grid(&self) -> Result<image::RgbImage> {
        let xs = self
            .photos
            .samples
            .iter()
            .map(|(_, img)| photos::to_tensor_255(img, &self.device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let y = self
            .frozen_net()?
            .forward(&Tensor::cat(&xs, 0)?)?
            .clamp(0f32, 255f32)?;
        // the held-out photos in a row, each one's painting under it: wide rather than tall, as
        // the dashboard's sample panels are
        let n = self.photos.samples.len();
        let mut tiles = Vec::with_capacity(2 * n);
        for (path, img) in &self.photos.samples {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            tiles.push((name, img.clone()));
        }
        for i in 0..n {
            let out = image_io::to_image(&(y.narrow(0, i, 1)? / 255.0)?)?;
            tiles.push(("stylized".to_string(), out));
        }
        Ok(grid::labelled_grid(&tiles, n))
    }
}

#[cfg(test)]
mod tests {
    use super::FastTrainer;
    use crate::nn::transformer_net::TransformerNet;
    use crate::nst::fast_loss::{judge_with_preset, load_photos};
    use candle_core::Device;
    use image::RgbImage;
    use std::path::Path;

    /// `lr_decay_epochs` = 0 keeps the lr (pytorch/examples); N > 0 is the GAN reference's linear
    /// tail over the last N epochs (1 − k / (N + 1) in the k-th of them), never 0; more epochs
    /// than the run has are capped to the run.
    #[test]
    fn the_lr_is_constant_or_falls_linearly_over_the_last_epochs() {
        let mut t = crate::preset::fast::FastTrain {
            epochs: 4,
            lr: 6e-3,
            ..Default::default()
        };
        let by_epoch = |t: &crate::preset::fast::FastTrain| -> Vec<f64> {
            (1..=t.epochs).map(|e| super::lr_at(t, e)).collect()
        };
        assert_eq!(by_epoch(&t), vec![6e-3; 4]);
        t.lr_decay_epochs = 2;
        let want = [6e-3, 6e-3, 4e-3, 2e-3];
        for (got, want) in by_epoch(&t).iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{:?}", by_epoch(&t));
        }
        t.lr_decay_epochs = 4;
        let want = [4.8e-3, 3.6e-3, 2.4e-3, 1.2e-3];
        for (got, want) in by_epoch(&t).iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{:?}", by_epoch(&t));
        }
        t.lr_decay_epochs = 9;
        assert_eq!(by_epoch(&t)[3], super::lr_at(&t, 4));
        assert!((super::lr_at(&t, 4) - 1.2e-3).abs() < 1e-15);
    }

    fn photo(w: u32, h: u32, seed: u8) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = (x * 7 + y * 3 + seed as u32 * 11) % 256;
            image::Rgb([v as u8, (255 - v) as u8, ((x * y) % 256) as u8])
        })
    }

    /// The judgement of a network on the photos of its first batch is training's own record of
    /// that batch: update 0's content and style (computed from the weights before it).
    #[test]
    fn judging_the_first_batch_gives_the_first_record() {
        let ws = std::env::temp_dir().join(format!(
            "aiart-judge-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&ws);
        let data = ws.join("photos");
        std::fs::create_dir_all(ws.join("held")).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        photo(40, 32, 1).save(data.join("a.png")).unwrap();
        photo(32, 44, 2).save(data.join("b.png")).unwrap();
        photo(36, 36, 3).save(ws.join("held/c.png")).unwrap();
        photo(48, 48, 4).save(ws.join("style.png")).unwrap();
        let text = "kind = \"fast_neural_style\"\n[data]\ndataset = \"photos\"\n\
                    style_image = \"style.png\"\nimage_size = 32\nstyle_size = 32\n\
                    sample_images = \"held\"\nsample_count = 1\n[model]\nvgg_weights = \"random\"\n\
                    [train]\nbatch_size = 2\ncontent_weight = 3.0\nstyle_weight = 7e4\n";
        let crate::preset::Preset::FastStyle(p) =
            crate::preset::parse(text, Path::new("p.toml"), &[]).unwrap()
        else {
            panic!("not a fast style preset")
        };
        let dev = Device::Cpu;
        let mut t = FastTrainer::new(&p, &ws, &dev).unwrap();
        // a copy of the weights before the update (the frozen network shares their storage,
        // which Adam updates in place)
        let sd = t
            .net
            .state_dict()
            .into_iter()
            .map(|(k, v)| (k, v.copy().unwrap()))
            .collect();
        let before = TransformerNet::for_inference(sd, "before", &dev).unwrap();
        let mut warnings = vec![];
        let x = t.photos.batch(0, 2, &dev, &mut warnings).unwrap();
        let rec = t.step(&x).unwrap();
        let load = |dir: &Path, count, w: &mut Vec<String>| load_photos(dir, 32, count, w).unwrap();
        let train = load(&data, None, &mut warnings);
        let j = judge_with_preset(&before, &p, &ws, &train, &dev, &mut warnings).unwrap();
        assert_eq!(j.photos, 2);
        let (c, s) = (rec.get("content").unwrap(), rec.get("style").unwrap());
        assert!(c > 0.0 && s > 0.0);
        // the frozen copy's 3×3 convolutions take Winograd: equal up to its rounding
        assert!((j.content / c - 1.0).abs() < 1e-3, "{} vs {c}", j.content);
        assert!((j.style / s - 1.0).abs() < 1e-3, "{} vs {s}", j.style);
        assert_eq!(j.total, j.content + j.style);
        // the trained network is judged differently
        let after = t.frozen_net().unwrap();
        let j2 = judge_with_preset(&after, &p, &ws, &train, &dev, &mut warnings).unwrap();
        assert_ne!(j2.style, j.style);
        // a count caps the photos; a folder that is not there is refused by name
        assert_eq!(load(&data, Some(1), &mut warnings).len(), 1);
        let e = load_photos(&ws.join("nope"), 32, None, &mut warnings)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope") && e.contains("no such folder"), "{e}");
        let _ = std::fs::remove_dir_all(&ws);
    }

    /// Sampling paints with a detached copy of the weights: the same weights bit for bit, no
    /// graph recorded, and the same pixels up to rounding. The rounding differs by design: without
    /// a graph the 3×3 stride-1 convolutions take Winograd (`Arith::Fast`), whose error the per-op
    /// fixtures measure at ≤ 16× PyTorch's float32 error, about 1.6e-5 of a layer's values. The
    /// network has 12 such convolutions (10 in the residual blocks, 2 after the upsamplings), so
    /// their errors add to at most ~2e-4 of the output's range; the input is seeded, so the check
    /// is the same on every run of one machine.
    #[test]
    fn a_frozen_copy_paints_as_the_trained_net_without_a_graph() {
        let dev = Device::Cpu;
        let net = TransformerNet::seeded(3, &dev).unwrap();
        let x = (crate::nn::kernels::testing::rand(&[2, 3, 20, 24], 11)
            .abs()
            .unwrap()
            * 100.0)
            .unwrap();
        let live = net.forward(&x).unwrap();
        assert!(live.track_op(), "the training network records its graph");
        let frozen = TransformerNet::for_inference(net.state_dict(), "test", &dev).unwrap();
        let (trained, copied) = (net.state_dict(), frozen.state_dict());
        assert_eq!(trained.len(), copied.len());
        for (k, t) in &trained {
            let c = copied
                .get(k)
                .unwrap_or_else(|| panic!("{k} missing from the copy"));
            assert_eq!(crate::max_abs_diff(t, c), 0.0, "{k}");
        }
        let y = frozen.forward(&x).unwrap();
        assert!(!y.track_op(), "the frozen copy records no graph");
        let d = crate::max_abs_diff(&live, &y);
        let scale = crate::max_abs_diff(&live, &live.zeros_like().unwrap());
        assert!(d > 0.0, "the copy's 3×3 convolutions take Winograd");
        assert!(d <= 2e-4 * scale, "{d} of {scale}");
    }
}
