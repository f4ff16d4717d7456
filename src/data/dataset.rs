//! Datasets in the reference's layouts: aligned (pix2pix: `train/` of A|B side-by-side images) and
//! unaligned (CycleGAN: `trainA/`, `trainB/`), and colorization's plain photos (`train/`: A = L,
//! B = ab in CIE Lab, as the reference's data/colorization_dataset.py). Files that cannot be decoded are skipped with a
//! warning naming them; an empty or wrongly laid out dataset is an error naming the folder.

use super::image_io;
use super::transform::{self, get_params, Options};
use crate::rng::SeededRng;
use candle_core::{Device, Tensor};
use image::RgbImage;
use std::path::{Path, PathBuf};

/// The file extensions read as images (any case), everywhere images are listed: datasets,
/// `translate`/`stylize` folders, `dataset inspect` and the helpers. The reference's
/// `IMG_EXTENSIONS` (data/image_folder.py: jpg, jpeg, png, ppm, bmp, tif, tiff), the rest of the
/// Netpbm family its `.ppm` belongs to (one decoder reads them all), and WebP.
pub const IMAGE_EXTENSIONS: [&str; 12] = [
    "jpg", "jpeg", "png", "ppm", "pgm", "pbm", "pnm", "pam", "bmp", "tif", "tiff", "webp",
];

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{dir}: {what}")]
    Layout { dir: PathBuf, what: String },
    #[error("{dir}: none of its {count} images could be read: {files}")]
    AllBad {
        dir: PathBuf,
        count: usize,
        /// The files with why each could not be read
        files: String,
    },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Whether a file name has an image extension.
pub fn is_image_file(p: &Path) -> bool {
    p.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| IMAGE_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
}

