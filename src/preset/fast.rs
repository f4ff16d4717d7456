//! The fast style transfer preset (`kind = "fast_neural_style"`): the options of pytorch/examples
//! `fast_neural_style/neural_style.py train` under the workbench's sections, with its defaults
//! (content weight 1e5, style weight 1e10, Adam lr 1e-3, batch 4, 256 px, 2 epochs, seed 42).

use super::nst::{check_device, LogConfig, Problem};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Smallest `data.image_size`: VGG's relu4_3 sits behind three 2×2 pools (8 px leave 1×1), and the
/// TransformerNet returns the input's size only for sides that are multiples of 4.
pub const MIN_IMAGE_SIZE: u32 = 8;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FastStylePreset {
    pub kind: String,
    #[serde(default)]
    pub data: FastData,
    #[serde(default)]
    pub model: FastModel,
    #[serde(default)]
    pub train: FastTrain,
    #[serde(default = "fast_log", deserialize_with = "fast_log_over")]
    pub log: LogConfig,
}

/// A `[log]` table's fields as written; the absent ones keep this kind's defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogFields {
    print_every: Option<u64>,
    sample_every: Option<u64>,
    checkpoint_every: Option<u64>,
    keep_checkpoints: Option<u64>,
}

/// `[log]` over `fast_log()`: a table that sets one interval keeps the others at this kind's
/// defaults (not at style transfer's, which `LogConfig`'s own default holds).
fn fast_log_over<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LogConfig, D::Error> {
    let f = LogFields::deserialize(d)?;
    let base = fast_log();
    Ok(LogConfig {
        print_every: f.print_every.unwrap_or(base.print_every),
        sample_every: f.sample_every.unwrap_or(base.sample_every),
        checkpoint_every: f.checkpoint_every.unwrap_or(base.checkpoint_every),
        keep_checkpoints: f.keep_checkpoints.unwrap_or(base.keep_checkpoints),
    })
}

