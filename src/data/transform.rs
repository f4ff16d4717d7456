//! The reference's preprocessing (data/base_dataset.py: get_params, get_transform): resize and/or
//! scale to the width, random crop, random horizontal flip — the same parameters for A and B of a
//! pair — then [0, 255] → [-1, 1].

use crate::preset::gan::Preprocess;
use crate::preset::sizes;
use crate::rng::SeededRng;
use candle_core::{Device, Tensor};
use image::imageops::{self, FilterType};
use image::RgbImage;

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub preprocess: Preprocess,
    pub load_size: u32,
    pub crop_size: u32,
    pub no_flip: bool,
}

/// Where to crop and whether to flip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub crop: (u32, u32),
    pub flip: bool,
}

/// `get_params`: the crop position within the resized image and the flip.
pub fn get_params(o: &Options, size: (u32, u32), rng: &mut SeededRng) -> Params {
    let (w, h) = size;
    let (nw, nh) = match o.preprocess {
        Preprocess::ResizeAndCrop => (o.load_size, o.load_size),
        Preprocess::ScaleWidthAndCrop => (o.load_size, o.load_size * h / w.max(1)),
        _ => (w, h),
    };
    let x = rng.below((nw.saturating_sub(o.crop_size) + 1) as usize) as u32;
    let y = rng.below((nh.saturating_sub(o.crop_size) + 1) as usize) as u32;
    let flip = rng.unit() > 0.5;
    Params { crop: (x, y), flip }
}

fn scale_width(img: RgbImage, target: u32, crop: u32) -> RgbImage {
    let (w, h) = sizes::scale_width(img.dimensions(), target, crop);
    if (w, h) == img.dimensions() {
        return img;
    }
    imageops::resize(&img, w, h, FilterType::CatmullRom)
}

/// `__crop`: PIL's crop, which fills what lies outside the image with black.
fn crop(img: RgbImage, (x, y): (u32, u32), size: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    if sizes::crop((w, h), size) == (w, h) {
        return img;
    }
    let mut out = RgbImage::new(size, size);
    let part = imageops::crop_imm(&img, x, y, size.min(w - x.min(w)), size.min(h - y.min(h)));
    imageops::replace(&mut out, &*part, 0, 0);
    out
}

/// Sizes rounded to a multiple of 4, as the reference does for `none`.
fn make_power_2(img: RgbImage, base: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (nw, nh) = (sizes::make_power_2(w, base), sizes::make_power_2(h, base));
    if (nw, nh) == (w, h) {
        img
    } else {
        imageops::resize(&img, nw, nh, FilterType::CatmullRom)
    }
}

/// `get_transform` with fixed parameters.
pub fn apply(img: RgbImage, o: &Options, p: &Params) -> RgbImage {
    let mut img = img;
    match o.preprocess {
        Preprocess::ResizeAndCrop => {
            img = imageops::resize(&img, o.load_size, o.load_size, FilterType::CatmullRom)
        }
        Preprocess::ScaleWidth | Preprocess::ScaleWidthAndCrop => {
            img = scale_width(img, o.load_size, o.crop_size)
        }
        _ => {}
    }
    if matches!(
        o.preprocess,
        Preprocess::ResizeAndCrop | Preprocess::Crop | Preprocess::ScaleWidthAndCrop
    ) {
        img = crop(img, p.crop, o.crop_size);
    }
    if o.preprocess == Preprocess::None {
        img = make_power_2(img, 4);
    }
    if !o.no_flip && p.flip {
        img = imageops::flip_horizontal(&img);
    }
    img
}

/// (3, H, W) in [-1, 1].
pub fn to_tensor(img: &RgbImage, device: &Device) -> candle_core::Result<Tensor> {
    let t = super::image_io::to_tensor(img, device)?.squeeze(0)?;
    (t * 2.0)? - 1.0
}

