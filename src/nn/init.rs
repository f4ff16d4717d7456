//! The reference's `init_type` for convolution weights (pytorch-CycleGAN-and-pix2pix
//! `networks.init_weights`, with torch.nn.init's formulas): `normal` N(0, gain); `xavier`
//! (xavier_normal_) N(0, gain·√(2/(fan_in + fan_out))); `kaiming` (kaiming_normal_, a = 0,
//! fan_in) N(0, √(2/fan_in)), gain unused as in the reference; `orthogonal` (orthogonal_) the Q of
//! a standard normal matrix's QR (rows = dim 0, the rest flattened; the diagonal of R made
//! positive), × gain. fan_in = dim 1 × the kernel's area, fan_out = dim 0 × it, from the tensor's
//! own dims as torch computes them (so a transposed convolution's, stored (in, out, k, k), too).
//! Biases are 0 and BatchNorm weights N(1, gain) whatever the type (`params.rs`).

use crate::rng::SeededRng;
use serde::{Deserialize, Serialize};

/// `model.init_type`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InitType {
    #[default]
    Normal,
    Xavier,
    Kaiming,
    Orthogonal,
}

/// torch.nn.init's `_calculate_fan_in_and_fan_out` for a weight of these dims (at least 2).
pub fn fans(dims: &[usize]) -> (usize, usize) {
    let field: usize = dims.iter().skip(2).product();
    (dims[1] * field, dims[0] * field)
}

/// A convolution weight's values, row-major in `dims`, drawn as `init` with `gain`.
pub fn conv_weight(rng: &mut SeededRng, dims: &[usize], init: InitType, gain: f32) -> Vec<f32> {
    let n: usize = dims.iter().product();
    let (fan_in, fan_out) = fans(dims);
    match init {
        InitType::Normal => rng.normal_vec(n, 0.0, gain),
        InitType::Xavier => {
            let std = gain as f64 * (2.0 / (fan_in + fan_out) as f64).sqrt();
            rng.normal_vec(n, 0.0, std as f32)
        }
        InitType::Kaiming => rng.normal_vec(n, 0.0, (2.0 / fan_in as f64).sqrt() as f32),
        InitType::Orthogonal => orthogonal(rng, dims[0], n / dims[0].max(1), gain),
    }
}

