//! Canny edge detection (Canny 1986): Gaussian blur, Sobel gradients, non-maximum suppression and
//! hysteresis between two thresholds — the way edges2shoes / edges2handbags were made for pix2pix.
//! Drawn as black lines on white.

use image::{GrayImage, Luma, RgbImage};

fn gray(img: &RgbImage) -> Vec<f32> {
    img.pixels()
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect()
}

fn blur(v: &[f32], w: usize, h: usize, sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    let k: Vec<f32> = k.iter().map(|x| x / sum).collect();
    let at = |x: isize, n: usize| x.clamp(0, n as isize - 1) as usize;
    let mut tmp = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            tmp[y * w + x] = (-r..=r)
                .map(|i| k[(i + r) as usize] * v[y * w + at(x as isize + i, w)])
                .sum();
        }
    }
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = (-r..=r)
                .map(|i| k[(i + r) as usize] * tmp[at(y as isize + i, h) * w + x])
                .sum();
        }
    }
    out
}

/// Edges of `img`; thresholds are fractions of the strongest gradient.
pub fn canny(img: &RgbImage, sigma: f32, low: f32, high: f32) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let g = blur(&gray(img), w, h, sigma);
    let px = |x: usize, y: usize| g[y.min(h - 1) * w + x.min(w - 1)];
    let mut mag = vec![0f32; w * h];
    let mut dir = vec![0u8; w * h];
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let gx = px(x + 1, y - 1) + 2.0 * px(x + 1, y) + px(x + 1, y + 1)
                - px(x - 1, y - 1)
                - 2.0 * px(x - 1, y)
                - px(x - 1, y + 1);
            let gy = px(x - 1, y + 1) + 2.0 * px(x, y + 1) + px(x + 1, y + 1)
                - px(x - 1, y - 1)
                - 2.0 * px(x, y - 1)
                - px(x + 1, y - 1);
            mag[y * w + x] = gx.hypot(gy);
            let a = gy.atan2(gx).to_degrees().rem_euclid(180.0);
            dir[y * w + x] = if !(22.5..157.5).contains(&a) {
                0
            } else if a < 67.5 {
                1
            } else if a < 112.5 {
                2
            } else {
                3
            };
        }
    }
    let max = mag.iter().cloned().fold(0.0, f32::max).max(1e-6);
    let mut thin = vec![0f32; w * h];
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let i = y * w + x;
            let (a, b) = match dir[i] {
                0 => (mag[i - 1], mag[i + 1]),
                1 => (mag[i - w - 1], mag[i + w + 1]),
                2 => (mag[i - w], mag[i + w]),
                _ => (mag[i - w + 1], mag[i + w - 1]),
            };
            if mag[i] >= a && mag[i] >= b {
                thin[i] = mag[i] / max;
            }
        }
    }
    // hysteresis: strong pixels, and weak ones connected to them
    let mut edge = vec![false; w * h];
    let mut stack: Vec<usize> = (0..w * h).filter(|&i| thin[i] >= high).collect();
    for &i in &stack {
        edge[i] = true;
    }
    while let Some(i) = stack.pop() {
        let (x, y) = ((i % w) as isize, (i / w) as isize);
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if !edge[j] && thin[j] >= low {
                    edge[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        Luma([if edge[y as usize * w + x as usize] {
            0
        } else {
            255
        }])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_has_its_outline_and_nothing_else() {
        let img = RgbImage::from_fn(40, 40, |x, y| {
            if (10..30).contains(&x) && (10..30).contains(&y) {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 0])
            }
        });
        let e = canny(&img, 1.0, 0.1, 0.3);
        let black = |x, y| e.get_pixel(x, y)[0] == 0;
        assert!(black(10, 20) || black(9, 20), "left side");
        assert!(black(20, 10) || black(20, 9), "top side");
        assert!(!black(20, 20), "flat inside");
        assert!(!black(2, 2), "flat outside");
        let n = e.pixels().filter(|p| p[0] == 0).count();
        assert!((60..200).contains(&n), "thin lines: {n} pixels");
    }
}
