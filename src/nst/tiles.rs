//! Exact tiled evaluation of the style-transfer objective, so that memory is bounded at any size.
//!
//! The style cost depends on the whole image only through each layer's Gram matrix, a sum over
//! feature positions; the content and TV costs are sums of local terms. So:
//! 1. for each tile plus a halo at least the receptive field of the deepest layer used (aligned to
//!    the pooling grid), VGG runs forward and the tile's *interior* feature positions add their
//!    Gram contributions (and content terms) to the image's;
//! 2. for each tile again, the gradient is seeded at the interior positions only — style terms by
//!    the derivative of the cost with respect to the image's Gram (fixed after pass 1), content
//!    terms as they are — and backpropagated to the tile's pixels, which are added into a
//!    full-size gradient. Every feature position is interior to exactly one tile, and an interior
//!    position's activation is computed from the same pixels as in the whole image (zero padding
//!    only where the tile edge is the image edge), so the sum is the whole image's gradient, up
//!    to the order of floating-point sums.

use crate::nn::vgg::{Vgg19, VggArch};
use candle_core::{IndexOp, Result, Tensor, Var};

/// Tile origins and halos are multiples of this: 2⁴ for VGG's four pools before conv5.
pub const ALIGN: usize = 16;

/// One tile: its core (the pixels whose feature positions it owns) and its extent (core + halo,
/// clipped to the image), both as [start, end) rows and columns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tile {
    pub rows: (usize, usize),
    pub cols: (usize, usize),
    pub ext_rows: (usize, usize),
    pub ext_cols: (usize, usize),
}

/// The halo that keeps every layer of `arch` up to `deepest` exact: its receptive radius, rounded
/// up to [`ALIGN`].
pub fn halo_for(arch: VggArch, deepest: usize) -> usize {
    arch.receptive_radius(deepest).div_ceil(ALIGN) * ALIGN
}

/// Tiles of `tile` px (rounded up to [`ALIGN`]) covering an h × w image, row by row.
pub fn grid(h: usize, w: usize, tile: usize, halo: usize) -> Vec<Tile> {
    let t = tile.max(ALIGN).div_ceil(ALIGN) * ALIGN;
    let span = |n: usize, a: usize| {
        let b = (a + t).min(n);
        ((a, b), (a.saturating_sub(halo), (b + halo).min(n)))
    };
    let mut out = vec![];
    for y in (0..h).step_by(t) {
        for x in (0..w).step_by(t) {
            let ((r0, r1), er) = span(h, y);
            let ((c0, c1), ec) = span(w, x);
            out.push(Tile {
                rows: (r0, r1),
                cols: (c0, c1),
                ext_rows: er,
                ext_cols: ec,
            });
        }
    }
    out
}

/// Where a tile's interior positions of a layer with `pools` 2×2 pools before it sit: (offset in
/// the tile's feature map, start in the image's, count), for one axis. Count 0: the tile owns none.
fn interior(
    core: (usize, usize),
    ext: (usize, usize),
    n: usize,
    pools: usize,
) -> (usize, usize, usize) {
    let s = 1 << pools;
    let full = n >> pools;
    let start = core.0 / s;
    let count = if core.1 == n {
        full.saturating_sub(start)
    } else {
        (core.1 - core.0) / s
    };
    ((core.0 - ext.0) / s, start, count)
}

/// The tile's interior activations of `layer`, and where they sit in the image's map.
pub struct Interior {
    pub act: Tensor,
    /// (row, col) of its first position in the image's feature map
    pub at: (usize, usize),
}

/// A tile's interior part of each activation (`layers[i]` ↔ `acts[i]`, layers of `arch`); None
/// where it owns none.
pub fn interiors(
    arch: VggArch,
    tile: &Tile,
    h: usize,
    w: usize,
    layers: &[usize],
    acts: &[Tensor],
) -> Result<Vec<Option<Interior>>> {
    layers
        .iter()
        .zip(acts)
        .map(|(&l, a)| {
            let p = arch.pools_before(l);
            let (oy, sy, cy) = interior(tile.rows, tile.ext_rows, h, p);
            let (ox, sx, cx) = interior(tile.cols, tile.ext_cols, w, p);
            if cy == 0 || cx == 0 {
                return Ok(None);
            }
            Ok(Some(Interior {
                act: a.narrow(2, oy, cy)?.narrow(3, ox, cx)?,
                at: (sy, sx),
            }))
        })
        .collect()
}

/// A tile's pixels, (1, 3, rows, cols).
pub fn pixels(x: &Tensor, t: &Tile) -> Result<Tensor> {
    x.i((
        ..,
        ..,
        t.ext_rows.0..t.ext_rows.1,
        t.ext_cols.0..t.ext_cols.1,
    ))?
    .contiguous()
}

