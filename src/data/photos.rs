//! A folder of photos as fast style transfer trains on it (pytorch/examples `fast_neural_style`:
//! `datasets.ImageFolder(args.dataset, transform)` over `Resize(image_size)`, `CenterCrop(image_size)`,
//! `ToTensor()`, `mul(255)`, in a DataLoader without shuffling), and its style image (`load_image`
//! with `size`: a square of style_size × style_size, PIL's ANTIALIAS = Lanczos).
//!
//! Order: ImageFolder's, with one difference. ImageFolder takes class subfolders only (sorted by
//! name, each walked with `sorted(os.walk(…))` and its files sorted) and refuses a folder without
//! any; here the images directly in the folder count too, as a first class before the subfolders,
//! so a flat folder of photos (the shipped ones) trains as it is. With only subfolders (COCO's
//! `train2014/` unpacked into a class folder, as the reference expects) the order is ImageFolder's.
//! Files that cannot be decoded are skipped and named (ImageFolder would stop the run).

use super::dataset::is_image_file;
use super::image_io;
use candle_core::{Device, Tensor};
use image::imageops::{self, FilterType};
use image::RgbImage;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PhotosError {
    /// `field`: the preset field that names the folder
    #[error("{field}: {dir}: {what}")]
    Folder {
        field: &'static str,
        dir: PathBuf,
        what: String,
    },
    #[error(transparent)]
    Image(#[from] image_io::ImageError),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

fn folder_error(field: &'static str, dir: &Path, what: impl Into<String>) -> PhotosError {
    PhotosError::Folder {
        field,
        dir: dir.to_path_buf(),
        what: what.into(),
    }
}

/// Image files under `dir`, recursively, in ImageFolder's order (see the module's note): the
/// top level's files first, then each class subfolder by name, within it by (folder path, file
/// name) as `sorted(os.walk)` and `sorted(fnames)` give; names compare by code point.
pub fn list_photos(dir: &Path) -> Vec<PathBuf> {
    let mut keyed: Vec<(String, String, String, PathBuf)> = vec![];
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, class)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                let class = if class.is_empty() && d == dir {
                    name
                } else {
                    class.clone()
                };
                stack.push((p, class));
            } else if is_image_file(&p) {
                let root = d.to_string_lossy().into_owned();
                keyed.push((class.clone(), root, name, p));
            }
        }
    }
    keyed.sort();
    keyed.into_iter().map(|(_, _, _, p)| p).collect()
}

/// torchvision's `Resize(size)` with an int: the shorter side becomes `size`, the longer
/// `int(size · long / short)` (truncated, as Python's `int`).
pub fn resized_size(w: u32, h: u32, size: u32) -> (u32, u32) {
    let (short, long) = if w <= h { (w, h) } else { (h, w) };
    let new_long = (size as f64 * long as f64 / short.max(1) as f64) as u32;
    if w <= h {
        (size, new_long)
    } else {
        (new_long, size)
    }
}

/// torchvision's `CenterCrop(size)` offset along one side: `int(round((side − size) / 2.0))`,
/// Python's round (half to even).
pub fn crop_offset(side: u32, size: u32) -> u32 {
    let half = (side as f64 - size as f64) / 2.0;
    half.round_ties_even().max(0.0) as u32
}

/// `Resize(size)` then `CenterCrop(size)`. The resize is bilinear with antialiasing (the triangle
/// kernel widened by the scale when shrinking, as PIL's BILINEAR); no resampling when the size
/// does not change.
pub fn resize_and_crop(img: RgbImage, size: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (nw, nh) = resized_size(w, h, size);
    let img = if (nw, nh) == (w, h) {
        img
    } else {
        imageops::resize(&img, nw, nh, FilterType::Triangle)
    };
    let (x, y) = (crop_offset(nw, size), crop_offset(nh, size));
    if (x, y, nw, nh) == (0, 0, size, size) {
        return img;
    }
    imageops::crop_imm(&img, x, y, size, size).to_image()
}

