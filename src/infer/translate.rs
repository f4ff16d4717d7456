//! One image through a pix2pix / CycleGAN generator, as the reference's test.py: without `--eval`
//! dropout on and normalisation from the input's own statistics; with it, dropout off and
//! BatchNorm's running statistics. A ResNet sees the image reflect-padded to a multiple of 4, a
//! U-Net sees it resized to a multiple of its 2^downs; the result comes back at the input's size.
//! Past the memory budget the forward runs in exact row bands (`nn::tiled`), whose result is the
//! whole-image forward's (±1 level of 255). A colorization generator (1 channel in, 2 out) takes
//! a photo's L and gives its ab, written as the RGB photo (`Translation::image`).

use super::{check_budget, OnProgress, Tiling};
use crate::data::dataset::split_aligned;
use crate::data::{grid, image_io, lab, transform};
use crate::nn::gan::{GenArch, Generator};
use crate::nn::layers::Ctx;
use crate::nn::tiled::{self, Report};
use crate::preset::gan::Direction;
use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use image::imageops::FilterType;
use image::{ImageBuffer, Luma, RgbImage};
use std::path::{Path, PathBuf};

/// How every image of a run is translated: the network's context (dropout masks and statistics),
/// the device, the memory rule, and where scratch files go (None: the output's folder).
pub struct Translation<'a> {
    pub g: &'a Generator,
    pub ctx: &'a Ctx,
    pub device: &'a Device,
    pub tiling: Tiling,
    pub scratch_dir: Option<PathBuf>,
}