/// (1, H, W) in [-1, 1] from a grayscale image (R = G = B, `image_io::grayscale`) when `gray`,
/// else [`to_tensor`]'s (3, H, W): the reference's ToTensor + Normalize((0.5,), (0.5,)).
pub fn to_tensor_nc(img: &RgbImage, gray: bool, device: &Device) -> candle_core::Result<Tensor> {
    let t = to_tensor(img, device)?;
    if gray {
        t.narrow(0, 0, 1)
    } else {
        Ok(t)
    }
}

/// A (C, H, W) or (1, C, H, W) tensor in [-1, 1] as an image; C = 1 is tiled to gray RGB, as the
/// reference's `tensor2im`.
pub fn to_image(t: &Tensor) -> candle_core::Result<RgbImage> {
    super::image_io::to_image(&((t + 1.0)? / 2.0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_crop_flip() {
        let img = RgbImage::from_fn(40, 20, |x, _| image::Rgb([x as u8 * 6, 0, 0]));
        let o = Options {
            preprocess: Preprocess::ResizeAndCrop,
            load_size: 36,
            crop_size: 32,
            no_flip: false,
        };
        let mut rng = SeededRng::new(3);
        for _ in 0..20 {
            let p = get_params(&o, (40, 20), &mut rng);
            assert!(p.crop.0 <= 4 && p.crop.1 <= 4);
            let out = apply(img.clone(), &o, &p);
            assert_eq!(out.dimensions(), (32, 32));
            let (l, r) = (out.get_pixel(0, 5)[0], out.get_pixel(31, 5)[0]);
            assert_eq!(l > r, p.flip, "flipped images run right to left");
        }
        let none = Options {
            preprocess: Preprocess::None,
            ..o
        };
        let out = apply(
            RgbImage::new(30, 17),
            &none,
            &Params {
                crop: (0, 0),
                flip: false,
            },
        );
        assert_eq!(out.dimensions(), (32, 16));
        let sw = Options {
            preprocess: Preprocess::ScaleWidth,
            load_size: 20,
            crop_size: 8,
            no_flip: true,
        };
        assert_eq!(
            apply(
                RgbImage::new(40, 30),
                &sw,
                &Params {
                    crop: (0, 0),
                    flip: true
                }
            )
            .dimensions(),
            (20, 15)
        );
        let t = to_tensor(
            &RgbImage::from_pixel(2, 2, image::Rgb([255, 0, 128])),
            &Device::Cpu,
        )
        .unwrap();
        let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!((v[0], v[4]), (1.0, -1.0));
    }

    /// What `apply` makes is what the size rules (preset/sizes.rs) predict, for every mode.
    #[test]
    fn output_sizes_are_the_rules_prediction() {
        use crate::preset::gan::GanData;
        let modes = [
            Preprocess::ResizeAndCrop,
            Preprocess::Crop,
            Preprocess::ScaleWidth,
            Preprocess::ScaleWidthAndCrop,
            Preprocess::None,
        ];
        let mut rng = SeededRng::new(5);
        for mode in modes {
            for (load, crop) in [(36, 32), (32, 32), (24, 16)] {
                for size in [(70, 100), (40, 20), (30, 17), (100, 30), (20, 12), (32, 32)] {
                    let o = Options {
                        preprocess: mode,
                        load_size: load,
                        crop_size: crop,
                        no_flip: false,
                    };
                    let d = GanData {
                        preprocess: mode,
                        load_size: load,
                        crop_size: crop,
                        ..Default::default()
                    };
                    let p = get_params(&o, size, &mut rng);
                    let got = apply(RgbImage::new(size.0, size.1), &o, &p).dimensions();
                    let want = sizes::preprocessed(&d, size).size;
                    assert_eq!(got, want, "{mode:?} load {load} crop {crop} of {size:?}");
                }
            }
        }
    }

    #[test]
    fn a_crop_past_a_small_side_is_filled_with_black() {
        let img = RgbImage::from_pixel(40, 10, image::Rgb([200, 200, 200]));
        let out = crop(img, (4, 0), 16);
        assert_eq!(out.dimensions(), (16, 16));
        assert_eq!(out.get_pixel(0, 0)[0], 200);
        assert_eq!(
            out.get_pixel(0, 12)[0],
            0,
            "below the image: black, as PIL's crop"
        );
    }
}
