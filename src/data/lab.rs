//! CIE Lab for the colorization model (issue 34 item 3), exactly as pytorch-CycleGAN-and-pix2pix
//! computes it through scikit-image (`skimage.color.rgb2lab` / `lab2rgb`: sRGB, illuminant D65,
//! 2° observer, the easyrgb.com formulas with skimage's constants), in f64:
//! - `data/colorization_dataset.py`: `A = L / 50 − 1` (1 channel), `B = ab / 110` (2 channels),
//!   from `color.rgb2lab(im).astype(np.float32)` of the transformed 8-bit photo;
//! - `models/colorization_model.py`'s `lab2rgb(L, AB)`: `L2 = (L + 1) · 50`, `AB2 = AB · 110`,
//!   `color.lab2rgb` (negative Z clipped to 0, RGB clipped to [0, 1]) × 255, then `util.tensor2im`'s
//!   `astype(np.uint8)` (truncation) when it is saved.

use image::{Rgb, RgbImage};

/// skimage's `xyz_from_rgb` (sRGB primaries, D65).
const XYZ_FROM_RGB: [[f64; 3]; 3] = [
    [0.412453, 0.357580, 0.180423],
    [0.212671, 0.715160, 0.072169],
    [0.019334, 0.119193, 0.950227],
];

/// skimage's `rgb_from_xyz` = `linalg.inv(xyz_from_rgb)`, as numpy computes it.
const RGB_FROM_XYZ: [[f64; 3]; 3] = [
    [3.2404813432005266, -1.5371515162713183, -0.4985363261688878],
    [-0.9692549499965682, 1.8759900014898907, 0.04155592655829284],
    [
        0.055646639135177166,
        -0.20404133836651123,
        1.0573110696453443,
    ],
];

/// The D65 white for the 2° observer (skimage's `xyz_tristimulus_values`).
const WHITE: [f64; 3] = [0.95047, 1.0, 1.08883];

fn mul(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    m.map(|r| r[0] * v[0] + r[1] * v[1] + r[2] * v[2])
}

/// `skimage.color.rgb2lab` of one 8-bit sRGB pixel: (L in 0–100, a, b).
pub fn rgb8_to_lab(p: [u8; 3]) -> [f64; 3] {
    let lin = p.map(|c| {
        let c = c as f64 / 255.0;
        if c > 0.04045 {
            ((c + 0.055) / 1.055).powf(2.4)
        } else {
            c / 12.92
        }
    });
    let xyz = mul(&XYZ_FROM_RGB, lin);
    let f = [0, 1, 2].map(|i| {
        let t = xyz[i] / WHITE[i];
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    });
    [
        116.0 * f[1] - 16.0,
        500.0 * (f[0] - f[1]),
        200.0 * (f[1] - f[2]),
    ]
}

/// `skimage.color.lab2rgb` of one pixel: sRGB in [0, 1] (negative Z clipped to 0, then RGB
/// clipped).
pub fn lab_to_rgb(lab: [f64; 3]) -> [f64; 3] {
    let [l, a, b] = lab;
    let y = (l + 16.0) / 116.0;
    let x = a / 500.0 + y;
    let z = (y - b / 200.0).max(0.0);
    let xyz = [x, y, z].map(|t| {
        if t > 0.2068966 {
            t.powi(3)
        } else {
            (t - 16.0 / 116.0) / 7.787
        }
    });
    let xyz = [0, 1, 2].map(|i| xyz[i] * WHITE[i]);
    mul(&RGB_FROM_XYZ, xyz).map(|c| {
        let c = if c > 0.0031308 {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        } else {
            c * 12.92
        };
        c.clamp(0.0, 1.0)
    })
}

/// The colorization dataset's pair for a photo (already resized/cropped as the dataset's
/// transform does): `A` (1 × H × W, row-major) = L / 50 − 1 and `B` (2 × H × W) = (a, b) / 110, in
/// f32 as the reference (Lab cast to f32 before the scaling).
pub fn colorization_pair(img: &RgbImage) -> (Vec<f32>, Vec<f32>) {
    let n = img.width() as usize * img.height() as usize;
    let (mut a, mut b) = (Vec::with_capacity(n), vec![0f32; 2 * n]);
    for (i, p) in img.pixels().enumerate() {
        let [l, la, lb] = rgb8_to_lab(p.0).map(|v| v as f32);
        a.push(l / 50.0 - 1.0);
        b[i] = la / 110.0;
        b[n + i] = lb / 110.0;
    }
    (a, b)
}