impl Translation<'_> {
    /// `img` (W×H, 8-bit RGB) translated, at its size; and what the engine did. A generator with
    /// `input_nc` 1 sees the image's grayscale (`image_io::grayscale`, PIL's `convert('L')`, before
    /// any resize as the reference's test transform); one with `output_nc` 1 gives a gray image in
    /// RGB (R = G = B, as the reference's `tensor2im` tiles it). Errors: a plan that cannot keep
    /// within the budget (before the forward; `what` names the image), the network's (a shape it
    /// cannot take), scratch files (named).
    pub fn image(
        &self,
        img: RgbImage,
        scratch: &Path,
        what: &str,
        progress: OnProgress,
    ) -> Result<(RgbImage, Report)> {
        if self.g.config.is_colorization() {
            return self.colorized(img, scratch, what, progress);
        }
        let (w, h) = img.dimensions();
        let gray = self.g.config.input_nc == 1;
        let img = image_io::grayscale_if(img, gray);
        let (x, (nw, nh)) = match self.g.arch {
            GenArch::Resnet { .. } => {
                let m = 4;
                let (pw, ph) = ((w as usize).div_ceil(m) * m, (h as usize).div_ceil(m) * m);
                let x = transform::to_tensor_nc(&img, gray, self.device)?.unsqueeze(0)?;
                let x = pad_end(&pad_end(&x, 2, ph - h as usize)?, 3, pw - w as usize)?;
                (x, (w, h))
            }
            GenArch::Unet { downs } => {
                let (nw, nh) = unet_size(downs, (w, h));
                let x = image_io::resize_exact(img, nw, nh);
                let x = transform::to_tensor_nc(&x, gray, self.device)?.unsqueeze(0)?;
                (x, (nw, nh))
            }
        };
        let mut out = RgbImage::new(nw, nh);
        let mut sink = |row: usize, band: Tensor| -> tiled::Result<()> {
            put_rows(&mut out, row, &band)?;
            Ok(())
        };
        let to_come = 3 * nw as u64 * nh as u64;
        let report = self.forward(x, to_come, scratch, what, progress, &mut sink)?;
        let y = match self.g.arch {
            GenArch::Resnet { .. } => out,
            GenArch::Unet { .. } if (nw, nh) == (w, h) => out,
            GenArch::Unet { .. } => image::imageops::resize(&out, w, h, FilterType::CatmullRom),
        };
        Ok((y, report))
    }

    /// The colorization model on a photo, as the reference's ColorizationModel tests one: the
    /// photo's L (`data::lab::colorization_pair`'s A = L / 50 − 1, 1 channel) through the
    /// generator, whose 2 output channels are ab / 110, then `lab2rgb` of the photo's own L and
    /// that ab, × 255, truncated (`data::lab::network_lab_to_image`, the reference's
    /// `fake_B_rgb`). The same exact bands as every translation carry L in and ab out. A U-Net
    /// sees the photo resized to a multiple of its 2^downs; its ab planes are resized back
    /// (Catmull-Rom) and joined to the L of the photo at its own size, so the output's L is the
    /// input's.
    fn colorized(
        &self,
        img: RgbImage,
        scratch: &Path,
        what: &str,
        progress: OnProgress,
    ) -> Result<(RgbImage, Report)> {
        let (w, h) = img.dimensions();
        let l_full = l_plane(&img);
        let (nw, nh) = match self.g.arch {
            GenArch::Resnet { .. } => (
                (w as usize).div_ceil(4) as u32 * 4,
                (h as usize).div_ceil(4) as u32 * 4,
            ),
            GenArch::Unet { downs } => unet_size(downs, (w, h)),
        };
        let x = match self.g.arch {
            GenArch::Resnet { .. } => {
                let x =
                    Tensor::from_vec(l_full.clone(), (1, 1, h as usize, w as usize), self.device)?;
                pad_end(&pad_end(&x, 2, (nh - h) as usize)?, 3, (nw - w) as usize)?
            }
            GenArch::Unet { .. } => {
                let l = l_plane(&image_io::resize_exact(img, nw, nh));
                Tensor::from_vec(l, (1, 1, nh as usize, nw as usize), self.device)?
            }
        };
        // the ab planes the bands fill, at the network's size
        let n = nw as usize * nh as usize;
        let mut ab = vec![0f32; 2 * n];
        let mut sink = |row: usize, band: Tensor| -> tiled::Result<()> {
            put_ab_rows(&mut ab, (nw as usize, nh as usize), row, &band)?;
            Ok(())
        };
        // beside the engine: the ab planes being filled and the photo's L
        let to_come = 4 * (2 * n as u64 + w as u64 * h as u64);
        let report = self.forward(x, to_come, scratch, what, progress, &mut sink)?;
        let ab = match self.g.arch {
            GenArch::Unet { .. } if (nw, nh) != (w, h) => {
                let plane = |c: usize| resize_plane(&ab[c * n..(c + 1) * n], (nw, nh), (w, h));
                [plane(0), plane(1)].concat()
            }
            // a ResNet's padding falls away
            _ => {
                let (w, h) = (w as usize, h as usize);
                let mut out = Vec::with_capacity(2 * w * h);
                for c in 0..2 {
                    for y in 0..h {
                        let start = c * n + y * nw as usize;
                        out.extend_from_slice(&ab[start..start + w]);
                    }
                }
                out
            }
        };
        Ok((lab::network_lab_to_image(&l_full, &ab, w, h), report))
    }

    /// The generator's forward of `x` (1, C, H, W), whole or in exact bands past the budget, each
    /// result band handed to `sink` with its first row; `to_come` is the bytes of the picture
    /// being filled beside the engine.
    fn forward(
        &self,
        x: Tensor,
        to_come: u64,
        scratch: &Path,
        what: &str,
        progress: OnProgress,
        sink: &mut dyn FnMut(usize, Tensor) -> tiled::Result<()>,
    ) -> Result<Report> {
        // the input tensor and the picture being filled stay beside the engine
        let input = 4 * x.elem_count() as u64;
        let program = self.g.program();
        let report = match self.tiling.options(self.device, input, to_come, scratch) {
            Some(opts) => {
                let plan = tiled::estimate(&program, x.dims(), self.ctx, &opts)?;
                check_budget(&plan, &opts, &self.tiling, what)?;
                tiled::run_bands(&program, &x, self.ctx, &opts, progress, sink)?
            }
            None => {
                progress(tiled::Progress { done: 0, total: 1 });
                let y = self.g.forward(&x, self.ctx)?;
                sink(0, y)?;
                progress(tiled::Progress { done: 1, total: 1 });
                Report {
                    tiled: false,
                    untiled_bytes: 0,
                    peak_bytes: 0,
                    bands: 1,
                    scratch_written: 0,
                }
            }
        };
        Ok(report)
    }

    /// As the reference's test.py on an aligned dataset: the image is split into A and B (B is
    /// the input when the run trained BtoA), A is translated, and the result is real_A | fake_B |
    /// real_B (or fake_B alone); a side of 1 channel is shown as its grayscale, as the reference's
    /// visuals show what the networks see.
    pub fn aligned(
        &self,
        ab: RgbImage,
        direction: Direction,
        fake_only: bool,
        scratch: &Path,
        what: &str,
        progress: OnProgress,
    ) -> Result<RgbImage> {
        let (left, right) = split_aligned(&ab);
        drop(ab);
        let (real_a, real_b) = match direction {
            Direction::AtoB => (left, right),
            Direction::BtoA => (right, left),
        };
        let (fake_b, _) = self.image(real_a.clone(), scratch, what, progress)?;
        if fake_only {
            return Ok(fake_b);
        }
        // the page shows what the networks see, as the reference's visuals: a 1-channel side gray
        let (real_a, real_b) = (
            image_io::grayscale_if(real_a, self.g.config.input_nc == 1),
            image_io::grayscale_if(real_b, self.g.config.output_nc == 1),
        );
        Ok(grid::labelled_grid(
            &[
                ("real_A".into(), real_a),
                ("fake_B".into(), fake_b),
                ("real_B".into(), real_b),
            ],
            3,
        ))
    }

    /// One input read (EXIF orientation applied), translated — its left or right half when
    /// `aligned` says the checkpoint reads A|B pairs — and written to `out` (its folder made).
    /// Errors name the input: a side below the generator's smallest (`min_side`), the budget,
    /// reading, writing.
    pub fn file(
        &self,
        input: &Path,
        out: &Path,
        aligned: Option<Direction>,
        fake_only: bool,
        progress: OnProgress,
    ) -> Result<()> {
        self.file_made(
            input,
            out,
            aligned.is_some(),
            &mut |img, scratch, what| match aligned {
                Some(d) => self.aligned(img, d, fake_only, scratch, what, &mut *progress),
                None => Ok(self.image(img, scratch, what, &mut *progress)?.0),
            },
        )
    }

    /// As the reference's CycleGAN test page for one image (its `CycleGANModel.forward` and
    /// visuals): `real` through this generator (`fake`), and `fake` back through `back` (`rec`,
    /// e.g. G_B(G_A(a))); the labelled row real_A | fake_B | rec_A for `AtoB` (self: G_A, back:
    /// G_B), real_B | fake_A | rec_B for `BtoA`. Each pass is [`Translation::image`]'s, its
    /// 8-bit result the next one's input. Errors: either pass's.
    pub fn both_ways(
        &self,
        back: &Generator,
        real: RgbImage,
        direction: Direction,
        scratch: &Path,
        what: &str,
        progress: OnProgress,
    ) -> Result<RgbImage> {
        let (fake, _) = self.image(real.clone(), scratch, what, &mut *progress)?;
        let back = Translation {
            g: back,
            ctx: self.ctx,
            device: self.device,
            tiling: self.tiling,
            scratch_dir: self.scratch_dir.clone(),
        };
        let (rec, _) = back.image(fake.clone(), scratch, what, progress)?;
        let real = image_io::grayscale_if(real, self.g.config.input_nc == 1);
        let (x, y) = match direction {
            Direction::AtoB => ("A", "B"),
            Direction::BtoA => ("B", "A"),
        };
        Ok(grid::labelled_grid(
            &[
                (format!("real_{x}"), real),
                (format!("fake_{y}"), fake),
                (format!("rec_{x}"), rec),
            ],
            3,
        ))
    }

    /// [`Translation::file`] for [`Translation::both_ways`]: one input read, its row written to
    /// `out`. Errors name the input, as `file`'s.
    pub fn file_both_ways(
        &self,
        back: &Generator,
        direction: Direction,
        input: &Path,
        out: &Path,
        progress: OnProgress,
    ) -> Result<()> {
        let need = min_side(back);
        self.file_made(input, out, false, &mut |img, scratch, what| {
            let (w, h) = img.dimensions();
            if w.min(h) < need {
                bail!(
                    "{what}, but the generator back ({}) takes at least {need} px on each side",
                    back.arch.name()
                );
            }
            self.both_ways(back, img, direction, scratch, what, &mut *progress)
        })
    }

    /// One input read (EXIF orientation applied, each side checked against the generator's
    /// smallest, halves for `aligned` pairs), made into a picture by `make` (the image, the
    /// scratch folder, what to call it) and written to `out` (its folder made).
    fn file_made(
        &self,
        input: &Path,
        out: &Path,
        aligned: bool,
        make: &mut dyn FnMut(RgbImage, &Path, &str) -> Result<RgbImage>,
    ) -> Result<()> {
        let (img, _) = image_io::load_rgb(input)?;
        let (w, h) = img.dimensions();
        let (gw, gh) = if aligned { (w / 2, h) } else { (w, h) };
        let need = min_side(self.g);
        let halves = if aligned {
            format!(" (halves {gw}×{gh})")
        } else {
            String::new()
        };
        if gw.min(gh) < need {
            bail!(
                "{}: {w}×{h} px{halves}, but this generator ({}) takes at least {need} px on each \
                 side",
                input.display(),
                self.g.arch.name()
            );
        }
        let scratch = super::output_folder(out, self.scratch_dir.as_deref())?;
        let what = format!("{}: {w}×{h} px{halves}", input.display());
        let y = make(img, &scratch, &what)?;
        image_io::save_image(&y, out)?;
        Ok(())
    }
}