/// A (1, 3, H, W) tensor in 0–255 (the reference's `ToTensor()` then `mul(255)`).
pub fn to_tensor_255(img: &RgbImage, device: &Device) -> candle_core::Result<Tensor> {
    image_io::to_tensor(img, device)? * 255.0
}

/// The style image as the reference's `load_image(style_image, size=style_size)`: a square of
/// `style_size` (Lanczos), or its own size for 0; (1, 3, H, W) in 0–255, and a note when the
/// file had to be converted to RGB.
pub fn style_image(
    path: &Path,
    style_size: u32,
    device: &Device,
) -> Result<(Tensor, Option<String>), PhotosError> {
    let (img, note) = image_io::load_rgb(path)?;
    let img = if style_size == 0 || img.dimensions() == (style_size, style_size) {
        img
    } else {
        imageops::resize(&img, style_size, style_size, FilterType::Lanczos3)
    };
    Ok((to_tensor_255(&img, device)?, note))
}

/// Why holding out `data.sample_count = count` of the dataset's `n` photos for samples (no
/// `data.sample_images`) cannot work: it would leave none to train on. None when some are left.
/// The message names the dataset's folder when given one (not when the error already does).
pub fn held_out_leaves_none(dataset: Option<&Path>, n: usize, count: usize) -> Option<String> {
    let folder = dataset.map_or(String::new(), |d| format!(" ({})", d.display()));
    (n <= count).then(|| {
        format!(
            "holding out data.sample_count = {count} photos for samples leaves none of the {n} \
             in data.dataset{folder} to train on; lower data.sample_count below {n}, or name a \
             folder of held-out photos in data.sample_images"
        )
    })
}

/// The note when fewer samples than `data.sample_count = count` can be shown: `listed` photos
/// were there to hold out (all of `data.sample_images`, or the dataset's last `count`) and, with
/// fewer than `count` shown, every one was tried: `shown` of them could be read. None when all
/// `count` are shown.
pub fn fewer_samples(
    sample_dir: Option<&Path>,
    count: usize,
    listed: usize,
    shown: usize,
) -> Option<String> {
    if shown >= count {
        return None;
    }
    let unread = match listed - shown {
        0 => String::new(),
        k => format!(", {k} of them unreadable (named above)"),
    };
    Some(match sample_dir {
        Some(d) => format!(
            "data.sample_count = {count}, but data.sample_images ({}) holds {listed} \
             photo(s){unread}: the samples show {shown}; add photos there or lower \
             data.sample_count",
            d.display()
        ),
        None => format!(
            "data.sample_count = {count}: {} of the photos held out of data.dataset could not \
             be read (named above): the samples show {shown}",
            listed - shown
        ),
    })
}

/// `data.sample_images` (resolved) against `data.sample_count = count` before a run, as
/// `preset check` reports it: the note when the folder holds fewer photos than asked.
pub fn sample_folder_note(sample_dir: &Path, count: usize) -> Option<String> {
    let found = list_photos(sample_dir).len();
    (found > 0)
        .then(|| fewer_samples(Some(sample_dir), count, found, found))
        .flatten()
}

/// Transformed photos kept in memory (a small dataset is decoded once).
const CACHE_BYTES: usize = 256 << 20;

/// The training photos and the held-out ones shown in samples.
pub struct Photos {
    pub dir: PathBuf,
    /// Training photos, in order.
    pub files: Vec<PathBuf>,
    /// Held-out photos with their transformed images (the unreadable ones already skipped).
    pub samples: Vec<(PathBuf, RgbImage)>,
    pub image_size: u32,
    cache: image_io::DecodeCache,
}