/// The reference's `lab2rgb(L, AB)` × 255 of one pixel, before truncation: `l` and `ab` as the
/// network gives them (f32, nominally [-1, 1]).
pub fn network_lab_to_rgb255(l: f32, ab: [f32; 2]) -> [f64; 3] {
    // torch computes (L + 1) · 50 and AB · 110 in f32, then numpy casts to f64
    let lab = [(l + 1.0) * 50.0, ab[0] * 110.0, ab[1] * 110.0].map(|v| v as f64);
    lab_to_rgb(lab).map(|c| c * 255.0)
}

/// The colorization model's output as the reference saves it: `l` (H × W) and `ab` (2 × H × W,
/// row-major planes) → `lab2rgb` × 255 → `astype(uint8)` (truncation).
///
/// Panics when the planes do not hold `w × h` (and `2 × w × h`) values.
pub fn network_lab_to_image(l: &[f32], ab: &[f32], w: u32, h: u32) -> RgbImage {
    let n = w as usize * h as usize;
    assert_eq!(
        (l.len(), ab.len()),
        (n, 2 * n),
        "L and ab planes of {w}×{h}"
    );
    RgbImage::from_fn(w, h, |x, y| {
        let i = y as usize * w as usize + x as usize;
        Rgb(network_lab_to_rgb255(l[i], [ab[i], ab[n + i]]).map(|c| c as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn fixture() -> std::collections::HashMap<String, Tensor> {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lab_reference.safetensors"
        );
        candle_core::safetensors::load(p, &Device::Cpu).unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn the_dataset_pair_equals_the_references() {
        let f = fixture();
        let (h, w, _) = f["rgb"].dims3().unwrap();
        let raw: Vec<u8> = flat(&f["rgb"]).iter().map(|&v| v as u8).collect();
        let img = RgbImage::from_raw(w as u32, h as u32, raw).unwrap();
        let (a, b) = colorization_pair(&img);
        let max = |x: &[f32], y: &[f32]| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max)
        };
        // f64 maths cast to f32: the reference's own cast; allow one f32 ulp around 1
        assert!(
            max(&a, &flat(&f["A"])) <= 2.5e-7,
            "A {}",
            max(&a, &flat(&f["A"]))
        );
        assert!(
            max(&b, &flat(&f["B"])) <= 2.5e-7,
            "B {}",
            max(&b, &flat(&f["B"]))
        );
    }

    #[test]
    fn the_saved_rgb_equals_the_references_including_out_of_gamut_ab() {
        let f = fixture();
        let (_, _, h, w) = f["L_in"].dims4().unwrap();
        let (l, ab) = (flat(&f["L_in"]), flat(&f["AB_in"]));
        let n = w * h;
        let want_f = flat(&f["rgb_out_f"]);
        let mut worst = 0f64;
        for i in 0..n {
            let got = network_lab_to_rgb255(l[i], [ab[i], ab[n + i]]);
            for c in 0..3 {
                worst = worst.max((got[c] - want_f[i * 3 + c] as f64).abs());
            }
        }
        // the fixture stores f64 as f32: ≤ half an f32 ulp at 255
        assert!(worst <= 1e-5, "{worst}");
        let img = network_lab_to_image(&l, &ab, w as u32, h as u32);
        let want: Vec<u8> = flat(&f["rgb_out"]).iter().map(|&v| v as u8).collect();
        assert_eq!(img.as_raw(), &want);
        // some pixels were clipped (the test covers the gamut's edge)
        assert!(want.contains(&0) && want.contains(&255));
    }

    #[test]
    fn white_black_and_grey_have_no_colour() {
        let w = rgb8_to_lab([255, 255, 255]);
        assert!(
            (w[0] - 100.0).abs() < 1e-3 && w[1].abs() < 1e-2 && w[2].abs() < 1e-2,
            "{w:?}"
        );
        assert_eq!(rgb8_to_lab([0, 0, 0]), [0.0, 0.0, 0.0]);
        let g = lab_to_rgb(rgb8_to_lab([128, 128, 128]));
        assert!(g.iter().all(|c| (c * 255.0 - 128.0).abs() < 1e-3), "{g:?}");
    }
}