/// Σ A·Aᵀ over positions (not normalised), A the (C, N) unrolling.
pub fn gram_sum(a: &Tensor) -> Result<Tensor> {
    let (_, c, h, w) = a.dims4()?;
    let m = a.reshape((c, h * w))?;
    m.matmul(&m.t()?)
}

/// The activations of `layers` for the whole image, assembled from tiles (a content target).
pub fn features(vgg: &Vgg19, x: &Tensor, layers: &[usize], tiles: &[Tile]) -> Result<Vec<Tensor>> {
    let (_, _, h, w) = x.dims4()?;
    let mut full: Vec<Option<Tensor>> = vec![None; layers.len()];
    for t in tiles {
        let acts = vgg.features(&pixels(x, t)?.detach(), layers)?;
        for (i, part) in interiors(vgg.arch, t, h, w, layers, &acts)?
            .into_iter()
            .enumerate()
        {
            let Some(part) = part else { continue };
            let dst = match full[i].take() {
                Some(d) => d,
                None => {
                    let c = acts[i].dim(1)?;
                    let p = vgg.arch.pools_before(layers[i]);
                    Tensor::zeros((1, c, h >> p, w >> p), x.dtype(), x.device())?
                }
            };
            let (_, _, ch, cw) = part.act.dims4()?;
            let (y, xx) = part.at;
            full[i] = Some(dst.slice_assign(
                &[0..1, 0..dst.dim(1)?, y..y + ch, xx..xx + cw],
                &part.act.detach(),
            )?);
        }
    }
    Ok(full
        .into_iter()
        .map(|t| t.expect("every layer has an interior"))
        .collect())
}

/// The normalised Gram (Σ A·Aᵀ / positions) of each layer for the whole image, from tiles.
pub fn grams(vgg: &Vgg19, x: &Tensor, layers: &[usize], tiles: &[Tile]) -> Result<Vec<Tensor>> {
    let (_, _, h, w) = x.dims4()?;
    let mut sums: Vec<Option<Tensor>> = vec![None; layers.len()];
    for t in tiles {
        let acts = vgg.features(&pixels(x, t)?.detach(), layers)?;
        for (i, part) in interiors(vgg.arch, t, h, w, layers, &acts)?
            .into_iter()
            .enumerate()
        {
            let Some(part) = part else { continue };
            let g = gram_sum(&part.act)?;
            sums[i] = Some(match sums[i].take() {
                Some(s) => (s + g)?,
                None => g,
            });
        }
    }
    layers
        .iter()
        .zip(sums)
        .map(|(&l, s)| {
            let p = vgg.arch.pools_before(l);
            s.expect("every layer has an interior") / ((h >> p) * (w >> p)) as f64
        })
        .collect()
}

/// Adds a tile's gradient into the image's.
pub fn add_into(full: &Tensor, t: &Tile, g: &Tensor) -> Result<Tensor> {
    let r = [
        0..1,
        0..full.dim(1)?,
        t.ext_rows.0..t.ext_rows.1,
        t.ext_cols.0..t.ext_cols.1,
    ];
    let cur = full.i((
        ..,
        ..,
        t.ext_rows.0..t.ext_rows.1,
        t.ext_cols.0..t.ext_cols.1,
    ))?;
    full.slice_assign(&r, &(cur + g)?)
}

