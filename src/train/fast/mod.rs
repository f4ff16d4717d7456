//! Fast style transfer training (Johnson, Alahi & Fei-Fei 2016) as pytorch/examples
//! `fast_neural_style/neural_style.py train`: a TransformerNet learns to paint photos in one style,
//! judged by the perceptual losses of a fixed VGG; one Adam, batches of photos in order, every
//! epoch the same. Metrics record `step` k holds the losses of the k-th update, computed from the
//! weights before it (record 1 = the initial weights).

mod batch;
mod checkpoint;
pub mod judge;
pub mod stability;

use crate::data::grid;
use crate::data::image_io;
use crate::data::photos::{self, Photos};
use crate::data::temporal::{measure, Clips, TemporalError};
use crate::nn::hub;
use crate::nn::pool::Pooling;
use crate::nn::transformer_net::{TransformerNet, MIN_SIDE};
use crate::nn::vgg::{load_vgg_weights, InputNorm, Vgg, VggArch};
use crate::nn::weights;
use crate::nst::perceptual::{PerceptualLoss, CONTENT_LAYER, STYLE_LAYERS};
use crate::nst::setup;
use crate::preset::fast::FastStylePreset;
use crate::rng::SeededRng;
use crate::run::metrics::Losses;
use crate::train::optim::{Adam, AdamConfig};
use crate::workspace::resolve_path;
use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use std::path::Path;

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

/// The loss network `model.vgg_weights` names: "hub" (torchvision's VGG-16 with ImageNet
/// normalisation, the reference's), "bundled" (the shipped VGG-19, Caffe convention), "random"
/// (seeded VGG-16, tests) or a file (VGG-16 or VGG-19 by its keys). Offline, "hub" fails with the
/// hub's message before anything else.
pub fn load_loss_vgg(
    spec: &str,
    workspace: &Path,
    seed: u64,
    device: &Device,
    warnings: &mut Vec<String>,
) -> Result<Vgg> {
    match spec {
        "hub" => {
            let path = hub::fetch_vgg16()?;
            let sd = weights::load_state_dict(&path, device)?;
            Ok(Vgg::from_state_dict_arch(
                &sd,
                &path.display().to_string(),
                Pooling::Max,
                InputNorm::ImageNet,
                VggArch::Vgg16,
            )?)
        }
        "random" => {
            warnings.push(
                "vgg_weights = \"random\": a VGG-16 that has seen nothing; fine for tests, but \
                 what it teaches is not a style"
                    .into(),
            );
            let arch = VggArch::Vgg16;
            Ok(Vgg::random_arch(
                arch,
                seed,
                arch.widths(),
                Pooling::Max,
                device,
            )?)
        }
        setup::BUNDLED => {
            warnings.push(
                "vgg_weights = \"bundled\": the shipped VGG-19 (Caffe weights and input \
                 convention), not the reference's VGG-16; the same layer names are used, and the \
                 loss weights need tuning for it"
                    .into(),
            );
            Ok(setup::load_vgg(
                setup::BUNDLED,
                workspace,
                Pooling::Max,
                seed,
                device,
                warnings,
            )?)
        }
        p => {
            let path = resolve_path(workspace, Path::new(p));
            let (sd, norm) = load_vgg_weights(&path, device)?;
            let arch = if sd.contains_key("features.34.weight") {
                VggArch::Vgg19
            } else {
                VggArch::Vgg16
            };
            Ok(Vgg::from_state_dict_arch(
                &sd,
                &path.display().to_string(),
                Pooling::Max,
                norm,
                arch,
            )?)
        }
    }
}

/// The preset's perceptual losses: its loss VGG (`model.vgg_weights`) with the Gram matrices of
/// its style image (`data.style_image` at `data.style_size`) at relu1_2 … relu4_3 and the content
/// at relu2_2, as pytorch/examples builds them. Errors name the field (an unreadable style image,
/// one too small for relu4_3, a VGG that does not load).
pub fn perceptual_loss(
    p: &FastStylePreset,
    workspace: &Path,
    device: &Device,
    warnings: &mut Vec<String>,
) -> Result<PerceptualLoss> {
    let style_path = resolve_path(workspace, &p.data.style_image);
    let (style, note) =
        photos::style_image(&style_path, p.data.style_size, device).context("data.style_image")?;
    warnings.extend(note);
    let vgg = load_loss_vgg(
        &p.model.vgg_weights,
        workspace,
        p.train.seed,
        device,
        warnings,
    )
    .context("model.vgg_weights")?;
    let (_, _, sh, sw) = style.dims4()?;
    let need = 1 << 3;
    if sh.min(sw) < need {
        anyhow::bail!(
            "data.style_image: {}: {sw}×{sh} px, but VGG's relu4_3 needs at least {need} px a \
             side; raise data.style_size",
            style_path.display()
        );
    }
    Ok(PerceptualLoss::new(
        vgg,
        &style,
        &STYLE_LAYERS,
        CONTENT_LAYER,
    )?)
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
    use crate::nn::transformer_net::TransformerNet;
    use candle_core::Device;

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
