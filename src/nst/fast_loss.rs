//! Fast style transfer's loss network as a preset names it, and the judgement of a network by
//! it (issue 33's style measure). The trainer (`train::fast`) builds its losses here; `aiart
//! model losses` judges a finished network with the same: training's own content and style losses
//! (`PerceptualLoss::losses`, weighted by the preset's `content_weight` and `style_weight`), but
//! of one network on a fixed set of photos — held-out ones by default — where the metrics record
//! only holds each update's batch under weights that were still moving. Two networks trained from
//! one preset (with and without the stability term, say) compare by it without the noise of the
//! last epoch's batches.

use super::perceptual::{PerceptualLoss, CONTENT_LAYER, STYLE_LAYERS};
use super::setup;
use crate::data::image_io;
use crate::data::photos::{self, list_photos, resize_and_crop, to_tensor_255};
use crate::nn::hub;
use crate::nn::pool::Pooling;
use crate::nn::transformer_net::TransformerNet;
use crate::nn::vgg::{load_vgg_weights, InputNorm, Vgg, VggArch};
use crate::nn::weights;
use crate::preset::fast::FastStylePreset;
use crate::workspace::resolve_path;
use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use image::RgbImage;
use std::path::Path;

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

/// Mean losses over a set of photos, weighted as training weighs them.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Judgement {
    /// content_weight · MSE(relu2_2 of the painting, of the photo), the mean over the photos
    pub content: f64,
    /// style_weight · Σ over relu1_2 … relu4_3 of MSE(Gram of the painting, of the style), the
    /// mean over the photos
    pub style: f64,
    /// content + style
    pub total: f64,
    /// How many photos were judged
    pub photos: usize,
}

/// The images under `dir` (recursively, in the training's order), each resized so its shorter
/// side is `size` and centre-cropped to a square (the training's transform), at most `count`
/// (all for None); unreadable files are skipped and named in `warnings`.
///
/// Errors: no such folder, no image in it, none readable.
pub fn load_photos(
    dir: &Path,
    size: u32,
    count: Option<usize>,
    warnings: &mut Vec<String>,
) -> Result<Vec<RgbImage>> {
    if !dir.is_dir() {
        bail!("{}: no such folder of photos", dir.display());
    }
    let files = list_photos(dir);
    if files.is_empty() {
        bail!(
            "{}: holds no images (jpg, png, …), at any depth",
            dir.display()
        );
    }
    let mut out = vec![];
    for path in files {
        if count.is_some_and(|n| out.len() == n) {
            break;
        }
        match image_io::load_rgb(&path) {
            Ok((img, _)) => out.push(resize_and_crop(img, size)),
            Err(e) => warnings.push(format!("skipping {e}")),
        }
    }
    if out.is_empty() {
        bail!(
            "{}: none of its images could be read (each named above)",
            dir.display()
        );
    }
    Ok(out)
}

/// The losses of `net` on `photos` (squares of one size, 0–255 after `to_tensor_255`), in
/// batches of `batch_size`: the painting is the network's raw output, unclamped, as training
/// judges it. Each batch's losses are means over its photos, so they are weighted by its size.
///
/// Errors: an empty set, photos of different sizes, candle's.
pub fn judge(
    net: &TransformerNet,
    loss: &PerceptualLoss,
    photos: &[RgbImage],
    batch_size: usize,
    content_weight: f64,
    style_weight: f64,
    device: &Device,
) -> Result<Judgement> {
    if photos.is_empty() {
        bail!("no photos to judge the network on");
    }
    let (mut content, mut style) = (0f64, 0f64);
    for chunk in photos.chunks(batch_size.max(1)) {
        let xs = chunk
            .iter()
            .map(|img| to_tensor_255(img, device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let x = Tensor::cat(&xs, 0)?;
        let y = net.forward(&x)?;
        let l = loss.losses(&x, &y, content_weight, style_weight)?;
        let n = chunk.len() as f64;
        content += n * l
            .content
            .to_dtype(candle_core::DType::F64)?
            .to_scalar::<f64>()?;
        style += n * l
            .style
            .to_dtype(candle_core::DType::F64)?
            .to_scalar::<f64>()?;
    }
    let n = photos.len() as f64;
    let (content, style) = (content / n, style / n);
    Ok(Judgement {
        content,
        style,
        total: content + style,
        photos: photos.len(),
    })
}

/// [`judge`] with everything from a preset: its perceptual losses ([`perceptual_loss`]), its
/// weights and batch size. Notes (a VGG that is not the reference's) go to `warnings`.
pub fn judge_with_preset(
    net: &TransformerNet,
    preset: &FastStylePreset,
    workspace: &Path,
    photos: &[RgbImage],
    device: &Device,
    warnings: &mut Vec<String>,
) -> Result<Judgement> {
    let p = preset.effective();
    let loss = perceptual_loss(&p, workspace, device, warnings)?;
    judge(
        net,
        &loss,
        photos,
        p.train.batch_size,
        p.train.content_weight,
        p.train.style_weight,
        device,
    )
}
