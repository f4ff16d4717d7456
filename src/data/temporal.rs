//! The temporal error of an image-to-image network on clips whose motion is known exactly
//! (issue 33): how much its output flickers.
//!
//! Two synthetic clips are cut from one photo:
//! - **pan**: a window sliding right by `dx` whole pixels per frame, so frame t+1's column x is
//!   frame t's column x + dx;
//! - **noise**: one still window with fresh Gaussian sensor noise (σ in levels of 255) per frame,
//!   so every frame shows the same scene.
//!
//! The error is mean |S(fₜ₊₁) − shift(S(fₜ))| in levels of 255 over the pixels both frames show
//! (for the pan, all rows and the `width − dx` overlapping columns), averaged over the clip's
//! consecutive pairs; the same of the input clip (S the identity) is its floor: 0 for the pan,
//! the noise's own for the noise clip. A stable network's error is near the input's (Gupta et al.
//! 2017, "Characterizing and Improving Stability in Neural Style Transfer", measure the same on
//! real clips with optical flow; here the flow is exact by construction).

use image::RgbImage;

/// The two clips' errors, each beside the same of the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemporalError {
    /// Mean |S(fₜ₊₁) − shift(S(fₜ))| on the pan, levels of 255.
    pub pan: f64,
    /// The pan's input clip's error (0 with whole-pixel shifts).
    pub pan_input: f64,
    /// Mean |S(fₜ₊₁) − S(fₜ)| on the still clip with fresh noise, levels of 255.
    pub noise: f64,
    /// The noisy input clip's own error.
    pub noise_input: f64,
}

impl TemporalError {
    /// The one-line reading the dashboard and `aiart runs show` give, e.g. `pan 3.1 (input 0.0)
    /// · noise 4.2 (input 3.4) levels`.
    pub fn summary(&self) -> String {
        format!(
            "pan {:.1} (input {:.1}) · noise {:.1} (input {:.1}) levels",
            self.pan, self.pan_input, self.noise, self.noise_input
        )
    }

    /// The values by name, as a `temporal` event's fields.
    pub fn fields(&self) -> [(&'static str, f64); 4] {
        [
            ("pan", self.pan),
            ("pan_input", self.pan_input),
            ("noise", self.noise),
            ("noise_input", self.noise_input),
        ]
    }
}

/// How the synthetic clips are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clips {
    /// Frame size (width, height); the photo must be at least `width + dx · (frames − 1)` wide
    /// and `height` high.
    pub size: (u32, u32),
    /// Frames per clip (≥ 2).
    pub frames: u32,
    /// The pan's shift in whole pixels per frame (≥ 1, < width).
    pub dx: u32,
    /// The sensor noise's standard deviation in levels of 255.
    pub sigma: f32,
    pub seed: u64,
}