/// The colorization dataset's A of a photo, L / 50 − 1 (H × W, row-major): the first plane of
/// `lab::colorization_pair`, without computing its ab.
pub(crate) fn l_plane(img: &RgbImage) -> Vec<f32> {
    img.pixels()
        .map(|p| lab::rgb8_to_lab(p.0)[0] as f32 / 50.0 - 1.0)
        .collect()
}

/// A plane of values in [-1, 1] (a network's tanh output, row-major `from.0 × from.1`) resized to
/// `to` (Catmull-Rom). The image crate clamps f32 samples to [0, 1], so the plane is mapped there
/// and back; Catmull-Rom's overshoot is clamped to [-1, 1], the network's own range.
pub(crate) fn resize_plane(plane: &[f32], from: (u32, u32), to: (u32, u32)) -> Vec<f32> {
    let unit: Vec<f32> = plane.iter().map(|v| (v + 1.0) * 0.5).collect();
    let p = ImageBuffer::<Luma<f32>, Vec<f32>>::from_raw(from.0, from.1, unit)
        .expect("a plane of from.0 × from.1 values");
    image::imageops::resize(&p, to.0, to.1, FilterType::CatmullRom)
        .into_raw()
        .into_iter()
        .map(|v| v * 2.0 - 1.0)
        .collect()
}