/// Image files under `dir` (recursively), sorted, as the reference's make_dataset.
pub fn list_images(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_image_file(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// An aligned image's two halves, A (left) and B (right), as the reference's AlignedDataset
/// splits them.
pub fn split_aligned(ab: &RgbImage) -> (RgbImage, RgbImage) {
    let (w, h) = ab.dimensions();
    let w2 = w / 2;
    let a = image::imageops::crop_imm(ab, 0, 0, w2, h).to_image();
    let b = image::imageops::crop_imm(ab, w2, 0, w - w2, h).to_image();
    (a, b)
}

fn need_images(dir: &Path, expected: &str) -> Result<Vec<PathBuf>, DatasetError> {
    if !dir.is_dir() {
        return Err(DatasetError::Layout {
            dir: dir.into(),
            what: format!("no such folder; expected {expected}"),
        });
    }
    let files = list_images(dir);
    if files.is_empty() {
        return Err(DatasetError::Layout {
            dir: dir.into(),
            what: format!("holds no images; expected {expected}"),
        });
    }
    Ok(files)
}

/// Which files of a dataset: an aligned dataset's one folder, or an unaligned one's A or B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Domain {
    A,
    B,
}

pub enum Pairing {
    /// A|B side by side in one file; `swap` for BtoA.
    Aligned { files: Vec<PathBuf> },
    /// Two folders; B drawn at random unless `serial`.
    Unaligned {
        a: Vec<PathBuf>,
        b: Vec<PathBuf>,
        serial: bool,
    },
    /// Plain photos, each made into (L, ab) after the transform.
    Colorization { files: Vec<PathBuf> },
}

pub struct PairDataset {
    pub pairing: Pairing,
    pub opts: Options,
    /// BtoA: hand out (B, A)
    pub swap: bool,
    /// Whether the files' A side and B side (before `swap`) are read as grayscale: 1 channel,
    /// PIL's `convert('L')` of each image (`with_channels`).
    gray: [bool; 2],
    pub root: PathBuf,
    /// `train`, `test` …: the folder (aligned) or the folders' prefix (unaligned)
    phase: String,
    /// Decoded images while they fit in `CACHE_BYTES`, and the files that could not be read
    cache: image_io::DecodeCache,
    /// Warnings not yet reported (files skipped).
    pub warnings: Vec<String>,
}

/// Decoded images kept in memory per dataset.
pub const CACHE_BYTES: usize = 1 << 30;

pub struct Batch {
    pub a: Tensor,
    pub b: Tensor,
}

impl PairDataset {
    fn with(pairing: Pairing, root: &Path, phase: &str, swap: bool, opts: Options) -> Self {
        Self {
            pairing,
            swap,
            gray: [false; 2],
            opts,
            root: root.into(),
            phase: phase.into(),
            cache: image_io::DecodeCache::new(CACHE_BYTES),
            warnings: vec![],
        }
    }

    pub fn aligned(
        root: &Path,
        phase: &str,
        swap: bool,
        opts: Options,
    ) -> Result<Self, DatasetError> {
        let files = need_images(
            &root.join(phase),
            &format!("{phase}/ with A|B side-by-side images (A on the left), the pix2pix layout"),
        )?;
        Ok(Self::with(
            Pairing::Aligned { files },
            root,
            phase,
            swap,
            opts,
        ))
    }

    pub fn unaligned(
        root: &Path,
        phase: &str,
        serial: bool,
        swap: bool,
        opts: Options,
    ) -> Result<Self, DatasetError> {
        let expected = format!("{phase}A/ and {phase}B/ of images, the CycleGAN layout");
        let a = need_images(&root.join(format!("{phase}A")), &expected)?;
        let b = need_images(&root.join(format!("{phase}B")), &expected)?;
        Ok(Self::with(
            Pairing::Unaligned { a, b, serial },
            root,
            phase,
            swap,
            opts,
        ))
    }

    /// The networks' channel counts: the generator's input side gets `input_nc` channels and its
    /// output side `output_nc` (1: the image's grayscale, PIL's `convert('L')` before any resize,
    /// as the reference's `get_transform(grayscale=True)`; 3: RGB). Under BtoA the files' B side
    /// is the input, as the reference's datasets swap `input_nc` and `output_nc` for it.
    pub fn with_channels(mut self, input_nc: usize, output_nc: usize) -> Self {
        let (file_a, file_b) = if self.swap {
            (output_nc, input_nc)
        } else {
            (input_nc, output_nc)
        };
        self.gray = [file_a == 1, file_b == 1];
        self
    }

    /// The reference's colorization dataset (data/colorization_dataset.py): the photos of
    /// `root/<phase>/`, or, where that folder is not there, the photos directly under `root` (a
    /// plain folder of photos such as the shipped `datasets/edges-src`). Each item is the
    /// transformed photo (resize, crop, flip as the other modes, no [-1, 1] conversion) in CIE Lab:
    /// A = L / 50 − 1 (1 × H × W), B = ab / 110 (2 × H × W) (`data::lab::colorization_pair`).
    /// Errors: no such folder, or no images in it (naming it).
    pub fn colorization(root: &Path, phase: &str, opts: Options) -> Result<Self, DatasetError> {
        let dir = Self::colorization_folder(root, phase);
        let files = need_images(
            &dir,
            &format!("{phase}/ of photos (the reference's colorization layout), or photos directly in it"),
        )?;
        Ok(Self::with(
            Pairing::Colorization { files },
            root,
            phase,
            false,
            opts,
        ))
    }

    /// The folder colorization reads: `root/<phase>/` when it is a folder, else `root`.
    pub fn colorization_folder(root: &Path, phase: &str) -> PathBuf {
        let under = root.join(phase);
        if under.is_dir() {
            under
        } else {
            root.to_path_buf()
        }
    }

    /// The first `max` files of each folder, as the reference's `make_dataset(dir,
    /// max_dataset_size)` keeps `images[:max]` of its sorted listing; None keeps all.
    pub fn keep_first(mut self, max: Option<usize>) -> Self {
        if let Some(n) = max {
            match &mut self.pairing {
                Pairing::Aligned { files } | Pairing::Colorization { files } => files.truncate(n),
                Pairing::Unaligned { a, b, .. } => {
                    a.truncate(n);
                    b.truncate(n);
                }
            }
        }
        self
    }

    /// Items per epoch: the files (aligned) or the larger domain (unaligned).
    pub fn len(&self) -> usize {
        match &self.pairing {
            Pairing::Aligned { files, .. } | Pairing::Colorization { files } => files.len(),
            Pairing::Unaligned { a, b, .. } => a.len().max(b.len()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn files(&self, domain: Domain) -> &[PathBuf] {
        match (&self.pairing, domain) {
            (Pairing::Aligned { files } | Pairing::Colorization { files }, _) => files,
            (Pairing::Unaligned { a, .. }, Domain::A) => a,
            (Pairing::Unaligned { b, .. }, _) => b,
        }
    }

    /// The folder a domain's files come from.
    fn folder(&self, domain: Domain) -> PathBuf {
        match (&self.pairing, domain) {
            (Pairing::Aligned { .. }, _) => self.root.join(&self.phase),
            (Pairing::Colorization { .. }, _) => Self::colorization_folder(&self.root, &self.phase),
            (_, Domain::A) => self.root.join(format!("{}A", self.phase)),
            (_, Domain::B) => self.root.join(format!("{}B", self.phase)),
        }
    }

    fn read(&mut self, path: &Path) -> Option<RgbImage> {
        self.cache.read(path, |img| img, &mut self.warnings)
    }

    /// The first readable image of a domain from file `start` on (wrapping round), skipping the
    /// unreadable ones; when none can be read, an error naming the folder and its files.
    fn read_from(&mut self, domain: Domain, start: usize) -> Result<RgbImage, DatasetError> {
        let n = self.files(domain).len();
        for k in 0..n {
            let path = self.files(domain)[(start + k) % n].clone();
            if let Some(img) = self.read(&path) {
                return Ok(img);
            }
        }
        let files = self.files(domain);
        let listed = files
            .iter()
            .take(5)
            .map(|f| {
                let why = self.cache.why_bad(f).unwrap_or("unreadable");
                let name = f.file_name().unwrap_or_default().to_string_lossy();
                // the loader's message starts with the path: keep its reason only
                let why = why.rsplit(": ").next().unwrap_or(why);
                format!("{name} ({why})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let more = if n > 5 { ", …" } else { "" };
        Err(DatasetError::AllBad {
            dir: self.folder(domain),
            count: n,
            files: format!("{listed}{more}"),
        })
    }

    /// One pair, (C, H, W) each in [-1, 1] (C: 3, or 1 for a grayscale side, `with_channels`;
    /// colorization: L (1, H, W) and ab (2, H, W));
    /// unreadable files are skipped for the next ones.
    pub fn get(
        &mut self,
        index: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Result<(Tensor, Tensor), DatasetError> {
        let [gray_a, gray_b] = self.gray;
        let gray = image_io::grayscale_if;
        let pair = match &self.pairing {
            Pairing::Colorization { .. } => {
                let img = self.read_from(Domain::A, index)?;
                let p = get_params(&self.opts, img.dimensions(), rng);
                let img = transform::apply(img, &self.opts, &p);
                let (w, h) = (img.width() as usize, img.height() as usize);
                let (l, ab) = super::lab::colorization_pair(&img);
                return Ok((
                    Tensor::from_vec(l, (1, h, w), device)?,
                    Tensor::from_vec(ab, (2, h, w), device)?,
                ));
            }
            Pairing::Aligned { .. } => {
                let ab = self.read_from(Domain::A, index)?;
                let (a, b) = split_aligned(&ab);
                let p = get_params(&self.opts, a.dimensions(), rng);
                (
                    transform::apply(gray(a, gray_a), &self.opts, &p),
                    transform::apply(gray(b, gray_b), &self.opts, &p),
                )
            }
            Pairing::Unaligned { b, serial, .. } => {
                let start_b = if *serial { index } else { rng.below(b.len()) };
                let ia = self.read_from(Domain::A, index)?;
                let ib = self.read_from(Domain::B, start_b)?;
                let p1 = get_params(&self.opts, ia.dimensions(), rng);
                let p2 = get_params(&self.opts, ib.dimensions(), rng);
                (
                    transform::apply(gray(ia, gray_a), &self.opts, &p1),
                    transform::apply(gray(ib, gray_b), &self.opts, &p2),
                )
            }
        };
        let tensor = |img: &RgbImage, gray: bool| transform::to_tensor_nc(img, gray, device);
        let (a, b) = (tensor(&pair.0, gray_a)?, tensor(&pair.1, gray_b)?);
        Ok(if self.swap { (b, a) } else { (a, b) })
    }

    /// A batch of items `indices`, stacked to (N, C, H, W).
    pub fn batch(
        &mut self,
        indices: &[usize],
        rng: &mut SeededRng,
        device: &Device,
    ) -> Result<Batch, DatasetError> {
        let mut a = vec![];
        let mut b = vec![];
        for &i in indices {
            let (x, y) = self.get(i, rng, device)?;
            a.push(x);
            b.push(y);
        }
        Ok(Batch {
            a: Tensor::stack(&a, 0)?,
            b: Tensor::stack(&b, 0)?,
        })
    }
}

/// The order of one epoch: shuffled unless `serial`.
pub fn epoch_order(n: usize, serial: bool, rng: &mut SeededRng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if !serial {
        for i in (1..n).rev() {
            let j = rng.below(i + 1);
            order.swap(i, j);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::gan::Preprocess;

    fn opts() -> Options {
        Options {
            preprocess: Preprocess::Crop,
            load_size: 16,
            crop_size: 16,
            no_flip: true,
        }
    }

    #[test]
    fn aligned_pairs_split_left_and_right_and_skip_bad_files() {
        let root = std::env::temp_dir().join(format!("aiart-ds-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("train")).unwrap();
        let ab = RgbImage::from_fn(32, 16, |x, _| {
            if x < 16 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        ab.save(root.join("train/1.png")).unwrap();
        std::fs::write(root.join("train/0.png"), b"truncated").unwrap();
        let mut ds = PairDataset::aligned(&root, "train", false, opts()).unwrap();
        assert_eq!(ds.len(), 2);
        let mut rng = SeededRng::new(0);
        let (a, b) = ds.get(0, &mut rng, &Device::Cpu).unwrap();
        let red: Vec<f32> = a
            .narrow(0, 0, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(red.iter().all(|&v| v == 1.0), "A is the left half");
        let blue: Vec<f32> = b
            .narrow(0, 2, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(blue.iter().all(|&v| v == 1.0), "B is the right half");
        assert_eq!(ds.warnings.len(), 1);
        assert!(ds.warnings[0].contains("0.png"), "{:?}", ds.warnings);
        let mut swapped = PairDataset::aligned(&root, "train", true, opts()).unwrap();
        let (a, _) = swapped.get(1, &mut rng, &Device::Cpu).unwrap();
        assert_eq!(
            a.narrow(0, 2, 1)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()[0],
            1.0,
            "BtoA swaps"
        );
        let e = PairDataset::unaligned(&root, "train", false, false, opts())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("trainA") && e.contains("CycleGAN layout"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// The side with 1 channel is the grayscale of its half (PIL's luma), the generator's input
    /// side `input_nc` under either direction, as the reference's datasets swap the counts for
    /// BtoA.
    #[test]
    fn a_one_channel_side_is_the_grayscale_of_its_half() {
        let root = std::env::temp_dir().join(format!("aiart-ds-gray-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("train")).unwrap();
        let ab = RgbImage::from_fn(32, 16, |x, _| {
            image::Rgb(if x < 16 { [255, 0, 0] } else { [0, 0, 255] })
        });
        ab.save(root.join("train/1.png")).unwrap();
        let level = |v: u8| v as f32 / 255.0 * 2.0 - 1.0;
        let all = |t: &Tensor| -> Vec<f32> { t.flatten_all().unwrap().to_vec1().unwrap() };
        let mut rng = SeededRng::new(0);
        for (swap, (i, o), want_a) in [
            (false, (1, 3), Some(76)),
            (true, (1, 3), Some(29)),
            (false, (3, 1), None),
            (true, (3, 1), None),
        ] {
            let mut ds = PairDataset::aligned(&root, "train", swap, opts())
                .unwrap()
                .with_channels(i, o);
            let (a, b) = ds.get(0, &mut rng, &Device::Cpu).unwrap();
            assert_eq!(
                (a.dim(0).unwrap(), b.dim(0).unwrap()),
                (i, o),
                "swap {swap}"
            );
            if let Some(l) = want_a {
                assert!(all(&a).iter().all(|&v| v == level(l)), "swap {swap}");
            } else {
                // B is the output side: the left half (red, 76) under BtoA, else the right (29)
                let l = if swap { 76 } else { 29 };
                assert!(all(&b).iter().all(|&v| v == level(l)), "swap {swap}");
            }
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A photo in `train/` becomes the reference's L and ab (the values of
    /// tests/fixtures/lab_reference.safetensors, from skimage through its colorization dataset);
    /// without `train/`, the photos directly in the folder are read.
    #[test]
    fn colorization_items_are_the_references_l_and_ab() {
        let fx = candle_core::safetensors::load(
            crate::test_fixture("lab_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let (h, w, _) = fx["rgb"].dims3().unwrap();
        let raw: Vec<u8> = fx["rgb"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|&v| v as u8)
            .collect();
        let root = std::env::temp_dir().join(format!("aiart-ds-col-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("train")).unwrap();
        let photo = RgbImage::from_raw(w as u32, h as u32, raw).unwrap();
        photo.save(root.join("train/photo.png")).unwrap();
        let o = Options {
            preprocess: Preprocess::None,
            ..opts()
        };
        let mut ds = PairDataset::colorization(&root, "train", o).unwrap();
        let mut rng = SeededRng::new(0);
        let batch = ds.batch(&[0], &mut rng, &Device::Cpu).unwrap();
        assert_eq!(batch.a.dims(), [1, 1, h, w]);
        assert_eq!(batch.b.dims(), [1, 2, h, w]);
        let a = fx["A"].unsqueeze(0).unwrap();
        let b = fx["B"].unsqueeze(0).unwrap();
        assert!(crate::max_abs_diff(&batch.a, &a) <= 2.5e-7, "L");
        assert!(crate::max_abs_diff(&batch.b, &b) <= 2.5e-7, "ab");
        // a plain folder of photos
        std::fs::rename(root.join("train/photo.png"), root.join("photo.png")).unwrap();
        std::fs::remove_dir(root.join("train")).unwrap();
        let ds = PairDataset::colorization(&root, "train", o).unwrap();
        assert_eq!(ds.len(), 1);
        std::fs::remove_file(root.join("photo.png")).unwrap();
        let e = PairDataset::colorization(&root, "train", o)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("holds no images") && e.contains("colorization"),
            "{e}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn shuffles_are_permutations() {
        let mut rng = SeededRng::new(1);
        let mut o = epoch_order(10, false, &mut rng);
        o.sort();
        assert_eq!(o, (0..10).collect::<Vec<_>>());
        assert_eq!(epoch_order(4, true, &mut rng), vec![0, 1, 2, 3]);
    }
}