/// A tile's pixels as a variable, for pass 2.
pub fn var(x: &Tensor, t: &Tile) -> Result<Var> {
    Var::from_tensor(&pixels(x, t)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_position_belongs_to_one_tile() {
        for (h, w, tile) in [
            (256, 256, 64),
            (257, 203, 64),
            (100, 333, 48),
            (50, 50, 512),
        ] {
            let tiles = grid(h, w, tile, 96);
            for pools in 0..5 {
                let (fh, fw) = (h >> pools, w >> pools);
                let mut owned = vec![0u8; fh * fw];
                for t in &tiles {
                    let (_, sy, cy) = interior(t.rows, t.ext_rows, h, pools);
                    let (_, sx, cx) = interior(t.cols, t.ext_cols, w, pools);
                    for y in sy..sy + cy {
                        for x in sx..sx + cx {
                            owned[y * fw + x] += 1;
                        }
                    }
                }
                assert!(
                    owned.iter().all(|&n| n == 1),
                    "{h}x{w} tile {tile} pools {pools}"
                );
            }
            for t in &tiles {
                assert_eq!(t.ext_rows.0 % ALIGN, 0);
                assert_eq!(t.ext_cols.0 % ALIGN, 0);
            }
        }
    }

    /// Tiled and untiled costs and image gradients of one objective (a narrow random VGG-19:
    /// conv4_2 content, conv1_1 … conv5_1 style, TV), on images of `h` × `w` with `tile`-px tiles.
    fn agree(h: usize, w: usize, tile: usize, pooling: crate::nn::pool::Pooling) {
        agree_with(VggArch::Vgg19, false, h, w, tile, pooling)
    }

    /// As `agree`, with either VGG and with or without jcj's normalised gradients.
    fn agree_with(
        arch: VggArch,
        normalize: bool,
        h: usize,
        w: usize,
        tile: usize,
        pooling: crate::nn::pool::Pooling,
    ) {
        use crate::nst::objective::{CostWeights, Objective};
        use crate::rng::SeededRng;
        use candle_core::Device;
        let dev = Device::Cpu;
        let layer_index = |n: &str| arch.layer_index(n);
        let widths: Vec<usize> = match arch {
            VggArch::Vgg19 => vec![4, 4, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16],
            VggArch::Vgg16 => vec![4, 4, 8, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16],
        };
        let vgg = Vgg19::random_arch(arch, 3, &widths, pooling, &dev).unwrap();
        let mut rng = SeededRng::new(11);
        let content = rng.uniform((1, 3, h, w), 0.0, 1.0, &dev).unwrap();
        let style = rng.uniform((1, 3, 200, 170), 0.0, 1.0, &dev).unwrap();
        let x = rng.uniform((1, 3, h, w), 0.0, 1.0, &dev).unwrap();
        let style_layers: Vec<usize> = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
            .iter()
            .map(|n| layer_index(n).unwrap())
            .collect();
        let make = |tile: Option<usize>| {
            Objective::new(
                vgg.clone(),
                &content,
                &[(style.clone(), 1.0)],
                vec![layer_index("conv4_2").unwrap()],
                style_layers.clone(),
                CostWeights {
                    content: 10.0,
                    style: 40.0,
                    tv: 0.01,
                    layers: vec![1.0, 0.5, 0.25, 0.125, 0.0625],
                },
                tile,
            )
            .unwrap()
            .normalizing_gradients(normalize)
        };
        let (whole, tiled) = (make(None), make(Some(tile)));
        let (cw, gw) = whole.evaluate(&x).unwrap();
        let (ct, gt) = tiled.evaluate(&x).unwrap();
        let v = |t: &Tensor| t.to_scalar::<f32>().unwrap();
        let rel = |a: f32, b: f32| (a - b).abs() / b.abs().max(1e-12);
        for (name, a, b) in [
            ("total", &ct.total, &cw.total),
            ("content", &ct.content, &cw.content),
            ("style", &ct.style, &cw.style),
            ("tv", &ct.tv, &cw.tv),
        ] {
            assert!(
                rel(v(a), v(b)) <= 1e-4,
                "{arch:?} {h}x{w}/{tile} {pooling:?} {name}: {} vs {}",
                v(a),
                v(b)
            );
        }
        let d = crate::max_abs_diff(&gt, &gw);
        let scale = crate::max_abs(&gw);
        assert!(
            d / scale <= 1e-4,
            "{arch:?} {normalize} {h}x{w}/{tile} {pooling:?} gradient: max diff {d}, scale {scale}"
        );
        assert!(tiles_of(h, w, tile) > 1);
    }

    fn tiles_of(h: usize, w: usize, tile: usize) -> usize {
        grid(h, w, tile, 96).len()
    }

    #[test]
    fn tiled_gradients_equal_untiled_with_max_pooling() {
        agree(256, 256, 64, crate::nn::pool::Pooling::Max);
        // odd sizes, a grid that does not divide the image
        agree(251, 203, 64, crate::nn::pool::Pooling::Max);
    }

    #[test]
    fn tiled_gradients_equal_untiled_with_avg_pooling() {
        agree(256, 256, 64, crate::nn::pool::Pooling::Avg);
        agree(179, 250, 80, crate::nn::pool::Pooling::Avg);
    }

    #[test]
    fn tiled_gradients_equal_untiled_with_vgg16() {
        agree_with(
            VggArch::Vgg16,
            false,
            211,
            256,
            64,
            crate::nn::pool::Pooling::Max,
        );
    }

    #[test]
    fn tiled_normalized_gradients_equal_untiled() {
        // jcj's per-layer L1 norms are sums over every position: tiles add theirs up first
        agree_with(
            VggArch::Vgg19,
            true,
            256,
            192,
            64,
            crate::nn::pool::Pooling::Max,
        );
    }

    #[test]
    fn radii() {
        let r = |n: &str| VggArch::Vgg19.receptive_radius(VggArch::Vgg19.layer_index(n).unwrap());
        assert_eq!(r("conv1_1"), 1);
        assert_eq!(r("conv1_2"), 2);
        assert_eq!(r("conv2_1"), 5);
        assert_eq!(r("conv5_1"), 85);
        assert_eq!(halo_for(VggArch::Vgg19, 12), 96);
        // VGG-16's conv4_1 follows three convs of block 3, not four: a smaller radius
        let r16 = |n: &str| VggArch::Vgg16.receptive_radius(VggArch::Vgg16.layer_index(n).unwrap());
        assert_eq!(r16("conv3_1"), r("conv3_1"));
        assert!(r16("conv4_1") < r("conv4_1"));
        assert!(r16("conv5_3") < r("conv5_4"));
    }
}