/// A U-Net's input size for a `(w, h)` image: each side rounded to the nearest multiple of
/// 2^downs (at least one).
fn unet_size(downs: usize, (w, h): (u32, u32)) -> (u32, u32) {
    let m = 1u32 << downs;
    let round = |v: u32| (((v as f64 / m as f64).round() as u32).max(1)) * m;
    (round(w), round(h))
}

/// Writes a band (1, 2, rows, W′) of ab into the planes `ab` (2 × H × W′, `size` = (W′, H)) from
/// row `row`.
fn put_ab_rows(
    ab: &mut [f32],
    (w, h): (usize, usize),
    row: usize,
    band: &Tensor,
) -> candle_core::Result<()> {
    if row >= h {
        return Ok(());
    }
    let rows = band.dim(2)?.min(h - row);
    let band = band.narrow(2, 0, rows)?.narrow(3, 0, w)?;
    let band = band.to_dtype(candle_core::DType::F32)?.squeeze(0)?;
    for c in 0..2 {
        let plane: Vec<f32> = band.get(c)?.flatten_all()?.to_vec1()?;
        let start = c * w * h + row * w;
        ab[start..start + plane.len()].copy_from_slice(&plane);
    }
    Ok(())
}

/// Writes a band (1, C, rows, W′) in [-1, 1] (C: 3, or 1 written as gray RGB) into `out` from
/// row `row`, as `transform::to_image` converts it, cropped to `out`'s size (a ResNet's padding
/// rows and columns fall away).
fn put_rows(out: &mut RgbImage, row: usize, band: &Tensor) -> candle_core::Result<()> {
    let (w, h) = (out.width() as usize, out.height() as usize);
    if row >= h {
        return Ok(());
    }
    let rows = band.dim(2)?.min(h - row);
    let band = band.narrow(2, 0, rows)?.narrow(3, 0, w)?;
    let img = transform::to_image(&band)?;
    let start = row * w * 3;
    out.as_mut()[start..start + img.as_raw().len()].copy_from_slice(img.as_raw());
    Ok(())
}