/// torch.nn.init.orthogonal_ on a rows × cols matrix: orthonormal rows (rows ≤ cols) or columns
/// (rows > cols), × gain. QR by modified Gram–Schmidt in f64, whose R has a positive diagonal, the
/// sign torch fixes with `q *= sign(diag(r))`.
pub fn orthogonal(rng: &mut SeededRng, rows: usize, cols: usize, gain: f32) -> Vec<f32> {
    let a = rng.normal_vec(rows * cols, 0.0, 1.0);
    // the tall matrix whose columns are made orthonormal: (m × k), m ≥ k, stored by column
    let (m, k, tall) = if rows < cols {
        (cols, rows, false)
    } else {
        (rows, cols, true)
    };
    let mut q: Vec<Vec<f64>> = (0..k)
        .map(|j| {
            (0..m)
                .map(|i| {
                    // the (i, j) of the tall matrix: a[i][j] when tall, else aᵀ
                    if tall {
                        a[i * cols + j] as f64
                    } else {
                        a[j * cols + i] as f64
                    }
                })
                .collect()
        })
        .collect();
    for j in 0..k {
        for p in 0..j {
            let (done, rest) = q.split_at_mut(j);
            let dot: f64 = done[p].iter().zip(&rest[0]).map(|(x, y)| x * y).sum();
            for (x, y) in rest[0].iter_mut().zip(&done[p]) {
                *x -= dot * y;
            }
        }
        let norm = q[j].iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
        for x in &mut q[j] {
            *x /= norm;
        }
    }
    let mut out = vec![0f32; rows * cols];
    for (j, col) in q.iter().enumerate() {
        for (i, v) in col.iter().enumerate() {
            let at = if tall { i * cols + j } else { j * cols + i };
            out[at] = (v * gain as f64) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_of(v: &[f32]) -> f64 {
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt()
    }

    #[test]
    fn xavier_and_kaiming_have_the_references_std() {
        let mut rng = SeededRng::new(3);
        // a conv 32 → 64, 4×4: fan_in 512, fan_out 1024 (131,072 values: the std within 1 %)
        let dims = [64, 32, 4, 4];
        assert_eq!(fans(&dims), (512, 1024));
        let x = conv_weight(&mut rng, &dims, InitType::Xavier, 0.02);
        let want = 0.02 * (2.0f64 / 1536.0).sqrt();
        assert!(
            (std_of(&x) / want - 1.0).abs() < 0.01,
            "{} vs {want}",
            std_of(&x)
        );
        let k = conv_weight(&mut rng, &dims, InitType::Kaiming, 0.02);
        let want = (2.0f64 / 512.0).sqrt();
        assert!(
            (std_of(&k) / want - 1.0).abs() < 0.01,
            "{} vs {want}",
            std_of(&k)
        );
        // a transposed conv stored (in 64, out 32, 4, 4): torch's fans from the dims as they are
        assert_eq!(fans(&[64, 32, 4, 4]), (512, 1024));
        let n = conv_weight(&mut rng, &dims, InitType::Normal, 0.02);
        assert!((std_of(&n) / 0.02 - 1.0).abs() < 0.01);
    }

    /// W·Wᵀ (wide) or Wᵀ·W (tall) against gain²·I.
    fn gram_error(w: &[f32], rows: usize, cols: usize, gain: f64) -> f64 {
        let wide = rows <= cols;
        let (k, m) = if wide { (rows, cols) } else { (cols, rows) };
        // element i of vector r: row r of a wide matrix, column r of a tall one
        let at = |r: usize, i: usize| {
            if wide {
                w[r * cols + i] as f64
            } else {
                w[i * cols + r] as f64
            }
        };
        let mut worst = 0f64;
        for a in 0..k {
            for b in 0..k {
                let dot: f64 = (0..m).map(|i| at(a, i) * at(b, i)).sum();
                let want = if a == b { gain * gain } else { 0.0 };
                worst = worst.max((dot - want).abs());
            }
        }
        worst
    }

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal_times_the_gain() {
        let mut rng = SeededRng::new(5);
        // wide: a conv 8 → 16, 3×3 is 16 × 72, its rows orthonormal
        let w = conv_weight(&mut rng, &[16, 8, 3, 3], InitType::Orthogonal, 0.02);
        assert!(
            gram_error(&w, 16, 72, 0.02) < 1e-9,
            "{}",
            gram_error(&w, 16, 72, 0.02)
        );
        // tall: a 1×1 conv 8 → 40 is 40 × 8, its columns orthonormal
        let w = conv_weight(&mut rng, &[40, 8, 1, 1], InitType::Orthogonal, 1.0);
        assert!(gram_error(&w, 40, 8, 1.0) < 1e-6);
        // square: both
        let w = orthogonal(&mut rng, 12, 12, 1.0);
        assert!(gram_error(&w, 12, 12, 1.0) < 1e-6);
        // not a fixed matrix: the seed decides
        let (a, b) = (
            orthogonal(&mut SeededRng::new(1), 4, 9, 1.0),
            orthogonal(&mut SeededRng::new(2), 4, 9, 1.0),
        );
        assert_ne!(a, b);
    }

    #[test]
    fn normal_draws_what_the_store_drew_before_init_types() {
        // the default keeps every seeded network (and the PyTorch fixtures' runs) as it was
        let a = conv_weight(
            &mut SeededRng::new(9),
            &[4, 3, 3, 3],
            InitType::Normal,
            0.02,
        );
        let b = SeededRng::new(9).normal_vec(108, 0.0, 0.02);
        assert_eq!(a, b);
    }
}