impl Default for Clips {
    fn default() -> Self {
        Self {
            size: (256, 256),
            frames: 8,
            // off the stride-2 grid of the networks, where their flicker is
            dx: 1,
            sigma: 4.0,
            seed: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(
        "the photo is {pw}×{ph}, too small for {frames} frames of {w}×{h} panning {dx} px a frame \
         (it needs {need_w}×{h})"
    )]
    PhotoTooSmall {
        pw: u32,
        ph: u32,
        w: u32,
        h: u32,
        frames: u32,
        dx: u32,
        need_w: u32,
    },
    #[error("a clip needs at least 2 frames and a shift of 1 to width − 1 pixels")]
    BadClips,
    #[error("the network's output for frame {frame} is {got_w}×{got_h}, its input {w}×{h}")]
    OutputSize {
        frame: usize,
        got_w: u32,
        got_h: u32,
        w: u32,
        h: u32,
    },
    #[error(transparent)]
    Network(#[from] anyhow::Error),
}

/// The pan clip: `frames` windows of `size` from `photo`'s top-left, each `dx` further right.
pub fn pan_frames(photo: &RgbImage, c: &Clips) -> Result<Vec<RgbImage>, MeasureError> {
    check(photo, c)?;
    let (w, h) = c.size;
    Ok((0..c.frames)
        .map(|t| image::imageops::crop_imm(photo, t * c.dx, 0, w, h).to_image())
        .collect())
}

/// The noise clip: `photo`'s top-left window with fresh N(0, σ²) noise per frame, rounded and
/// clamped to levels.
pub fn noise_frames(photo: &RgbImage, c: &Clips) -> Result<Vec<RgbImage>, MeasureError> {
    check(photo, c)?;
    let (w, h) = c.size;
    let still = image::imageops::crop_imm(photo, 0, 0, w, h).to_image();
    let mut rng = crate::rng::SeededRng::new(c.seed);
    Ok((0..c.frames)
        .map(|_| {
            let noise = rng.normal_vec(still.as_raw().len(), 0.0, c.sigma);
            let raw = still
                .as_raw()
                .iter()
                .zip(noise)
                .map(|(&p, n)| (p as f32 + n).round().clamp(0.0, 255.0) as u8)
                .collect();
            RgbImage::from_raw(w, h, raw).expect("same size")
        })
        .collect())
}

fn check(photo: &RgbImage, c: &Clips) -> Result<(), MeasureError> {
    let (w, h) = c.size;
    if c.frames < 2 || c.dx == 0 || c.dx >= w {
        return Err(MeasureError::BadClips);
    }
    let need_w = w + c.dx * (c.frames - 1);
    if photo.width() < need_w || photo.height() < h {
        return Err(MeasureError::PhotoTooSmall {
            pw: photo.width(),
            ph: photo.height(),
            w,
            h,
            frames: c.frames,
            dx: c.dx,
            need_w,
        });
    }
    Ok(())
}

/// Mean |b[x] − a[x + dx]| over all rows, channels and the `width − dx` columns both show, in
/// levels; `dx = 0` compares the frames whole. The frames have one size.
pub fn shifted_error(a: &RgbImage, b: &RgbImage, dx: u32) -> f64 {
    let (w, h) = a.dimensions();
    assert_eq!(b.dimensions(), (w, h), "frames of one size");
    let (w, dx) = (w as usize, dx as usize);
    let (ra, rb) = (a.as_raw(), b.as_raw());
    let mut sum = 0u64;
    for y in 0..h as usize {
        let row = y * w * 3;
        let sa = &ra[row + dx * 3..row + w * 3];
        let sb = &rb[row..row + (w - dx) * 3];
        sum += sa
            .iter()
            .zip(sb)
            .map(|(&p, &q)| p.abs_diff(q) as u64)
            .sum::<u64>();
    }
    sum as f64 / (h as usize * (w - dx) * 3) as f64
}

/// The mean of [`shifted_error`] over a clip's consecutive pairs.
pub fn clip_error(frames: &[RgbImage], dx: u32) -> f64 {
    let pairs: Vec<f64> = frames
        .windows(2)
        .map(|p| shifted_error(&p[0], &p[1], dx))
        .collect();
    pairs.iter().sum::<f64>() / pairs.len().max(1) as f64
}

/// Runs `network` over both synthetic clips of `photo` and returns their temporal errors beside
/// the inputs'. The network keeps the frame's size.
///
/// Errors: [`MeasureError::PhotoTooSmall`], [`MeasureError::BadClips`], the
/// network's own, an output of another size.
pub fn measure(
    photo: &RgbImage,
    c: &Clips,
    mut network: impl FnMut(&RgbImage) -> anyhow::Result<RgbImage>,
) -> Result<TemporalError, MeasureError> {
    let mut run = |frames: &[RgbImage]| -> Result<Vec<RgbImage>, MeasureError> {
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let out = network(f)?;
                if out.dimensions() != f.dimensions() {
                    return Err(MeasureError::OutputSize {
                        frame: i,
                        got_w: out.width(),
                        got_h: out.height(),
                        w: f.width(),
                        h: f.height(),
                    });
                }
                Ok(out)
            })
            .collect()
    };
    let pan = pan_frames(photo, c)?;
    let noise = noise_frames(photo, c)?;
    Ok(TemporalError {
        pan: clip_error(&run(&pan)?, c.dx),
        pan_input: clip_error(&pan, c.dx),
        noise: clip_error(&run(&noise)?, 0),
        noise_input: clip_error(&noise, 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 + y) as u8,
                (y * 5 + x * x) as u8,
                ((x ^ y) * 3) as u8,
            ])
        })
    }

    #[test]
    fn the_pan_moves_by_whole_pixels_so_its_own_error_is_zero() {
        let c = Clips {
            size: (16, 8),
            frames: 5,
            dx: 3,
            ..Clips::default()
        };
        let p = photo(40, 8);
        let pan = pan_frames(&p, &c).unwrap();
        assert_eq!(pan.len(), 5);
        assert_eq!(clip_error(&pan, 3), 0.0);
        // unshifted the frames differ: the measure sees motion it is not told of
        assert!(clip_error(&pan, 0) > 1.0);
    }

    #[test]
    fn the_identity_scores_its_input_and_a_flickering_network_scores_more() {
        let c = Clips {
            size: (16, 8),
            frames: 6,
            dx: 2,
            sigma: 3.0,
            seed: 7,
        };
        let p = photo(40, 8);
        let id = measure(&p, &c, |f| Ok(f.clone())).unwrap();
        assert_eq!(id.pan, id.pan_input);
        assert_eq!(id.noise, id.noise_input);
        // fresh N(0, 3²) per frame: E|n₁ − n₂| = 2σ/√π ≈ 3.39 before rounding and clamping
        assert!((id.noise_input - 3.39).abs() < 0.5, "{}", id.noise_input);
        // a network that adds its own frame-to-frame wobble of ±10 levels
        let mut t = 0u8;
        let wobble = measure(&p, &c, |f| {
            t = t.wrapping_add(1);
            let mut o = f.clone();
            let d = if t.is_multiple_of(2) { 10 } else { 0 };
            o.pixels_mut()
                .for_each(|px| px.0 = px.0.map(|v| v.saturating_add(d)));
            Ok(o)
        })
        .unwrap();
        assert!(wobble.pan > 5.0, "{wobble:?}");
        assert!(wobble.noise > id.noise + 3.0, "{wobble:?}");
    }

    #[test]
    fn shifted_error_compares_the_overlap_only() {
        let a = RgbImage::from_fn(4, 1, |x, _| image::Rgb([x as u8 * 10; 3]));
        let b = RgbImage::from_fn(4, 1, |x, _| image::Rgb([(x as u8 + 1) * 10; 3]));
        assert_eq!(shifted_error(&a, &b, 1), 0.0);
        assert_eq!(shifted_error(&a, &b, 0), 10.0);
    }

    #[test]
    fn a_photo_too_small_is_refused_with_the_size_it_needs() {
        let c = Clips {
            size: (16, 8),
            frames: 5,
            dx: 3,
            ..Clips::default()
        };
        let e = pan_frames(&photo(20, 8), &c).unwrap_err().to_string();
        assert!(e.contains("needs 28×8"), "{e}");
        let bad = Clips { dx: 0, ..c };
        assert!(matches!(
            pan_frames(&photo(40, 8), &bad),
            Err(MeasureError::BadClips)
        ));
    }
}
