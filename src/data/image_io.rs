//! Image files <-> tensors. Tensors are (1, 3, H, W) f32 RGB in [0, 1]. Grayscale, 16-bit and
//! RGBA files are converted to 8-bit RGB (with a warning for a dropped alpha channel); resizing
//! uses bilinear filtering, and an image already at the target size is not resampled.
//! Every image the program reads goes through [`open_image`] (or [`dimensions`] for a header-only
//! look), which applies the file's EXIF orientation, so a phone photo is read upright, as every
//! viewer shows it. A file whose data ends early is [`ImageError::Truncated`] in every format: the
//! JPEG decoder would fill the missing part with grey and the WebP one calls it corrupt, so their
//! files are checked first ([`super::truncation`]); the other decoders stop at the end of the data,
//! and that is named too.

use candle_core::{DType, Device, Tensor};
use image::{DynamicImage, RgbImage};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: no such image file")]
    Missing { path: PathBuf },
    #[error("{path}: cannot read image: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    /// The file's data ends before the image does (an interrupted copy or download): it is
    /// refused, never read with its missing part filled in.
    #[error("{path}: truncated image file ({detail}); copy or download it again")]
    Truncated { path: PathBuf, detail: String },
    #[error("{path}: cannot write image: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// A decoder's error as ours: running out of data is `Truncated`, whichever decoder says it (PNG,
/// BMP, TIFF and Netpbm all stop with an unexpected end of file).
fn unreadable(path: &Path, e: image::ImageError) -> ImageError {
    match &e {
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageError::Truncated {
                path: path.to_path_buf(),
                detail: "the data ends before the image does".into(),
            }
        }
        _ => ImageError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    }
}

fn decoder(path: &Path) -> Result<impl image::ImageDecoder, ImageError> {
    if !path.exists() {
        return Err(ImageError::Missing {
            path: path.to_path_buf(),
        });
    }
    let reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| unreadable(path, e.into()))?;
    let short =
        super::truncation::check(reader.format(), path).map_err(|e| unreadable(path, e.into()))?;
    if let Some(detail) = short {
        return Err(ImageError::Truncated {
            path: path.to_path_buf(),
            detail,
        });
    }
    reader.into_decoder().map_err(|e| unreadable(path, e))
}

/// Decodes an image file upright: its EXIF orientation (a JPEG's, a PNG's eXIf, a WebP's or a
/// TIFF's) is applied, as every image viewer does. Every read of an image goes through here.
pub fn open_image(path: &Path) -> Result<DynamicImage, ImageError> {
    use image::ImageDecoder;
    let mut dec = decoder(path)?;
    // a damaged EXIF block is no reason to refuse the pixels: read them as stored
    let orientation = dec
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(dec).map_err(|e| unreadable(path, e))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Width and height as the image is shown (EXIF orientation applied), from its header only (and,
/// for a JPEG, its marker structure: a truncated JPEG is refused here too).
pub fn dimensions(path: &Path) -> Result<(u32, u32), ImageError> {
    use image::metadata::Orientation;
    use image::ImageDecoder;
    let mut dec = decoder(path)?;
    let (w, h) = dec.dimensions();
    Ok(
        match dec.orientation().unwrap_or(Orientation::NoTransforms) {
            Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH => (h, w),
            _ => (w, h),
        },
    )
}

/// Reads an image as 8-bit RGB, upright; returns a note when something had to be converted.
pub fn load_rgb(path: &Path) -> Result<(RgbImage, Option<String>), ImageError> {
    let img = open_image(path)?;
    let note = match &img {
        DynamicImage::ImageRgb8(_) => None,
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => Some(format!(
            "{}: grayscale image, converted to RGB",
            path.display()
        )),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => Some(format!(
            "{}: grayscale image with alpha, converted to RGB (alpha dropped)",
            path.display()
        )),
        DynamicImage::ImageRgba8(_)
        | DynamicImage::ImageRgba16(_)
        | DynamicImage::ImageRgba32F(_) => Some(format!(
            "{}: RGBA image, converted to RGB (alpha dropped)",
            path.display()
        )),
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgb32F(_) => Some(format!(
            "{}: 16-bit or float image, converted to 8-bit RGB",
            path.display()
        )),
        _ => Some(format!("{}: converted to 8-bit RGB", path.display())),
    };
    Ok((img.to_rgb8(), note))
}

/// Resizes so that the longest side is `longest` px (aspect kept); no resampling when it already is.
pub fn resize_longest(img: RgbImage, longest: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    if w.max(h) == longest {
        return img;
    }
    let (nw, nh) = if w >= h {
        (
            longest,
            ((h as f64 * longest as f64 / w as f64).round() as u32).max(1),
        )
    } else {
        (
            ((w as f64 * longest as f64 / h as f64).round() as u32).max(1),
            longest,
        )
    };
    resize_exact(img, nw, nh)
}

pub fn resize_exact(img: RgbImage, w: u32, h: u32) -> RgbImage {
    if img.dimensions() == (w, h) {
        return img;
    }
    image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle)
}

pub fn to_tensor(img: &RgbImage, device: &Device) -> candle_core::Result<Tensor> {
    let (w, h) = img.dimensions();
    let data: Vec<f32> = img.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
    Tensor::from_vec(data, (h as usize, w as usize, 3), &Device::Cpu)?
        .permute((2, 0, 1))?
        .unsqueeze(0)?
        .to_device(device)
}

/// PIL's luma of an 8-bit RGB pixel, as `Image.convert('L')` (ITU-R 601-2 weights in 16-bit
/// fixed point, Pillow's `L24`): (R·19595 + G·38470 + B·7471 + 0x8000) >> 16.
pub fn luma(p: [u8; 3]) -> u8 {
    ((p[0] as u32 * 19595 + p[1] as u32 * 38470 + p[2] as u32 * 7471 + 0x8000) >> 16) as u8
}

/// The image's grayscale ([`luma`] of each pixel) in all three channels, so every RGB step after
/// it (resize, crop, flip) works on it unchanged and its red channel is the 1-channel image.
pub fn grayscale(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        let l = luma(p.0);
        p.0 = [l, l, l];
    }
    out
}