impl Photos {
    /// The photos of `dir`; held out for samples: the first `count` readable photos of
    /// `sample_dir`, or else the dataset's last `count` files. Notes (skipped files) go to `warnings`.
    pub fn open(
        dir: &Path,
        sample_dir: Option<&Path>,
        count: usize,
        image_size: u32,
        warnings: &mut Vec<String>,
    ) -> Result<Self, PhotosError> {
        if !dir.is_dir() {
            return Err(folder_error(
                "data.dataset",
                dir,
                "no such folder of photos",
            ));
        }
        let mut files = list_photos(dir);
        if files.is_empty() {
            return Err(folder_error(
                "data.dataset",
                dir,
                "holds no images (jpg, png, …), at any depth",
            ));
        }
        let mut held = match sample_dir {
            Some(s) => {
                if !s.is_dir() {
                    return Err(folder_error("data.sample_images", s, "no such folder"));
                }
                let found = list_photos(s);
                if found.is_empty() {
                    return Err(folder_error("data.sample_images", s, "holds no images"));
                }
                found
            }
            None => {
                if let Some(why) = held_out_leaves_none(None, files.len(), count) {
                    return Err(folder_error("data.sample_count", dir, why));
                }
                files.split_off(files.len() - count)
            }
        };
        let listed = held.len();
        let mut samples = vec![];
        let mut cache = image_io::DecodeCache::new(CACHE_BYTES);
        for path in held.drain(..) {
            if samples.len() == count {
                break;
            }
            match image_io::load_rgb(&path) {
                Ok((img, _)) => samples.push((path, resize_and_crop(img, image_size))),
                Err(e) => {
                    warnings.push(format!("skipping {e}"));
                    cache.mark_bad(&path, e.to_string());
                }
            }
        }
        if let Some(note) = fewer_samples(sample_dir, count, listed, samples.len()) {
            warnings.push(note);
        }
        if samples.is_empty() {
            return Err(folder_error(
                "data.sample_images",
                sample_dir.unwrap_or(dir),
                "none of the held-out sample photos could be read (named above)",
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            files,
            samples,
            image_size,
            cache,
        })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn batches_per_epoch(&self, batch_size: usize) -> u64 {
        self.files.len().div_ceil(batch_size.max(1)) as u64
    }

    fn read(&mut self, path: &Path, warnings: &mut Vec<String>) -> Option<RgbImage> {
        let size = self.image_size;
        self.cache
            .read(path, |img| resize_and_crop(img, size), warnings)
    }

    /// Batch `k` of an epoch (0-based): the files k·b … k·b + b − 1 in order (the reference's
    /// DataLoader does not shuffle; the last batch may be smaller), the unreadable ones left out
    /// (and named in `warnings` the first time). A batch none of whose files can be read takes the
    /// next readable photo instead; (N, 3, S, S) in 0–255.
    pub fn batch(
        &mut self,
        k: u64,
        batch_size: usize,
        device: &Device,
        warnings: &mut Vec<String>,
    ) -> Result<Tensor, PhotosError> {
        let n = self.files.len();
        let start = (k as usize * batch_size).min(n);
        let end = (start + batch_size).min(n);
        let mut imgs = vec![];
        for i in start..end {
            let path = self.files[i].clone();
            imgs.extend(self.read(&path, warnings));
        }
        if imgs.is_empty() {
            for j in 0..n {
                let path = self.files[(end + j) % n].clone();
                if let Some(img) = self.read(&path, warnings) {
                    imgs.push(img);
                    break;
                }
            }
        }
        if imgs.is_empty() {
            return Err(folder_error(
                "data.dataset",
                &self.dir,
                format!("none of its {n} photos could be read (each named above)"),
            ));
        }
        let ts = imgs
            .iter()
            .map(|i| to_tensor_255(i, device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Tensor::cat(&ts, 0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_takes_the_shorter_side_and_truncates_the_longer() {
        // torchvision: int(256 * 500 / 333) = 384 (384.38…), int(256 * 640 / 480) = 341 (341.33…)
        assert_eq!(resized_size(500, 333, 256), (384, 256));
        assert_eq!(resized_size(480, 640, 256), (256, 341));
        assert_eq!(resized_size(300, 300, 256), (256, 256));
        // int(), not round(): 64 * 101 / 67 = 96.47…, 64 * 99 / 65 = 97.47… , 10 * 29 / 6 = 48.33…
        assert_eq!(resized_size(101, 67, 64), (96, 64));
        assert_eq!(resized_size(6, 29, 10), (10, 48));
        // an upscale too
        assert_eq!(resized_size(20, 10, 32), (64, 32));
    }

    #[test]
    fn centre_crop_rounds_half_to_even_as_python() {
        // (side − size) / 2.0 = 0.5 → 0, 1.5 → 2, 2.5 → 2, 3.5 → 4, 64 → 64
        assert_eq!(crop_offset(257, 256), 0);
        assert_eq!(crop_offset(259, 256), 2);
        assert_eq!(crop_offset(261, 256), 2);
        assert_eq!(crop_offset(263, 256), 4);
        assert_eq!(crop_offset(384, 256), 64);
        assert_eq!(crop_offset(256, 256), 0);
    }

    #[test]
    fn resize_and_crop_keeps_the_centre() {
        // 7 columns × 4 rows, each column its own red value: resize 4 (no change), crop 4 →
        // offset int(round(1.5)) = 2: columns 2..6
        let img = RgbImage::from_fn(7, 4, |x, _| image::Rgb([x as u8 * 10, 0, 0]));
        let out = resize_and_crop(img, 4);
        assert_eq!(out.dimensions(), (4, 4));
        let reds: Vec<u8> = (0..4).map(|x| out.get_pixel(x, 0)[0]).collect();
        assert_eq!(reds, vec![20, 30, 40, 50]);
        // a real resize: 100 × 50 → 64 × 32, crop 32 at x = 16
        let img = RgbImage::from_fn(100, 50, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let out = resize_and_crop(img, 32);
        assert_eq!(out.dimensions(), (32, 32));
        assert_eq!(out.get_pixel(5, 5)[2], 7, "a flat channel stays flat");
    }

    #[test]
    fn resize_and_crop_match_torchvision_within_a_level() {
        // tools/fixtures_photos.py: torchvision's Compose([Resize(32), CenterCrop(32)]) on a 61 × 45 PNG (PIL bilinear
        // with antialias, 43 × 32, crop at x = round(5.5) = 6)
        let (input, _) = image_io::load_rgb(&crate::test_fixture("fast_resize_in.png")).unwrap();
        let (want, _) = image_io::load_rgb(&crate::test_fixture("fast_resize_out.png")).unwrap();
        let got = resize_and_crop(input, 32);
        assert_eq!(got.dimensions(), want.dimensions());
        let worst = got
            .as_raw()
            .iter()
            .zip(want.as_raw())
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .max()
            .unwrap();
        assert!(worst <= 1, "{worst} levels from torchvision");
    }

    #[test]
    fn photos_come_in_image_folder_order_with_the_top_level_first() {
        let d = std::env::temp_dir().join(format!("aiart-photos-order-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for sub in ["b", "a/z", "a b"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        for f in [
            "top.png",
            "b/2.jpg",
            "b/1.png",
            "a/z/0.png",
            "a/9.png",
            "a b/x.png",
            "b/notes.txt",
        ] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        let got: Vec<String> = list_photos(&d)
            .iter()
            .map(|p| p.strip_prefix(&d).unwrap().display().to_string())
            .collect();
        // classes "a" < "a b" < "b"; within a: sorted(os.walk) puts ".../a" before ".../a/z"
        assert_eq!(
            got,
            vec![
                "top.png",
                "a/9.png",
                "a/z/0.png",
                "a b/x.png",
                "b/1.png",
                "b/2.jpg"
            ]
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
