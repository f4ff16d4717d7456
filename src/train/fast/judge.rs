//! The losses of a fast style network as it stands, on photos of one's choosing (issue 33's style
//! measure): training's own content and style losses (`PerceptualLoss::losses`, weighted by the
//! preset's `content_weight` and `style_weight`), but of one network on a fixed set of photos —
//! held-out ones by default — where the metrics record only holds each update's batch under
//! weights that were still moving. Two networks trained from one preset (with and without the
//! stability term, say) compare by it without the noise of the last epoch's batches.

use super::perceptual_loss;
use crate::data::image_io;
use crate::data::photos::{list_photos, resize_and_crop, to_tensor_255};
use crate::nn::transformer_net::TransformerNet;
use crate::nst::perceptual::PerceptualLoss;
use crate::preset::fast::FastStylePreset;
use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use image::RgbImage;
use std::path::{Path, PathBuf};

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
) -> Result<Vec<(PathBuf, RgbImage)>> {
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
            Ok((img, _)) => out.push((path, resize_and_crop(img, size))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::fast::FastTrainer;

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
        let load = |dir: &Path, count, w: &mut Vec<String>| -> Vec<RgbImage> {
            load_photos(dir, 32, count, w)
                .unwrap()
                .into_iter()
                .map(|(_, img)| img)
                .collect()
        };
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
}
