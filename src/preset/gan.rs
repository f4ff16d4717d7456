//! The pix2pix and CycleGAN preset: the reference's option names and defaults
//! (pytorch-CycleGAN-and-pix2pix: base/train options and each model's own defaults).

use super::kind::Kind;
use super::nst::{check_device, LogConfig, Problem};
use crate::nn::gan::{DiscArch, GenArch};
use crate::nn::init::InitType;
use crate::nn::layers::NormKind;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The channel counts `model.input_nc` / `model.output_nc` take: what the reference's datasets
/// can feed (`Image.open(..).convert('RGB')`, then `transforms.Grayscale(1)` for a 1-channel side).
pub const CHANNELS: [usize; 2] = [1, 3];

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GanPreset {
    pub kind: String,
    #[serde(default)]
    pub data: GanData,
    #[serde(default)]
    pub model: GanModel,
    #[serde(default)]
    pub train: GanTrain,
    #[serde(default = "gan_log")]
    pub log: LogConfig,
}

fn gan_log() -> LogConfig {
    LogConfig {
        print_every: 100,
        sample_every: 400,
        checkpoint_every: 5000,
        keep_checkpoints: 3,
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum Direction {
    AtoB,
    BtoA,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Preprocess {
    ResizeAndCrop,
    Crop,
    ScaleWidth,
    ScaleWidthAndCrop,
    None,
}

/// `data.dataset_mode`: the reference's `--dataset_mode`. Unset: the kind's own (aligned for
/// pix2pix, unaligned for CycleGAN). `colorization` (pix2pix only, its `--model colorization`):
/// plain photos (`dataroot/train/`, or the photos directly in `dataroot`), A = the L channel
/// (1 channel), B = ab (2 channels), so 1 input and 2 output channels (`data::dataset`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DatasetMode {
    Aligned,
    Unaligned,
    Colorization,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GanMode {
    Lsgan,
    Vanilla,
    /// The reference's `wgangp`: the Wasserstein critic loss, −mean(D(x)) for real and mean(D(x))
    /// for fake. As in pytorch-CycleGAN-and-pix2pix, no gradient penalty is added: its models
    /// never call `networks.cal_gradient_penalty`.
    Wgangp,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GanData {
    /// The dataset folder: train/ (pix2pix, A|B side by side) or trainA/ + trainB/ (CycleGAN).
    pub dataroot: PathBuf,
    pub direction: Direction,
    pub load_size: u32,
    pub crop_size: u32,
    pub preprocess: Preprocess,
    pub no_flip: bool,
    pub serial_batches: bool,
    pub batch_size: usize,
    /// The reference's `--max_dataset_size`: train on the first N images of each folder (in
    /// sorted order); unset: all (the reference's default, infinity)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_dataset_size: Option<usize>,
    /// The reference's `--dataset_mode` (`DatasetMode`); unset: the kind's own layout
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_mode: Option<DatasetMode>,
}

impl Default for GanData {
    fn default() -> Self {
        Self {
            dataroot: PathBuf::new(),
            direction: Direction::AtoB,
            load_size: 286,
            crop_size: 256,
            preprocess: Preprocess::ResizeAndCrop,
            no_flip: false,
            serial_batches: false,
            batch_size: 1,
            max_dataset_size: None,
            dataset_mode: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GanModel {
    /// The reference's `--input_nc`: channels of the generator's input (domain A): 1 (grayscale,
    /// PIL's `convert('L')` of each image) or 3 (RGB); unset: 3. Read through
    /// [`GanPreset::input_nc`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_nc: Option<usize>,
    /// The reference's `--output_nc`: channels of the generator's output (domain B): 1 or 3;
    /// unset: 3. Read through [`GanPreset::output_nc`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_nc: Option<usize>,
    /// pix2pix: unet_256; CycleGAN: resnet_9blocks
    #[serde(rename = "netG", skip_serializing_if = "Option::is_none")]
    pub net_g: Option<String>,
    #[serde(rename = "netD")]
    pub net_d: DiscArch,
    #[serde(rename = "n_layers_D")]
    pub n_layers_d: usize,
    pub ngf: usize,
    pub ndf: usize,
    /// pix2pix: batch; CycleGAN: instance
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm: Option<NormKind>,
    /// pix2pix: false; CycleGAN: true
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_dropout: Option<bool>,
    pub init_gain: f64,
    /// The reference's `--init_type` for convolution weights: normal (default), xavier, kaiming,
    /// orthogonal (`nn::init`)
    pub init_type: InitType,
    /// Start from these weights: a folder of the reference's *_net_G.pth … files, a run checkpoint,
    /// or a published model's name (`data::models::init_from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_from: Option<PathBuf>,
}

impl Default for GanModel {
    fn default() -> Self {
        Self {
            input_nc: None,
            output_nc: None,
            net_g: None,
            net_d: DiscArch::Basic,
            n_layers_d: 3,
            ngf: 64,
            ndf: 64,
            norm: None,
            no_dropout: None,
            init_gain: 0.02,
            init_type: InitType::Normal,
            init_from: None,
        }
    }
}

/// `train.lr_policy`: the reference's learning-rate policies (`networks.get_scheduler`): `linear`
/// (constant for n_epochs, then linearly down over n_epochs_decay), `step` (× 0.1 every
/// lr_decay_iters epochs), `plateau` (× 0.2 after 6 epochs without a 1 % better metric; the
/// reference's metric is always 0, so every 6 epochs after the first), `cosine` (cosine annealing
/// to 0 over n_epochs, then back up, as PyTorch's CosineAnnealingLR).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LrPolicy {
    #[default]
    Linear,
    Step,
    Plateau,
    Cosine,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GanTrain {
    /// pix2pix: vanilla; CycleGAN: lsgan
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gan_mode: Option<GanMode>,
    pub lr: f64,
    pub beta1: f64,
    pub n_epochs: u64,
    pub n_epochs_decay: u64,
    /// The reference's `--lr_policy`: linear (default), step, plateau, cosine
    /// (`train::gan::schedule`).
    pub lr_policy: LrPolicy,
    /// `step`: the lr is multiplied by 0.1 every this many epochs (the reference's
    /// `--lr_decay_iters`, default 50)
    pub lr_decay_iters: u64,
    #[serde(rename = "lambda_L1")]
    pub lambda_l1: f64,
    #[serde(rename = "lambda_A")]
    pub lambda_a: f64,
    #[serde(rename = "lambda_B")]
    pub lambda_b: f64,
    pub lambda_identity: f64,
    /// pix2pix: 0; CycleGAN: 50
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<usize>,
    pub seed: u64,
    pub device: String,
    /// On a CUDA device, float32 matrix products and convolutions may use TensorFloat-32 (10-bit
    /// mantissa inputs, f32 accumulation), as PyTorch's `allow_tf32`; false: full f32, for
    /// comparing with the CPU tightly. Nothing on the CPU. Not live.
    pub tf32: bool,
}

impl Default for GanTrain {
    fn default() -> Self {
        Self {
            gan_mode: None,
            lr: 0.0002,
            beta1: 0.5,
            n_epochs: 100,
            n_epochs_decay: 100,
            lr_policy: LrPolicy::Linear,
            lr_decay_iters: 50,
            lambda_l1: 100.0,
            lambda_a: 10.0,
            lambda_b: 10.0,
            lambda_identity: 0.5,
            pool_size: None,
            seed: 0,
            device: "auto".into(),
            tf32: true,
        }
    }
}

impl GanPreset {
    pub fn is_cyclegan(&self) -> bool {
        self.kind == Kind::CycleGan.as_str()
    }

    /// pix2pix or CycleGAN, by `kind`.
    pub fn kind(&self) -> Kind {
        if self.is_cyclegan() {
            Kind::CycleGan
        } else {
            Kind::Pix2Pix
        }
    }

    /// Whether this is the reference's colorization model: pix2pix with `data.dataset_mode =
    /// "colorization"` (L → ab in CIE Lab).
    pub fn is_colorization(&self) -> bool {
        self.data.dataset_mode == Some(DatasetMode::Colorization)
    }

    /// The preset with the model's own defaults filled in (they differ between pix2pix and CycleGAN).
    pub fn effective(&self) -> Self {
        let mut p = self.clone();
        let cyc = self.is_cyclegan();
        let m = &mut p.model;
        m.net_g.get_or_insert_with(|| {
            if cyc {
                "resnet_9blocks".into()
            } else {
                "unet_256".into()
            }
        });
        m.norm.get_or_insert(if cyc {
            NormKind::Instance
        } else {
            NormKind::Batch
        });
        m.no_dropout.get_or_insert(cyc);
        p.train.gan_mode.get_or_insert(if cyc {
            GanMode::Lsgan
        } else {
            GanMode::Vanilla
        });
        p.train.pool_size.get_or_insert(if cyc { 50 } else { 0 });
        p
    }

    /// Channels of the generator's input, domain A's images (the reference's `--input_nc`):
    /// the field, else 1 for colorization (L, as its `modify_commandline_options` sets), else 3.
    /// 1 means each A image is PIL's grayscale of it (`data::image_io::grayscale`). The one place
    /// the count is read: networks, datasets, samples and checkpoints ask here.
    pub fn input_nc(&self) -> usize {
        let implied = if self.is_colorization() { 1 } else { 3 };
        self.model.input_nc.unwrap_or(implied)
    }

    /// Channels of the generator's output, domain B's images (the reference's `--output_nc`):
    /// the field, else 2 for colorization (ab), else 3; see [`GanPreset::input_nc`].
    pub fn output_nc(&self) -> usize {
        let implied = if self.is_colorization() { 2 } else { 3 };
        self.model.output_nc.unwrap_or(implied)
    }

    pub fn net_g(&self) -> String {
        self.effective().model.net_g.expect("filled by effective")
    }
    pub fn norm(&self) -> NormKind {
        self.effective().model.norm.expect("filled by effective")
    }
    pub fn dropout(&self) -> bool {
        !self
            .effective()
            .model
            .no_dropout
            .expect("filled by effective")
    }
    pub fn gan_mode(&self) -> GanMode {
        self.effective()
            .train
            .gan_mode
            .expect("filled by effective")
    }
    pub fn pool_size(&self) -> usize {
        self.effective()
            .train
            .pool_size
            .expect("filled by effective")
    }

    pub fn problems(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = vec![];
        let mut bad = |f: &str, m: String| out.push((f.to_string(), m));
        let d = &self.data;
        if d.max_dataset_size == Some(0) {
            bad(
                "data.max_dataset_size",
                "must be at least 1 (leave it out for every image)".into(),
            );
        }
        match (self.is_cyclegan(), d.dataset_mode) {
            (true, Some(m @ (DatasetMode::Aligned | DatasetMode::Colorization)))
            | (false, Some(m @ DatasetMode::Unaligned)) => {
                let name = serde_json::to_value(m).unwrap_or_default();
                let own = if self.is_cyclegan() {
                    "\"unaligned\""
                } else {
                    "\"aligned\" or \"colorization\""
                };
                bad(
                    "data.dataset_mode",
                    format!(
                        "{name} does not go with kind = \"{}\" (it takes {own})",
                        self.kind
                    ),
                );
            }
            _ => {}
        }
        if self.is_colorization() && d.direction == Direction::BtoA {
            bad(
                "data.direction",
                "colorization translates L to ab only: must be \"AtoB\" (as the reference asserts)"
                    .into(),
            );
        }
        if d.dataroot.as_os_str().is_empty() {
            bad("data.dataroot", "required: the dataset folder".into());
        }
        if !(1..=8192).contains(&d.crop_size) {
            bad(
                "data.crop_size",
                format!("must be 1..=8192, got {}", d.crop_size),
            );
        }
        if !(1..=8192).contains(&d.load_size) {
            bad(
                "data.load_size",
                format!("must be 1..=8192, got {}", d.load_size),
            );
        }
        let crops = matches!(
            d.preprocess,
            Preprocess::ResizeAndCrop | Preprocess::ScaleWidthAndCrop
        );
        if crops && d.load_size < d.crop_size {
            bad(
                "data.load_size",
                format!("{} is smaller than crop_size {}", d.load_size, d.crop_size),
            );
        }
        if d.batch_size == 0 {
            bad("data.batch_size", "must be at least 1".into());
        }
        let net_g = self.net_g();
        // the size rules the preset alone decides: preset/mod.rs adds them (sizes.rs)
        if GenArch::parse(&net_g).is_none() {
            bad(
                "model.netG",
                format!("unknown generator `{net_g}` (expected {})", GenArch::HELP),
            );
        }
        let m = &self.model;
        if self.is_colorization() {
            // L in, ab out: the dataset gives nothing else
            for (f, v, want) in [
                ("model.input_nc", m.input_nc, 1),
                ("model.output_nc", m.output_nc, 2),
            ] {
                if let Some(n) = v.filter(|n| *n != want) {
                    bad(
                        f,
                        format!(
                            "must be {want} with data.dataset_mode = \"colorization\" (L in, ab \
                             out), got {n}; leave it out"
                        ),
                    );
                }
            }
        }
        for (f, v) in [
            ("model.input_nc", m.input_nc),
            ("model.output_nc", m.output_nc),
        ] {
            if let Some(n) = v.filter(|n| !CHANNELS.contains(n) && !self.is_colorization()) {
                let ab = if f == "model.output_nc" && n == 2 {
                    "; 2 output channels (ab from L) is colorization: data.dataset_mode = \
                     \"colorization\""
                } else {
                    ""
                };
                bad(
                    f,
                    format!(
                        "must be 1 (grayscale) or 3 (RGB), got {n}: images are read as RGB and a \
                         side with 1 channel as their grayscale, as the reference's datasets do{ab}"
                    ),
                );
            }
        }
        if m.ngf == 0 {
            bad("model.ngf", "must be at least 1".into());
        }
        if m.ndf == 0 {
            bad("model.ndf", "must be at least 1".into());
        }
        if m.n_layers_d == 0 {
            bad("model.n_layers_D", "must be at least 1".into());
        }
        if !(m.init_gain.is_finite() && m.init_gain > 0.0) {
            bad(
                "model.init_gain",
                format!("must be positive, got {}", m.init_gain),
            );
        }
        let t = &self.train;
        if !(t.lr.is_finite() && t.lr > 0.0) {
            bad("train.lr", format!("must be positive, got {}", t.lr));
        }
        if !(0.0..1.0).contains(&t.beta1) {
            bad("train.beta1", format!("must be in [0, 1), got {}", t.beta1));
        }
        if t.lr_policy == LrPolicy::Step && t.lr_decay_iters == 0 {
            bad(
                "train.lr_decay_iters",
                "must be at least 1 with lr_policy = \"step\"".into(),
            );
        }
        if t.lr_policy == LrPolicy::Cosine && t.n_epochs == 0 {
            bad(
                "train.n_epochs",
                "must be at least 1 with lr_policy = \"cosine\" (its period)".into(),
            );
        }
        if t.n_epochs + t.n_epochs_decay == 0 {
            bad(
                "train.n_epochs",
                "n_epochs + n_epochs_decay must be at least 1".into(),
            );
        }
        for (f, v) in [
            ("train.lambda_L1", t.lambda_l1),
            ("train.lambda_A", t.lambda_a),
            ("train.lambda_B", t.lambda_b),
            ("train.lambda_identity", t.lambda_identity),
        ] {
            if !v.is_finite() || v < 0.0 {
                bad(f, format!("must be a finite number >= 0, got {v}"));
            }
        }
        // the identity loss feeds B images to G_A and A images to G_B: the reference asserts
        // input_nc == output_nc when lambda_identity > 0 (cycle_gan_model.py)
        let (i, o) = (self.input_nc(), self.output_nc());
        if self.is_cyclegan() && i != o && t.lambda_identity > 0.0 {
            bad(
                "train.lambda_identity",
                format!(
                    "must be 0 when model.input_nc ({i}) and model.output_nc ({o}) differ: the \
                     identity loss feeds B images to G_A (the reference asserts the same)"
                ),
            );
        }
        check_device(&mut out, "train.device", &t.device);
        self.log.check(&mut out);
        out
    }
}
