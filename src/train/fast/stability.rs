//! The stability term of fast style training for video (issue 33): a compound regularisation after
//! Wang et al., AAAI 2020, "Consistent Video Style Transfer via Compound Regularization" — the
//! network's output for a slightly moved and noisy photo must equal its output for the photo,
//! moved the same way: ‖S(W(x) + Δ) − W(S(x))‖². Flow-free at run time and needing no video at
//! training time: the photos of the style's own dataset serve.
//!
//! Here W is a whole-pixel crop: a window of the batch, `shift` pixels smaller than the photo
//! (rounded down to a multiple of 4, so TransformerNet's two stride-2 convolutions and two
//! upsamplings give back the window's size exactly), at an offset drawn in 0..=shift per axis, so
//! every position of the window against the stride-2 grid is seen; Δ is Gaussian sensor noise of σ
//! levels of 255. Both sides keep their gradient, as in the paper.

use crate::preset::fast::{FastTrain, StabilityNorm};
use crate::rng::SeededRng;
use candle_core::{Result, Tensor};

/// The window and offset of one draw: (window side, row offset, column offset).
pub fn draw_window(side: usize, shift: usize, rng: &mut SeededRng) -> (usize, usize, usize) {
    let win = (side.saturating_sub(shift) / 4 * 4).max(4).min(side);
    let room = side - win;
    (win, rng.below(room + 1), rng.below(room + 1))
}

/// The term, unweighted: mean over the window of ((S(W(x) + Δ) − W(y)) / 255)² (`norm` L2) or of
/// |S(W(x) + Δ) − W(y)| / 255 (L1), for a batch `x` (N, 3, S, S) in 0–255 and `y = forward(x)`
/// (the same shape, also 0–255). `forward` is the network under training (its graph kept).
/// `shift` ≥ 1 pixels of window travel; `sigma` in levels.
///
/// Errors: candle's (shapes, device).
pub fn compound_term(
    forward: impl Fn(&Tensor) -> Result<Tensor>,
    x: &Tensor,
    y: &Tensor,
    rng: &mut SeededRng,
    shift: usize,
    sigma: f32,
    norm: StabilityNorm,
) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let side = h.min(w);
    let (win, oy, ox) = draw_window(side, shift, rng);
    let crop = |t: &Tensor| -> Result<Tensor> { t.narrow(2, oy, win)?.narrow(3, ox, win) };
    let moved = crop(x)?;
    let noisy = if sigma > 0.0 {
        let noise = rng.normal(moved.shape().clone(), 0.0, sigma, x.device())?;
        (moved + noise.to_dtype(x.dtype())?)?
    } else {
        moved
    };
    let out = forward(&noisy)?;
    let target = crop(y)?;
    let d = ((out - target)? / 255.0)?;
    match norm {
        StabilityNorm::L2 => d.sqr()?.mean_all(),
        StabilityNorm::L1 => d.abs()?.mean_all(),
    }
}

/// The stability term's weight for update `k` of a run (counted from 0): `stability_weight`,
/// times k / `stability_ramp_steps` while k is below it (a linear warm-up from 0; none when it is
/// 0).
pub fn weight_at(t: &FastTrain, k: u64) -> f64 {
    match t.stability_ramp_steps {
        0 => t.stability_weight,
        n => t.stability_weight * (k.min(n) as f64 / n as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn batch() -> Tensor {
        let v: Vec<f32> = (0..2 * 3 * 20 * 20).map(|i| (i % 251) as f32).collect();
        Tensor::from_vec(v, (2, 3, 20, 20), &Device::Cpu).unwrap()
    }

    #[test]
    fn the_window_is_a_multiple_of_four_inside_the_photo() {
        let mut rng = SeededRng::new(3);
        let mut offsets = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let (win, oy, ox) = draw_window(256, 4, &mut rng);
            assert_eq!(win, 252);
            assert!(oy <= 4 && ox <= 4);
            offsets.insert((oy, ox));
        }
        // every offset is drawn
        assert_eq!(offsets.len(), 25);
        assert_eq!(draw_window(20, 3, &mut rng).0, 16);
    }

    #[test]
    fn an_equivariant_map_pays_only_for_the_noise() {
        let x = batch();
        let mut rng = SeededRng::new(1);
        // no noise: a pointwise map commutes with any crop
        for norm in [StabilityNorm::L2, StabilityNorm::L1] {
            let half = (&x * 0.5).unwrap();
            let t = compound_term(|t| t * 0.5, &x, &half, &mut rng, 4, 0.0, norm).unwrap();
            assert_eq!(t.to_scalar::<f32>().unwrap(), 0.0);
        }
        // noise of σ levels through ×2: E[(2Δ/255)²] = 4σ²/255² (L2), E|2Δ/255| = 2σ√(2/π)/255
        let sigma = 6.0f32;
        let l1 = 2.0 * sigma * (2.0 / std::f32::consts::PI).sqrt() / 255.0;
        let l2 = 4.0 * sigma * sigma / (255.0 * 255.0);
        for (norm, want) in [(StabilityNorm::L2, l2), (StabilityNorm::L1, l1)] {
            let double = (&x * 2.0).unwrap();
            let t = compound_term(|t| t * 2.0, &x, &double, &mut rng, 4, sigma, norm)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!((t / want - 1.0).abs() < 0.1, "{norm:?}: {t} vs {want}");
        }
    }

    #[test]
    fn a_map_that_is_not_equivariant_pays_and_gets_a_gradient() {
        let x = batch();
        let var = candle_core::Var::new(1.0f32, &Device::Cpu).unwrap();
        // adds a ramp fixed to the frame: moving the photo does not move the ramp
        let ramp = |t: &Tensor| -> Result<Tensor> {
            let (n, c, h, w) = t.dims4()?;
            let r = Tensor::arange(0f32, w as f32, t.device())?
                .reshape((1, 1, 1, w))?
                .broadcast_as((n, c, h, w))?;
            t + r.broadcast_mul(var.as_tensor())?
        };
        let y = ramp(&x).unwrap();
        // a seed whose first draw moves the window sideways (compound_term draws it first)
        let seed = (0..)
            .find(|&s| draw_window(20, 4, &mut SeededRng::new(s)).2 > 0)
            .unwrap();
        for norm in [StabilityNorm::L2, StabilityNorm::L1] {
            let mut rng = SeededRng::new(seed);
            let term = compound_term(ramp, &x, &y, &mut rng, 4, 0.0, norm).unwrap();
            assert!(term.to_scalar::<f32>().unwrap() > 0.0);
            let g = term.backward().unwrap();
            let gv = g.get(&var).unwrap().to_scalar::<f32>().unwrap();
            assert!(
                gv > 0.0,
                "{norm:?}: the term's gradient reaches the network: {gv}"
            );
        }
    }

    #[test]
    fn the_stability_weight_ramps_up_over_its_steps_then_holds() {
        let mut t = crate::preset::fast::FastTrain {
            stability_weight: 8.0,
            ..Default::default()
        };
        // no ramp: the full weight from the first update
        assert_eq!(super::weight_at(&t, 0), 8.0);
        t.stability_ramp_steps = 4;
        let w: Vec<f64> = (0..7).map(|k| super::weight_at(&t, k)).collect();
        assert_eq!(w, [0.0, 2.0, 4.0, 6.0, 8.0, 8.0, 8.0]);
    }
}