/// The reference logs every 500 batches and checkpoints every 2000.
fn fast_log() -> LogConfig {
    LogConfig {
        print_every: 500,
        sample_every: 500,
        checkpoint_every: 2000,
        keep_checkpoints: 3,
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FastData {
    /// Folder of photos, read recursively (the reference's `--dataset`, an ImageFolder).
    pub dataset: PathBuf,
    /// The style image (`--style-image`).
    pub style_image: PathBuf,
    /// Photos are resized (shorter side) and centre-cropped to this (`--image-size`).
    pub image_size: u32,
    /// The style image is resized to style_size × style_size (`--style-size`); 0: its own size.
    pub style_size: u32,
    /// Folder of held-out photos shown in samples; empty: the dataset's last `sample_count`
    /// photos, which are then not trained on.
    pub sample_images: PathBuf,
    pub sample_count: usize,
}

impl Default for FastData {
    fn default() -> Self {
        Self {
            dataset: PathBuf::new(),
            style_image: PathBuf::new(),
            image_size: 256,
            style_size: 0,
            sample_images: PathBuf::new(),
            sample_count: 4,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FastModel {
    /// "hub": torchvision's VGG-16 (the reference's); "bundled": the shipped VGG-19 (Caffe
    /// weights: not the reference, loss weights need re-tuning); a path; "random" (tests).
    pub vgg_weights: String,
}

impl Default for FastModel {
    fn default() -> Self {
        Self {
            vgg_weights: "hub".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FastTrain {
    pub epochs: u64,
    pub batch_size: usize,
    pub lr: f64,
    /// How many of the last `epochs` train at a linearly falling lr, the reference's `linear`
    /// policy of pix2pix and CycleGAN (`train::gan::schedule::linear_lr` with n_epochs = epochs −
    /// this, n_epochs_decay = this): epoch e (from 1) trains at lr · (1 − max(0, e − (epochs −
    /// N)) / (N + 1)), so the last at lr / (N + 1), never 0. 0 (the default, as pytorch/examples):
    /// the lr throughout. At most `epochs`. Live.
    pub lr_decay_epochs: u64,
    pub content_weight: f64,
    pub style_weight: f64,
    pub seed: u64,
    pub device: String,
    /// As the other kinds: TF32 on CUDA; nothing on the CPU. Not live.
    pub tf32: bool,
    /// Video: the weight of the stability term, ‖S(W(x) + Δ) − W(S(x))‖² on outputs in levels /
    /// 255 (compound regularisation, Wang et al. 2020; `train::fast::stability`), which teaches
    /// the network to answer a slightly moved, noisy photo with the same picture moved: steadier
    /// clips. 0 (the default, as pytorch/examples): off. Not live.
    pub stability_weight: f64,
    /// How many pixels the stability term's window travels (1..=64; 4 covers every offset
    /// against the network's stride-2 grid).
    pub stability_shift: usize,
    /// The stability term's sensor noise Δ: its standard deviation in levels of 255 (0: none).
    pub stability_noise: f64,
    /// The stability term's warm-up: its weight rises linearly from 0 to `stability_weight` over
    /// the first this many updates (update k of a run, from 0, weighs k / N of it), so the style
    /// forms before the term holds it steady; 0 (the default): the full weight from the first
    /// update. Not live.
    pub stability_ramp_steps: u64,
    /// The stability term's norm: "l2" (the default: the mean square, as Wang et al. 2020) or
    /// "l1" (the mean absolute difference, the temporal error's own norm: it pulls small
    /// differences, such as sensor noise's, as hard as large ones; weights about 10× smaller
    /// for a like pull). Not live.
    pub stability_norm: StabilityNorm,
}

/// The norm of the stability term (`train.stability_norm`).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StabilityNorm {
    /// mean((a − b)²)
    #[default]
    L2,
    /// mean(|a − b|)
    L1,
}

impl Default for FastTrain {
    fn default() -> Self {
        Self {
            epochs: 2,
            batch_size: 4,
            lr: 1e-3,
            lr_decay_epochs: 0,
            content_weight: 1e5,
            style_weight: 1e10,
            seed: 42,
            device: "auto".into(),
            tf32: true,
            stability_weight: 0.0,
            stability_shift: 4,
            stability_noise: 3.0,
            stability_ramp_steps: 0,
            stability_norm: StabilityNorm::L2,
        }
    }
}

impl FastStylePreset {
    /// The preset as it runs (nothing is filled in later: every default is the reference's).
    pub fn effective(&self) -> Self {
        self.clone()
    }

    /// Range and consistency checks; files and folders are checked when the run starts.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = vec![];
        let mut bad = |f: &str, m: String| out.push((f.to_string(), m));
        let d = &self.data;
        if d.dataset.as_os_str().is_empty() {
            bad(
                "data.dataset",
                "required: a folder of photos (read recursively)".into(),
            );
        }
        if d.style_image.as_os_str().is_empty() {
            bad(
                "data.style_image",
                "required: the style image (a path)".into(),
            );
        }
        if d.image_size < MIN_IMAGE_SIZE || d.image_size > 8192 || !d.image_size.is_multiple_of(4) {
            bad(
                "data.image_size",
                format!(
                    "must be a multiple of 4 in {MIN_IMAGE_SIZE}..=8192, got {}: VGG's relu4_3 needs \
                     at least {MIN_IMAGE_SIZE} px, and the TransformerNet gives back the size it \
                     takes only for multiples of 4 (its two stride-2 convolutions)",
                    d.image_size
                ),
            );
        }
        if d.style_size != 0 && !(MIN_IMAGE_SIZE..=8192).contains(&d.style_size) {
            bad(
                "data.style_size",
                format!(
                    "must be 0 (the style image's own size) or {MIN_IMAGE_SIZE}..=8192, got {}",
                    d.style_size
                ),
            );
        }
        if d.sample_count == 0 {
            bad("data.sample_count", "must be at least 1".into());
        }
        if self.model.vgg_weights.is_empty() {
            bad(
                "model.vgg_weights",
                "required: \"hub\", \"bundled\", \"random\" or a path".into(),
            );
        }
        let t = &self.train;
        if t.epochs == 0 {
            bad("train.epochs", "must be at least 1".into());
        }
        if t.batch_size == 0 {
            bad("train.batch_size", "must be at least 1".into());
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            bad("train.lr", format!("must be positive, got {}", t.lr));
        }
        if t.lr_decay_epochs > t.epochs {
            bad(
                "train.lr_decay_epochs",
                format!(
                    "must be at most train.epochs ({}), got {}",
                    t.epochs, t.lr_decay_epochs
                ),
            );
        }
        // the window must keep 8 px of the photo only where the term runs
        let too_far = t.stability_weight > 0.0 && t.stability_shift + 8 > d.image_size as usize;
        if !(1..=64).contains(&t.stability_shift) || too_far {
            bad(
                "train.stability_shift",
                format!(
                    "must be 1..=64 and, with train.stability_weight > 0, leave at least 8 px of \
                     data.image_size ({}), got {}",
                    d.image_size, t.stability_shift
                ),
            );
        }
        for (f, v) in [
            ("train.content_weight", t.content_weight),
            ("train.style_weight", t.style_weight),
            ("train.stability_weight", t.stability_weight),
            ("train.stability_noise", t.stability_noise),
        ] {
            if !v.is_finite() || v < 0.0 {
                bad(f, format!("must be a finite number >= 0, got {v}"));
            }
        }
        check_device(&mut out, "train.device", &t.device);
        self.log.check(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::preset::{parse, Preset, PresetError};
    use std::path::Path;

    const MINIMAL: &str =
        "kind = \"fast_neural_style\"\n[data]\ndataset = \"photos\"\nstyle_image = \"s.jpg\"\n";

    fn parse_str(text: &str) -> Result<Preset, PresetError> {
        parse(text, Path::new("fast.toml"), &[])
    }

    #[test]
    fn defaults_are_the_references() {
        let Preset::FastStyle(p) = parse_str(MINIMAL).unwrap() else {
            panic!("not a fast style preset")
        };
        let t = &p.train;
        assert_eq!((t.content_weight, t.style_weight, t.lr), (1e5, 1e10, 1e-3));
        assert_eq!((t.batch_size, t.epochs, t.seed), (4, 2, 42));
        assert_eq!((p.data.image_size, p.data.style_size), (256, 0));
        assert_eq!(p.model.vgg_weights, "hub");
        assert_eq!(
            Preset::FastStyle(p.clone()).kind(),
            "fast_neural_style",
            "run.json's kind"
        );
        // the effective preset round-trips
        let again = parse_str(&Preset::FastStyle(p.clone()).to_toml()).unwrap();
        assert_eq!(again, Preset::FastStyle(p));
    }

    #[test]
    fn a_log_table_keeps_this_kinds_defaults_for_what_it_leaves_out() {
        let Preset::FastStyle(p) =
            parse_str(&format!("{MINIMAL}[log]\nsample_every = 7\n")).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (
                p.log.print_every,
                p.log.sample_every,
                p.log.checkpoint_every
            ),
            (500, 7, 2000)
        );
        let e = parse_str(&format!("{MINIMAL}[log]\nsample_evry = 7\n")).unwrap_err();
        assert!(e.to_string().contains("log.sample_evry"), "{e}");
        let e = parse_str(&format!("{MINIMAL}[log]\nprint_every = 0\n")).unwrap_err();
        assert!(
            e.to_string().contains("fast.toml:6") && e.to_string().contains("log.print_every"),
            "{e}"
        );
    }

    #[test]
    fn problems_name_file_line_and_field() {
        let text = "kind = \"fast_neural_style\"\n[data]\ndataset = \"photos\"\nstyle_image = \"s.jpg\"\nimage_size = 30\n[train]\nbatch_size = 0\nstyle_weight = -1.0\n";
        let e = parse_str(text).unwrap_err();
        let lines: Vec<String> = e.issues.iter().map(|i| i.to_string()).collect();
        let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
        assert!(
            has("fast.toml:5") && has("data.image_size") && has("multiple of 4"),
            "{lines:?}"
        );
        assert!(has("fast.toml:7") && has("train.batch_size"), "{lines:?}");
        assert!(has("fast.toml:8") && has("train.style_weight"), "{lines:?}");
        assert_eq!(lines.len(), 3, "{lines:?}");
    }

    #[test]
    fn sizes_below_what_vgg_needs_are_refused_and_the_smallest_taken() {
        for (size, ok) in [(4, false), (8, true), (10, false), (12, true), (256, true)] {
            let text = MINIMAL.replace("style_image", &format!("image_size = {size}\nstyle_image"));
            assert_eq!(parse_str(&text).is_ok(), ok, "image_size {size}");
        }
        let e = parse_str(&MINIMAL.replace("dataset = \"photos\"\n", "")).unwrap_err();
        assert!(e.to_string().contains("data.dataset"), "{e}");
        let e = parse_str(&format!("{MINIMAL}[train]\nepochs = 0\nlr = 0.0\n")).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("train.epochs") && s.contains("train.lr"), "{s}");
    }

    #[test]
    fn the_stability_norm_is_l2_unless_l1_is_asked_and_nothing_else_is_taken() {
        let norm = |text: &str| match parse_str(text).unwrap() {
            Preset::FastStyle(p) => p.train.stability_norm,
            _ => panic!("not a fast style preset"),
        };
        assert_eq!(norm(MINIMAL), super::StabilityNorm::L2);
        let l1 = format!("{MINIMAL}[train]\nstability_norm = \"l1\"\n");
        assert_eq!(norm(&l1), super::StabilityNorm::L1);
        let e = parse_str(&format!("{MINIMAL}[train]\nstability_norm = \"l3\"\n")).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("fast.toml:6") && s.contains("stability_norm") && s.contains("l1"),
            "{s}"
        );
    }

    #[test]
    fn unknown_fields_and_overrides_are_named() {
        let e = parse_str(&format!("{MINIMAL}content_weigth = 1.0\n")).unwrap_err();
        assert!(e.to_string().contains("data.content_weigth"), "{e}");
        let e = parse(
            MINIMAL,
            Path::new("fast.toml"),
            &["train.batch_size=0".to_string()],
        )
        .unwrap_err();
        assert!(e.to_string().contains("--set train.batch_size=0"), "{e}");
        let Preset::FastStyle(p) = parse(
            MINIMAL,
            Path::new("fast.toml"),
            &["train.style_weight=1e9".to_string()],
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(p.train.style_weight, 1e9);
    }
}