/// Pads the end of `dim` by `p` with its mirror image (edge copies when the image is too small to mirror).
fn pad_end(x: &Tensor, dim: usize, p: usize) -> candle_core::Result<Tensor> {
    let n = x.dim(dim)?;
    if p == 0 {
        return Ok(x.clone());
    }
    if p >= n {
        return x.pad_with_same(dim, 0, p);
    }
    let mut parts = vec![x.clone()];
    for i in 1..=p {
        parts.push(x.narrow(dim, n - 1 - i, 1)?);
    }
    Tensor::cat(&parts, dim)
}

/// The smallest side a generator takes. A ResNet sees its input reflect-padded to a multiple of 4
/// and halves it twice; its blocks then reflect-pad by 1, which needs at least 2 px, so the
/// padded side must be at least 8 (an input of 5 px or more). A U-Net's input is resized to a
/// multiple of its 2^downs, so any size works.
pub fn min_side(g: &Generator) -> u32 {
    match g.arch {
        GenArch::Resnet { .. } => 5,
        GenArch::Unet { .. } => 1,
    }
}

/// Whether an image is an aligned A|B pair as `dataset inspect` expects one: twice as wide as high.
pub fn is_pair(w: u32, h: u32) -> bool {
    w == 2 * h
}

pub const NOT_A_PAIR: &str = "not an aligned A|B pair (twice as wide as high). A pix2pix run's \
     checkpoint reads each input as the pairs it trained on and translates the left half; to \
     translate a plain photo or sketch whole, pass --whole";

/// For a pix2pix run's checkpoint (inputs read as A|B pairs): the inputs that are not pairs, with
/// their sizes. When no input is a pair, an error pointing at --whole before any work (the user
/// most likely meant --whole); else the caller skips them, each named. Unreadable inputs are
/// left to the caller's loop.
pub fn check_pairs(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, String)>> {
    let not_pairs: Vec<(PathBuf, String)> = inputs
        .iter()
        .filter_map(|f| {
            let (w, h) = image_io::dimensions(f).ok()?;
            (!is_pair(w, h)).then(|| (f.clone(), format!("{} ({w}×{h})", f.display())))
        })
        .collect();
    if not_pairs.len() < inputs.len() {
        return Ok(not_pairs);
    }
    let shown = not_pairs
        .iter()
        .take(5)
        .map(|(_, s)| s.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let more = if not_pairs.len() > 5 {
        format!(" and {} more", not_pairs.len() - 5)
    } else {
        String::new()
    };
    bail!("{shown}{more}: {NOT_A_PAIR}")
}
