//! The NST preset: fields, the seed's defaults, and their validation.

use super::serde_util::one_or_many;
use crate::nn::vgg::VggArch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NstPreset {
    pub kind: String,
    #[serde(default)]
    pub data: NstData,
    #[serde(default)]
    pub model: NstModel,
    #[serde(default)]
    pub train: NstTrain,
    #[serde(default)]
    pub log: LogConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NstData {
    /// The photo whose content is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<PathBuf>,
    /// One or more style images.
    #[serde(deserialize_with = "one_or_many")]
    pub style: Vec<PathBuf>,
    /// Blend weights of the style images (normalised to sum to 1); equal when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style_blend: Option<Vec<f64>>,
    /// "content", "noise", or the path of an image to start from.
    pub init: String,
    /// Longest side of the generated image, in pixels.
    pub image_size: u32,
    /// Style images are resized to style_scale × image_size (longest side).
    pub style_scale: f64,
    /// Keep the content's colours and transfer luminance only.
    pub original_colors: bool,
}

impl Default for NstData {
    fn default() -> Self {
        Self {
            content: None,
            style: vec![],
            style_blend: None,
            init: "content".into(),
            image_size: 512,
            style_scale: 1.0,
            original_colors: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PoolingKind {
    Max,
    Avg,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NstModel {
    /// The loss network, jcj's `-model_file` choice: "vgg19" (the default, as jcj's) or "vgg16"
    /// (its conv1_1 … conv5_3; jcj's `relu1_1 … relu5_3` names are taken too). Not live.
    pub network: VggArch,
    /// "bundled" (the original VGG-19 shipped in weights/, Caffe input convention; VGG-19 only),
    /// "hub" (timm's vgg19.tv_in1k or vgg16.tv_in1k, torchvision's ImageNet weights, downloaded
    /// once and cached), "random" (seeded, for tests and benchmarks), or a path to a state dict of
    /// `network` in torchvision's layout (.pth / .safetensors).
    pub vgg_weights: String,
    #[serde(deserialize_with = "one_or_many")]
    pub content_layer: Vec<String>,
    /// λ_l for each style layer.
    pub style_layers: BTreeMap<String, f64>,
    pub pooling: PoolingKind,
}

/// The seed's style layers: conv1_1 … conv5_1, each weighted half the previous.
pub fn default_style_layers() -> BTreeMap<String, f64> {
    ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
        .iter()
        .enumerate()
        .map(|(i, l)| (l.to_string(), 0.5f64.powi(i as i32)))
        .collect()
}

impl Default for NstModel {
    fn default() -> Self {
        Self {
            network: VggArch::Vgg19,
            vgg_weights: "bundled".into(),
            content_layer: vec!["conv3_2".into()],
            style_layers: default_style_layers(),
            pooling: PoolingKind::Max,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    Lbfgs,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NstTrain {
    pub optimizer: OptimizerKind,
    /// Learning rate; defaults to 0.01 for Adam (the seed's) and 1.0 for L-BFGS (torch's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Iterations, one number for every scale or one per scale
    pub iterations: Iterations,
    /// Coarse to fine: the longest side at each scale, each starting from the previous result
    /// upsampled (Lanczos); the last is the output size. Empty: just `data.image_size`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scales: Vec<u32>,
    /// Exact tiled evaluation with tiles of this many px (0: never tile). Unset: tile (512 px)
    /// only where one untiled pass would need more than `TILE_BUDGET` of activations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tile: Option<u32>,
    /// α
    pub content_weight: f64,
    /// β
    pub style_weight: f64,
    /// γ
    pub tv_weight: f64,
    /// jcj's `-normalize_gradients`: each content and style layer's gradient (with respect to
    /// that layer's activations) is divided by its own L1 norm + 1e-8 before α, or β·λ_l, is
    /// applied. The costs logged are unchanged; only the direction the image moves in is.
    /// Default false, as jcj's. Not live.
    pub normalize_gradients: bool,
    pub seed: u64,
    /// "auto", "cpu" or "cuda:N".
    pub device: String,
    /// On a CUDA device, float32 matrix products and convolutions may use TensorFloat-32 (10-bit
    /// mantissa inputs, f32 accumulation), as PyTorch's `allow_tf32`; false: full f32, for
    /// comparing with the CPU tightly. Nothing on the CPU. Not live.
    pub tf32: bool,
}

impl Default for NstTrain {
    fn default() -> Self {
        Self {
            optimizer: OptimizerKind::Adam,
            lr: None,
            iterations: Iterations(vec![1000]),
            scales: vec![],
            tile: None,
            content_weight: 10.0,
            style_weight: 40.0,
            tv_weight: 0.0,
            normalize_gradients: false,
            seed: 0,
            device: "auto".into(),
            tf32: true,
        }
    }
}

/// `iterations`: one number (every scale) or a list (one per scale).
#[derive(Clone, Debug, PartialEq)]
pub struct Iterations(pub Vec<u64>);

impl Iterations {
    /// At scale `k`.
    pub fn at(&self, k: usize) -> u64 {
        match self.0.as_slice() {
            [one] => *one,
            many => many.get(k).copied().unwrap_or(0),
        }
    }
}

impl Serialize for Iterations {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_u64(*one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Iterations {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(u64),
            Many(Vec<u64>),
        }
        match Form::deserialize(d) {
            Ok(Form::One(n)) => Ok(Iterations(vec![n])),
            Ok(Form::Many(v)) => Ok(Iterations(v)),
            Err(_) => Err(serde::de::Error::custom(
                "expected a number of iterations, or a list of them (one per scale)",
            )),
        }
    }
}

impl NstTrain {
    /// The longest side at each scale.
    pub fn scale_sizes(&self, image_size: u32) -> Vec<u32> {
        if self.scales.is_empty() {
            vec![image_size]
        } else {
            self.scales.clone()
        }
    }

    /// Iterations at each of `n` scales.
    pub fn per_scale(&self, n: usize) -> Vec<u64> {
        (0..n).map(|k| self.iterations.at(k)).collect()
    }

    pub fn lr(&self) -> f64 {
        self.lr.unwrap_or(match self.optimizer {
            OptimizerKind::Adam => 0.01,
            OptimizerKind::Lbfgs => 1.0,
        })
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Print a progress line every N steps (metrics are recorded every step).
    pub print_every: u64,
    /// Write a sample image every N steps (0: only at the end).
    pub sample_every: u64,
    /// Write a checkpoint every N steps (0: only at the end). NST's checkpoint is the current image.
    pub checkpoint_every: u64,
    /// How many checkpoints to keep (the newest).
    pub keep_checkpoints: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            print_every: 50,
            sample_every: 100,
            checkpoint_every: 100,
            keep_checkpoints: 3,
        }
    }
}

impl LogConfig {
    pub fn check(&self, out: &mut Vec<Problem>) {
        if self.print_every == 0 {
            out.push(("log.print_every".into(), "must be at least 1".into()));
        }
        if self.keep_checkpoints == 0 {
            out.push(("log.keep_checkpoints".into(), "must be at least 1".into()));
        }
    }
}

/// A range problem: (dotted field, message).
pub type Problem = (String, String);

fn check_weight(out: &mut Vec<Problem>, field: &str, v: f64) {
    if !v.is_finite() || v < 0.0 {
        out.push((
            field.into(),
            format!("must be a finite number >= 0, got {v}"),
        ));
    }
}

fn check_layer(out: &mut Vec<Problem>, field: &str, name: &str, arch: VggArch) {
    if arch.layer_index(name).is_none() {
        let layers = arch.layers();
        let net = arch.name();
        let other = match arch {
            VggArch::Vgg16 => VggArch::Vgg19,
            VggArch::Vgg19 => VggArch::Vgg16,
        };
        let hint = if other.layer_index(name).is_some() {
            format!(
                "; {net} (model.network) has no such layer, only {}",
                layers.join(", ")
            )
        } else {
            super::locate::did_you_mean(name, layers.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_else(|| format!(" ({net} layers: {})", layers.join(", ")))
        };
        out.push((field.into(), format!("unknown layer `{name}`{hint}")));
    }
}

pub fn check_device(out: &mut Vec<Problem>, field: &str, d: &str) {
    let ok = d == "auto"
        || d == "cpu"
        || d == "cuda"
        || d.strip_prefix("cuda:")
            .is_some_and(|n| n.parse::<usize>().is_ok());
    if !ok {
        out.push((
            field.into(),
            format!("expected \"auto\", \"cpu\" or \"cuda:N\", got \"{d}\""),
        ));
    }
}

impl NstPreset {
    /// Range and consistency checks; files are checked when the run starts.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = vec![];
        let d = &self.data;
        if d.content.is_none() {
            out.push((
                "data.content".into(),
                "required: the content image (a path)".into(),
            ));
        }
        if d.style.is_empty() {
            out.push((
                "data.style".into(),
                "required: a style image (a path, or a list of paths)".into(),
            ));
        }
        if let Some(b) = &d.style_blend {
            if b.len() != d.style.len() {
                out.push((
                    "data.style_blend".into(),
                    format!("has {} weights for {} style images", b.len(), d.style.len()),
                ));
            }
            for w in b {
                check_weight(&mut out, "data.style_blend", *w);
            }
            if b.iter().sum::<f64>() <= 0.0 {
                out.push(("data.style_blend".into(), "the weights sum to 0".into()));
            }
        }
        if !(16..=8192).contains(&d.image_size) {
            out.push((
                "data.image_size".into(),
                format!(
                    "must be 16..=8192 px (VGG pools 4 times), got {}",
                    d.image_size
                ),
            ));
        }
        if !(d.style_scale.is_finite() && d.style_scale > 0.0 && d.style_scale <= 8.0) {
            out.push((
                "data.style_scale".into(),
                format!("must be in (0, 8], got {}", d.style_scale),
            ));
        }
        if d.init.is_empty() {
            out.push((
                "data.init".into(),
                "expected \"content\", \"noise\" or an image path".into(),
            ));
        }
        let m = &self.model;
        if m.vgg_weights.is_empty() {
            out.push((
                "model.vgg_weights".into(),
                "expected \"hub\", \"random\" or a path".into(),
            ));
        }
        if m.content_layer.is_empty() {
            out.push((
                "model.content_layer".into(),
                "needs at least one layer".into(),
            ));
        }
        if m.network == VggArch::Vgg16 && m.vgg_weights == "bundled" {
            out.push((
                "model.vgg_weights".into(),
                "the bundled weights are VGG-19's; with network = \"vgg16\" use \"hub\" \
                 (torchvision's VGG-16), a path to a VGG-16 state dict, or \"random\""
                    .into(),
            ));
        }
        for l in &m.content_layer {
            check_layer(&mut out, "model.content_layer", l, m.network);
        }
        for (l, w) in &m.style_layers {
            check_layer(&mut out, &format!("model.style_layers.{l}"), l, m.network);
            check_weight(&mut out, &format!("model.style_layers.{l}"), *w);
        }
        let t = &self.train;
        let lr = t.lr();
        if !(lr.is_finite() && lr > 0.0) {
            out.push(("train.lr".into(), format!("must be positive, got {lr}")));
        }
        let n = t.scale_sizes(d.image_size).len();
        if t.iterations.0.is_empty()
            || t.iterations
                .0
                .iter()
                .any(|i| !(1..=100_000_000).contains(i))
        {
            out.push((
                "train.iterations".into(),
                format!("each must be 1..=100000000, got {:?}", t.iterations.0),
            ));
        } else if t.iterations.0.len() > 1 && t.iterations.0.len() != n {
            out.push((
                "train.iterations".into(),
                format!(
                    "{} numbers for {n} scales: give one per scale, or one for all",
                    t.iterations.0.len()
                ),
            ));
        }
        for (k, s) in t.scales.iter().enumerate() {
            if !(16..=8192).contains(s) {
                out.push((
                    "train.scales".into(),
                    format!("scale {} is {s} px; each must be 16..=8192", k + 1),
                ));
            }
            if k > 0 && *s <= t.scales[k - 1] {
                out.push((
                    "train.scales".into(),
                    format!("must grow, coarse to fine: {:?}", t.scales),
                ));
            }
        }
        if let Some(tile) = t.tile {
            if tile != 0 && !(64..=8192).contains(&tile) {
                out.push((
                    "train.tile".into(),
                    format!("{tile} px: 0 (never tile) or 64..=8192"),
                ));
            }
        }
        check_weight(&mut out, "train.content_weight", t.content_weight);
        check_weight(&mut out, "train.style_weight", t.style_weight);
        check_weight(&mut out, "train.tv_weight", t.tv_weight);
        check_device(&mut out, "train.device", &t.device);
        self.log.check(&mut out);
        out
    }

    /// The preset with every default spelled out (the learning rate resolved).
    pub fn effective(&self) -> Self {
        let mut p = self.clone();
        p.train.lr = Some(self.train.lr());
        // with scales, the last is the output size
        if let Some(&last) = p.train.scales.last() {
            p.data.image_size = last;
        }
        p
    }

    /// Iterations over all scales.
    pub fn total_iterations(&self) -> u64 {
        let n = self.train.scale_sizes(self.data.image_size).len();
        self.train.per_scale(n).iter().sum()
    }
}