/// `img` as a side read with `gray` (1 channel) sees it: its [`grayscale`], else itself.
pub fn grayscale_if(img: RgbImage, gray: bool) -> RgbImage {
    if gray {
        grayscale(&img)
    } else {
        img
    }
}

/// A (1, C, H, W) or (C, H, W) tensor in [0, 1] as an 8-bit image (values are clamped); C is 3,
/// or 1, tiled to R = G = B as the reference's `util.tensor2im` does.
pub fn to_image(t: &Tensor) -> candle_core::Result<RgbImage> {
    let t = if t.rank() == 4 {
        t.squeeze(0)?
    } else {
        t.clone()
    };
    let (c, h, w) = t.dims3()?;
    let t = if c == 1 { t.repeat((3, 1, 1))? } else { t };
    let data: Vec<u8> = (t
        .to_device(&Device::Cpu)?
        .to_dtype(DType::F32)?
        .clamp(0f32, 1f32)?
        * 255.0)?
        .round()?
        .permute((1, 2, 0))?
        .flatten_all()?
        .to_vec1::<f32>()?
        .into_iter()
        .map(|v| v as u8)
        .collect();
    Ok(RgbImage::from_raw(w as u32, h as u32, data).expect("buffer sized from the tensor"))
}

/// Writes a PNG (or the format of the extension) through a temporary file and a rename. A Netpbm
/// extension gets its own kind, as other programs expect of it: `.ppm`/`.pnm` binary P6, `.pgm`
/// P5 (luma), `.pbm` P4 (luma ≥ 128 is white), `.pam` P7 (the `image` crate writes P7 for all).
pub fn save_image(img: &RgbImage, path: &Path) -> Result<(), ImageError> {
    let fmt = image::ImageFormat::from_path(path).unwrap_or(image::ImageFormat::Png);
    let mut buf = std::io::Cursor::new(Vec::new());
    let written = if fmt == image::ImageFormat::Pnm {
        super::netpbm::write(img, path, &mut buf)
    } else {
        img.write_to(&mut buf, fmt)
    };
    written.map_err(|e| ImageError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    crate::atomic::write_atomic(path, buf.get_ref()).map_err(|e| ImageError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

pub fn save_tensor(t: &Tensor, path: &Path) -> Result<(), ImageError> {
    save_image(&to_image(t)?, path)
}

/// An image tensor (1, 3, H, W) in [0, 1] resized to w × h with Lanczos3, in f32 throughout.
pub fn upsample(t: &Tensor, w: u32, h: u32) -> candle_core::Result<Tensor> {
    let (_, c, th, tw) = t.dims4()?;
    let dev = t.device().clone();
    // (H, W, 3) interleaved
    let hwc: Vec<f32> = t
        .squeeze(0)?
        .permute((1, 2, 0))?
        .flatten_all()?
        .to_dtype(candle_core::DType::F32)?
        .to_vec1()?;
    let img = image::Rgb32FImage::from_raw(tw as u32, th as u32, hwc)
        .ok_or_else(|| candle_core::Error::Msg("image buffer size".into()))?;
    let out = image::imageops::resize(&img, w, h, image::imageops::FilterType::Lanczos3);
    Tensor::from_vec(out.into_raw(), (h as usize, w as usize, c), &dev)?
        .permute((2, 0, 1))?
        .unsqueeze(0)?
        .contiguous()
}

/// Decoded images kept in memory up to a byte budget, so that each file of a small dataset is
/// decoded once, and the files that could not be read, with why, so that each is tried and reported
/// once. Shared by the paired/unpaired datasets and the photos of fast style transfer.
pub struct DecodeCache {
    limit: usize,
    bytes: usize,
    images: HashMap<PathBuf, RgbImage>,
    bad: HashMap<PathBuf, String>,
}

impl DecodeCache {
    /// A cache that keeps at most `limit` bytes of images.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            bytes: 0,
            images: HashMap::new(),
            bad: HashMap::new(),
        }
    }

    /// The file as `prepare` makes it from its decoded RGB image (EXIF orientation applied), kept
    /// while the budget allows; None for a file that cannot be read, reported in `warnings` as
    /// `skipping <loader's message>` the first time only.
    pub fn read(
        &mut self,
        path: &Path,
        prepare: impl FnOnce(RgbImage) -> RgbImage,
        warnings: &mut Vec<String>,
    ) -> Option<RgbImage> {
        if self.bad.contains_key(path) {
            return None;
        }
        if let Some(img) = self.images.get(path) {
            return Some(img.clone());
        }
        match load_rgb(path) {
            Ok((img, _)) => {
                let img = prepare(img);
                let bytes = img.as_raw().len();
                if self.bytes + bytes <= self.limit {
                    self.bytes += bytes;
                    self.images.insert(path.to_path_buf(), img.clone());
                }
                Some(img)
            }
            Err(e) => {
                let why = e.to_string();
                warnings.push(format!("skipping {why}"));
                self.bad.insert(path.to_path_buf(), why);
                None
            }
        }
    }

    /// Records a file found unreadable elsewhere, so that `read` skips it silently.
    pub fn mark_bad(&mut self, path: &Path, why: String) {
        self.bad.insert(path.to_path_buf(), why);
    }

    /// Why `path` could not be read, if it could not.
    pub fn why_bad(&self, path: &Path) -> Option<&str> {
        self.bad.get(path).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PIL's `convert('L')` of the fixture (tools/fixtures_grayscale.py), value for value.
    #[test]
    fn grayscale_is_pils_convert_l() {
        let rgb = image::open(crate::test_fixture("grayscale_in.png"))
            .unwrap()
            .into_rgb8();
        let pil = image::open(crate::test_fixture("grayscale_pil.png")).unwrap();
        assert!(matches!(pil, DynamicImage::ImageLuma8(_)), "an L-mode PNG");
        let pil = pil.into_luma8();
        let ours = grayscale(&rgb);
        assert_eq!(ours.dimensions(), pil.dimensions());
        for (x, y, p) in ours.enumerate_pixels() {
            let want = pil.get_pixel(x, y)[0];
            assert_eq!(p.0, [want; 3], "({x}, {y}) of {:?}", rgb.get_pixel(x, y));
        }
        // the fixture holds the corners of the formula: black, white, each primary
        assert_eq!(
            [
                [0, 0, 0],
                [255, 255, 255],
                [255, 0, 0],
                [0, 255, 0],
                [0, 0, 255]
            ]
            .map(luma),
            [0, 255, 76, 150, 29]
        );
    }

    /// A 1-channel tensor is written as gray RGB, as the reference's `tensor2im` tiles it.
    #[test]
    fn one_channel_tensors_are_tiled_to_gray() {
        let t = Tensor::new(&[[[0.0f32, 0.5], [1.0, 0.25]]], &Device::Cpu).unwrap();
        let img = to_image(&t).unwrap();
        assert_eq!(img.dimensions(), (2, 2));
        assert_eq!(img.get_pixel(1, 0).0, [128; 3]);
        assert_eq!(img.get_pixel(0, 1).0, [255; 3]);
        assert_eq!(to_image(&t.unsqueeze(0).unwrap()).unwrap(), img);
    }

    #[test]
    fn round_trip_and_conversions() {
        let dir = tempdir();
        let mut img = RgbImage::new(5, 3);
        img.put_pixel(1, 2, image::Rgb([255, 128, 0]));
        let p = dir.join("a.png");
        save_image(&img, &p).unwrap();
        let (back, note) = load_rgb(&p).unwrap();
        assert!(note.is_none());
        assert_eq!(back, img);
        let t = to_tensor(&back, &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[1, 3, 3, 5]);
        assert_eq!(to_image(&t).unwrap(), img);

        let gray = image::GrayImage::from_pixel(4, 4, image::Luma([77]));
        let g = dir.join("g.png");
        gray.save(&g).unwrap();
        let (rgb, note) = load_rgb(&g).unwrap();
        assert!(note.unwrap().contains("grayscale"));
        assert_eq!(rgb.get_pixel(0, 0).0, [77, 77, 77]);

        let rgba = image::RgbaImage::from_pixel(2, 2, image::Rgba([1, 2, 3, 4]));
        let a = dir.join("rgba.png");
        rgba.save(&a).unwrap();
        assert!(load_rgb(&a).unwrap().1.unwrap().contains("alpha"));

        let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(
            2,
            2,
            image::Rgb([65535u16, 0, 32768]),
        );
        let d = dir.join("deep.png");
        deep.save(&d).unwrap();
        let (rgb, note) = load_rgb(&d).unwrap();
        assert!(note.unwrap().contains("16-bit"));
        assert_eq!(rgb.get_pixel(0, 0).0[0], 255);

        let bad = dir.join("bad.png");
        std::fs::write(&bad, b"not a png").unwrap();
        let e = load_rgb(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.png") && e.contains("cannot read"), "{e}");
        let e = load_rgb(&dir.join("nope.jpg")).unwrap_err().to_string();
        assert!(e.contains("nope.jpg") && e.contains("no such"), "{e}");
    }

    #[test]
    fn no_resampling_at_target_size() {
        let mut img = RgbImage::new(64, 32);
        for (x, y, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb([(x * 4) as u8, (y * 8) as u8, 7]);
        }
        assert_eq!(resize_longest(img.clone(), 64), img);
        let small = resize_longest(img, 32);
        assert_eq!(small.dimensions(), (32, 16));
    }

    /// A JPEG with an APP1 Exif segment holding only `Orientation = o`, spliced after SOI.
    pub fn jpeg_with_orientation(img: &RgbImage, o: u8) -> Vec<u8> {
        let mut jpeg = std::io::Cursor::new(Vec::new());
        img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        let jpeg = jpeg.into_inner();
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
        tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        let len = (app1.len() + 2) as u16;
        let mut out = jpeg[..2].to_vec();
        out.extend([0xff, 0xe1]);
        out.extend(len.to_be_bytes());
        out.extend(app1);
        out.extend(&jpeg[2..]);
        out
    }

    #[test]
    fn exif_orientation_is_applied_on_read() {
        let dir = tempdir();
        // stored 64 wide, 32 tall, red on the left half: turned 90° clockwise (orientation 6)
        // it is shown 32 wide, 64 tall, red on the top half
        let stored = RgbImage::from_fn(64, 32, |x, _| {
            image::Rgb(if x < 32 { [250, 0, 0] } else { [0, 0, 250] })
        });
        let p = dir.join("phone.jpg");
        std::fs::write(&p, jpeg_with_orientation(&stored, 6)).unwrap();
        assert_eq!(dimensions(&p).unwrap(), (32, 64));
        let (img, _) = load_rgb(&p).unwrap();
        assert_eq!(img.dimensions(), (32, 64));
        assert!(img.get_pixel(16, 8)[0] > 200 && img.get_pixel(16, 56)[2] > 200);
        let plain = dir.join("plain.jpg");
        std::fs::write(&plain, jpeg_with_orientation(&stored, 1)).unwrap();
        assert_eq!(dimensions(&plain).unwrap(), (64, 32));
        assert_eq!(load_rgb(&plain).unwrap().0.dimensions(), (64, 32));
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "aiart-img-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
