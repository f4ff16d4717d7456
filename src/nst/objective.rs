//! The style-transfer objective J = α·J_content + β·J_style + γ·J_tv for one generated image, with
//! the content and style targets computed once. The weights may change between steps (live presets).
//! With jcj's `-normalize_gradients` (neural_style.lua's ContentLoss / StyleLoss
//! `updateGradInput`), each loss layer's gradient with respect to its activations is divided by
//! its L1 norm + 1e-8 before its weight is applied; the costs are the same, the image's gradient
//! is then not J's but the sum of those normalised gradients carried back through VGG (+ γ·∇J_tv).

use super::costs::{content_cost, gram_normalized, style_layer_cost, tv_cost};
use super::tiles::{self, Tile};
use crate::nn::vgg::Vgg19;
use candle_core::{DType, Result, Tensor, Var};

/// jcj's guard against a zero norm: `torch.norm(self.gradInput, 1) + 1e-8`.
pub const NORM_EPS: f64 = 1e-8;

/// jcj's normalisation of one layer's gradient: g / (‖g‖₁ + 1e-8), the norm summed in f64.
pub fn normalize_l1(g: &Tensor) -> Result<Tensor> {
    let n = l1(g)?;
    g / (n + NORM_EPS)
}

fn l1(g: &Tensor) -> Result<f64> {
    g.abs()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()
}

/// α, β, γ and the per-layer λ_l; everything a live edit may change.
#[derive(Clone, Debug, PartialEq)]
pub struct CostWeights {
    pub content: f64,
    pub style: f64,
    pub tv: f64,
    /// λ_l for each style layer, in the order of `Objective::style_layers`.
    pub layers: Vec<f64>,
}

pub struct Objective {
    vgg: Vgg19,
    content_layers: Vec<usize>,
    content_targets: Vec<Tensor>,
    style_layers: Vec<usize>,
    /// Per style image: its blend weight and its normalised Gram at each style layer.
    style_targets: Vec<(f64, Vec<Tensor>)>,
    pub weights: CostWeights,
    /// Tile size for exact tiled evaluation (None: the whole image at once)
    tile: Option<usize>,
    /// jcj's `-normalize_gradients` (see the module's note).
    normalize: bool,
}

/// The costs of one image: the unweighted J_content, J_style (λ-weighted over layers, blend-weighted
/// over styles), each layer's J_style_l, J_tv, and the weighted total J.
pub struct Costs {
    pub content: Tensor,
    pub style: Tensor,
    pub style_layers: Vec<Tensor>,
    pub tv: Tensor,
    pub total: Tensor,
}

impl Costs {
    /// The same values without their graph.
    pub fn detach(&self) -> Costs {
        Costs {
            content: self.content.detach(),
            style: self.style.detach(),
            style_layers: self.style_layers.iter().map(|t| t.detach()).collect(),
            tv: self.tv.detach(),
            total: self.total.detach(),
        }
    }
}

impl Objective {
    /// `styles`: each style image (1, 3, H, W) with its blend weight (normalised here to sum to 1).
    /// `tile`: evaluate tile by tile (targets included), exactly; None: the whole image at once.
    pub fn new(
        vgg: Vgg19,
        content: &Tensor,
        styles: &[(Tensor, f64)],
        content_layers: Vec<usize>,
        style_layers: Vec<usize>,
        weights: CostWeights,
        tile: Option<usize>,
    ) -> Result<Self> {
        let deepest = content_layers
            .iter()
            .chain(&style_layers)
            .copied()
            .max()
            .unwrap_or(0);
        let grid = |x: &Tensor| -> Result<Vec<Tile>> {
            let (_, _, h, w) = x.dims4()?;
            Ok(tiles::grid(
                h,
                w,
                tile.unwrap_or(0),
                tiles::halo_for(vgg.arch, deepest),
            ))
        };
        let content_targets = match tile {
            None => vgg.features(content, &content_layers)?,
            Some(_) => tiles::features(&vgg, content, &content_layers, &grid(content)?)?,
        }
        .into_iter()
        .map(|t| t.detach())
        .collect();
        let blend_sum: f64 = styles.iter().map(|(_, w)| w).sum();
        let mut style_targets = Vec::new();
        for (img, w) in styles {
            let grams = match tile {
                None => vgg
                    .features(img, &style_layers)?
                    .iter()
                    .map(|a| gram_normalized(a).map(|g| g.detach()))
                    .collect::<Result<Vec<_>>>()?,
                Some(_) => tiles::grams(&vgg, img, &style_layers, &grid(img)?)?,
            };
            let blend = if blend_sum > 0.0 {
                w / blend_sum
            } else {
                1.0 / styles.len() as f64
            };
            style_targets.push((blend, grams));
        }
        Ok(Self {
            vgg,
            content_layers,
            content_targets,
            style_layers,
            style_targets,
            weights,
            tile,
            normalize: false,
        })
    }

    /// With `on`, `evaluate` follows jcj's `-normalize_gradients` (the module's note).
    pub fn normalizing_gradients(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }

    pub fn normalizes_gradients(&self) -> bool {
        self.normalize
    }

    pub fn style_layers(&self) -> &[usize] {
        &self.style_layers
    }

    pub fn tile(&self) -> Option<usize> {
        self.tile
    }

    /// The network (its weights are shared, not copied), for the next scale.
    pub fn vgg(&self) -> &Vgg19 {
        &self.vgg
    }

    /// The costs of `x` (detached scalars) and their gradient with respect to `x`: tile by tile
    /// when the objective is tiled (exactly the whole image's, see `tiles`), else in one pass.
    pub fn evaluate(&self, x: &Tensor) -> Result<(Costs, Tensor)> {
        let Some(tile) = self.tile else {
            if self.normalize {
                return self.evaluate_normalized(x);
            }
            let v = Var::from_tensor(x)?;
            let c = self.costs(v.as_tensor())?;
            let g = c.total.backward()?;
            let grad = g
                .get(v.as_tensor())
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg("the image has no gradient".into()))?;
            return Ok((c.detach(), grad));
        };
        self.tiled(x, tile, true)
    }

    /// The costs alone (tiled when the objective is).
    pub fn values(&self, x: &Tensor) -> Result<Costs> {
        match self.tile {
            None => Ok(self.costs(x)?.detach()),
            Some(t) => Ok(self.tiled(x, t, false)?.0),
        }
    }

    /// Untiled `evaluate` with normalised gradients: the costs as usual; then each loss layer's
    /// gradient of its own unweighted cost with respect to its activations a_l, normalised
    /// (`normalize_l1`) and weighted (α; β·λ_l), is carried back through VGG as one surrogate
    /// Σ_l ⟨a_l, ĝ_l⟩ (ĝ_l a constant), plus γ·J_tv.
    fn evaluate_normalized(&self, x: &Tensor) -> Result<(Costs, Tensor)> {
        let v = Var::from_tensor(x)?;
        let acts = self.vgg.features(v.as_tensor(), &self.all_layers())?;
        // the costs are only reported: computed off the graph
        let detached: Vec<Tensor> = acts.iter().map(|a| a.detach()).collect();
        let c = self.costs_of(&x.detach(), &detached)?;
        let mut surrogate = (tv_cost(v.as_tensor())? * self.weights.tv)?;
        for (i, a) in acts.iter().enumerate() {
            let g = self.layer_gradient(i, a)?;
            let g = (normalize_l1(&g)? * self.strength(i))?;
            surrogate = (surrogate + (a * g)?.sum_all()?)?;
        }
        let grad = surrogate
            .backward()?
            .get(v.as_tensor())
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("the image has no gradient".into()))?;
        Ok((c.detach(), grad))
    }

    /// The weight jcj calls a loss module's strength: α for a content layer, β·λ_l for style
    /// layer l (`i` counts the content layers first, as `all_layers`).
    fn strength(&self, i: usize) -> f64 {
        let nc = self.content_layers.len();
        if i < nc {
            self.weights.content
        } else {
            self.weights.style * self.weights.layers[i - nc]
        }
    }

    /// dJ_l/da_l of loss layer `i` (content layers first) at activations `a`, unweighted:
    /// J_content's or the blend of the styles' J_style_l.
    pub fn layer_gradient(&self, i: usize, a: &Tensor) -> Result<Tensor> {
        let nc = self.content_layers.len();
        let v = Var::from_tensor(&a.detach())?;
        let j = if i < nc {
            content_cost(&self.content_targets[i], v.as_tensor())?
        } else {
            let mut j = Tensor::zeros((), a.dtype(), a.device())?;
            for (blend, grams) in &self.style_targets {
                j = (j + (style_layer_cost(&grams[i - nc], v.as_tensor())? * *blend)?)?;
            }
            j
        };
        j.backward()?
            .get(v.as_tensor())
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("a loss layer has no gradient".into()))
    }

    fn all_layers(&self) -> Vec<usize> {
        let mut layers = self.content_layers.clone();
        layers.extend_from_slice(&self.style_layers);
        layers
    }

    /// Pass 1: the image's Grams and content sums from every tile's interior; pass 2 (with
    /// `gradient`): each tile's share of the gradient, seeded at its interior positions.
    fn tiled(&self, x: &Tensor, tile: usize, gradient: bool) -> Result<(Costs, Tensor)> {
        let (_, _, h, w) = x.dims4()?;
        let x = x.detach();
        let layers = self.all_layers();
        let nc = self.content_layers.len();
        let deepest = layers.iter().copied().max().unwrap_or(0);
        let arch = self.vgg.arch;
        let grid = tiles::grid(h, w, tile, tiles::halo_for(arch, deepest));
        let positions = |l: usize| {
            let p = arch.pools_before(l);
            ((h >> p) * (w >> p)) as f64
        };
        // pass 1
        let mut sums: Vec<Option<Tensor>> = vec![None; self.style_layers.len()];
        let mut content_sq = vec![0f64; nc];
        for t in &grid {
            let acts = self.vgg.features(&tiles::pixels(&x, t)?, &layers)?;
            for (i, part) in tiles::interiors(arch, t, h, w, &layers, &acts)?
                .into_iter()
                .enumerate()
            {
                let Some(part) = part else { continue };
                if i < nc {
                    let d = (self.target_part(i, &part)? - &part.act)?;
                    content_sq[i] += d
                        .sqr()?
                        .sum_all()?
                        .to_dtype(candle_core::DType::F64)?
                        .to_scalar::<f64>()?;
                } else {
                    let g = tiles::gram_sum(&part.act)?;
                    let k = i - nc;
                    sums[k] = Some(match sums[k].take() {
                        Some(s) => (s + g)?,
                        None => g,
                    });
                }
            }
        }
        let grams: Vec<Tensor> = sums
            .into_iter()
            .zip(&self.style_layers)
            .map(|(s, &l)| s.expect("every layer has an interior") / positions(l))
            .collect::<Result<_>>()?;
        let dev = x.device();
        let scalar = |v: f64| Tensor::new(v as f32, dev);
        let mut content = 0f64;
        for (i, sq) in content_sq.iter().enumerate() {
            let c = self.content_targets[i].dim(1)?;
            content += sq / (4.0 * c as f64 * positions(self.content_layers[i]));
        }
        let mut style_layers = vec![];
        let mut style = 0f64;
        // dJ_l/dG for each style layer, unweighted (the seed in pass 2)
        let mut seeds = vec![];
        for (k, g) in grams.iter().enumerate() {
            let c = g.dim(0)?;
            let mut j = 0f64;
            let mut d = g.zeros_like()?;
            for (blend, targets) in &self.style_targets {
                let diff = (g - &targets[k])?;
                j += blend
                    * diff
                        .sqr()?
                        .sum_all()?
                        .to_dtype(candle_core::DType::F64)?
                        .to_scalar::<f64>()?
                    / (4 * c * c) as f64;
                d = (d + (diff * (2.0 * blend / (4 * c * c) as f64))?)?;
            }
            let lambda = self.weights.layers[k];
            style += lambda * j;
            style_layers.push(scalar(j)?);
            seeds.push(d);
        }
        let tv_var = Var::from_tensor(&x)?;
        let tv_t = tv_cost(tv_var.as_tensor())?;
        let tv = tv_t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        let total =
            self.weights.content * content + self.weights.style * style + self.weights.tv * tv;
        let costs = Costs {
            content: scalar(content)?,
            style: scalar(style)?,
            style_layers,
            tv: scalar(tv)?,
            total: scalar(total)?,
        };
        if !gradient {
            return Ok((costs, x.zeros_like()?));
        }
        // each loss layer's weight in pass 2: its strength, over its gradient's L1 norm (summed
        // over the tiles' interiors, which cover every position once) when normalising
        let mut scales: Vec<f64> = (0..layers.len()).map(|i| self.strength(i)).collect();
        if self.normalize {
            let mut norms = vec![0f64; layers.len()];
            for t in &grid {
                let acts = self.vgg.features(&tiles::pixels(&x, t)?, &layers)?;
                for (i, part) in tiles::interiors(arch, t, h, w, &layers, &acts)?
                    .into_iter()
                    .enumerate()
                {
                    let Some(part) = part else { continue };
                    let v = Var::from_tensor(&part.act)?;
                    let term = self.part_term(i, v.as_tensor(), &part, &seeds, &positions)?;
                    if let Some(g) = term.backward()?.get(v.as_tensor()) {
                        norms[i] += l1(g)?;
                    }
                }
            }
            for (s, n) in scales.iter_mut().zip(norms) {
                *s /= n + NORM_EPS;
            }
        }
        // pass 2
        let mut grad = match self.weights.tv {
            0.0 => x.zeros_like()?,
            g => match (tv_t * g)?.backward()?.get(tv_var.as_tensor()) {
                Some(t) => t.clone(),
                None => x.zeros_like()?,
            },
        };
        for t in &grid {
            let v = tiles::var(&x, t)?;
            let acts = self.vgg.features(v.as_tensor(), &layers)?;
            let mut surrogate = Tensor::zeros((), x.dtype(), dev)?;
            let mut any = false;
            for (i, part) in tiles::interiors(arch, t, h, w, &layers, &acts)?
                .into_iter()
                .enumerate()
            {
                let Some(part) = part else { continue };
                any = true;
                let term = self.part_term(i, &part.act, &part, &seeds, &positions)?;
                surrogate = (surrogate + (term * scales[i])?)?;
            }
            if !any {
                continue;
            }
            let g = surrogate.backward()?;
            if let Some(gt) = g.get(v.as_tensor()) {
                grad = tiles::add_into(&grad, t, gt)?;
            }
        }
        Ok((costs, grad))
    }

    /// Loss layer `i`'s share of its unweighted cost at a tile's interior activations `act` (the
    /// part's, or a variable of them): its gradient with respect to `act` is that of J_l with
    /// respect to those positions. Content: Σ(target − a)²/(4·C·positions); style: ⟨Σ A·Aᵀ,
    /// dJ_l/dG⟩/positions, `seeds` holding dJ_l/dG (fixed after pass 1).
    fn part_term(
        &self,
        i: usize,
        act: &Tensor,
        part: &tiles::Interior,
        seeds: &[Tensor],
        positions: &dyn Fn(usize) -> f64,
    ) -> Result<Tensor> {
        let nc = self.content_layers.len();
        if i < nc {
            let c = self.content_targets[i].dim(1)?;
            let d = (self.target_part(i, part)? - act)?;
            d.sqr()?.sum_all()? / (4.0 * c as f64 * positions(self.content_layers[i]))
        } else {
            let k = i - nc;
            let gs = tiles::gram_sum(act)?;
            (gs * &seeds[k])?.sum_all()? / positions(self.style_layers[k])
        }
    }

    /// The content target at a tile's interior positions.
    fn target_part(&self, i: usize, part: &tiles::Interior) -> Result<Tensor> {
        let (_, _, ch, cw) = part.act.dims4()?;
        self.content_targets[i]
            .narrow(2, part.at.0, ch)?
            .narrow(3, part.at.1, cw)
    }

    pub fn costs(&self, x: &Tensor) -> Result<Costs> {
        let acts = self.vgg.features(x, &self.all_layers())?;
        self.costs_of(x, &acts)
    }

    /// The costs of `x` from its activations at `all_layers`.
    fn costs_of(&self, x: &Tensor, acts: &[Tensor]) -> Result<Costs> {
        let (acts_c, acts_s) = acts.split_at(self.content_layers.len());
        let mut content = Tensor::zeros((), x.dtype(), x.device())?;
        for (a, target) in acts_c.iter().zip(&self.content_targets) {
            content = (content + content_cost(target, a)?)?;
        }
        let mut style_layers = Vec::with_capacity(acts_s.len());
        for (l, a) in acts_s.iter().enumerate() {
            let mut j = Tensor::zeros((), x.dtype(), x.device())?;
            for (blend, grams) in &self.style_targets {
                j = (j + (style_layer_cost(&grams[l], a)? * *blend)?)?;
            }
            style_layers.push(j);
        }
        let mut style = Tensor::zeros((), x.dtype(), x.device())?;
        for (j, &lambda) in style_layers.iter().zip(&self.weights.layers) {
            style = (style + (j * lambda)?)?;
        }
        let tv = tv_cost(x)?;
        let total = ((&content * self.weights.content)? + (&style * self.weights.style)?)?;
        let total = (total + (&tv * self.weights.tv)?)?;
        Ok(Costs {
            content,
            style,
            style_layers,
            tv,
            total,
        })
    }
}

/// The objective of the PyTorch fixture (tools/fixtures.py): α 10, β 40, γ 0.01, content conv3_2,
/// the seed's halving style weights.
#[cfg(test)]
pub(crate) fn fixture_objective(
    fx: &crate::nn::weights::StateDict,
    pooling: crate::nn::pool::Pooling,
    styles: &[(&str, f64)],
) -> Objective {
    use crate::nn::vgg::layer_index;
    let vgg = Vgg19::from_state_dict(fx, "fixture", pooling).unwrap();
    let names = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"];
    let styles: Vec<(Tensor, f64)> = styles.iter().map(|(k, w)| (fx[*k].clone(), *w)).collect();
    Objective::new(
        vgg,
        &fx["in.content"],
        &styles,
        vec![layer_index("conv3_2").unwrap()],
        names.iter().map(|n| layer_index(n).unwrap()).collect(),
        CostWeights {
            content: 10.0,
            style: 40.0,
            tv: 0.01,
            layers: vec![1.0, 0.5, 0.25, 0.125, 0.0625],
        },
        None,
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::pool::Pooling;
    use crate::nn::vgg::layer_index;
    use crate::nn::weights::load_safetensors;
    use candle_core::{Device, Var};

    fn scalar(t: &Tensor) -> f32 {
        t.to_scalar::<f32>().unwrap()
    }

    fn close(a: f32, b: f32, rel: f32) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-6)
    }

    #[test]
    fn costs_and_gradient_match_pytorch() {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let obj = fixture_objective(&fx, Pooling::Max, &[("in.style", 1.0)]);
        let x = Var::from_tensor(&fx["in.generated"]).unwrap();
        let c = obj.costs(x.as_tensor()).unwrap();
        let e = |k: &str| scalar(&fx[k].squeeze(0).unwrap());
        assert!(
            close(scalar(&c.content), e("exp.content"), 1e-4),
            "{} vs {}",
            scalar(&c.content),
            e("exp.content")
        );
        assert!(
            close(scalar(&c.style), e("exp.style"), 1e-4),
            "{} vs {}",
            scalar(&c.style),
            e("exp.style")
        );
        assert!(close(scalar(&c.tv), e("exp.tv"), 1e-5));
        assert!(close(scalar(&c.total), e("exp.total"), 1e-4));
        for (j, name) in c
            .style_layers
            .iter()
            .zip(["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"])
        {
            let want = e(&format!("exp.style.{name}"));
            assert!(
                close(scalar(j), want, 1e-3),
                "{name}: {} vs {want}",
                scalar(j)
            );
        }
        let grads = c.total.backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap();
        let d = crate::max_abs_diff(g, &fx["exp.grad"]);
        let scale = crate::max_abs(&fx["exp.grad"]);
        assert!(d / scale < 1e-4, "gradient: max diff {d}, scale {scale}");
    }

    #[test]
    fn content_cost_at_another_layer_matches_pytorch() {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let vgg = Vgg19::from_state_dict(&fx, "fixture", Pooling::Max).unwrap();
        let l = layer_index("conv4_2").unwrap();
        let a = vgg.features(&fx["in.content"], &[l]).unwrap();
        let b = vgg.features(&fx["in.generated"], &[l]).unwrap();
        let j = scalar(&content_cost(&a[0], &b[0]).unwrap());
        assert!(close(
            j,
            scalar(&fx["exp.content_conv4_2"].squeeze(0).unwrap()),
            1e-4
        ));
    }

    #[test]
    fn average_pooling_matches_pytorch() {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let obj = fixture_objective(&fx, Pooling::Avg, &[("in.style", 1.0)]);
        let x = Var::from_tensor(&fx["in.generated"]).unwrap();
        let c = obj.costs(x.as_tensor()).unwrap();
        assert!(close(
            scalar(&c.total),
            scalar(&fx["exp.avg.total"].squeeze(0).unwrap()),
            1e-4
        ));
        let g = c.total.backward().unwrap();
        let g = g.get(x.as_tensor()).unwrap();
        let d = crate::max_abs_diff(g, &fx["exp.avg.grad"]);
        assert!(
            d / crate::max_abs(&fx["exp.avg.grad"]) < 1e-4,
            "max diff {d}"
        );
    }

    /// A one-channel VGG-19 whose every conv sums its 3×3 window ×0.1, + 0.05 (so a positive image
    /// gives positive activations and every ReLU passes), images 1×3×2×2, content and style both
    /// at conv1_1: small enough to take the gradients by hand.
    fn one_channel(weights: CostWeights) -> (Objective, Tensor) {
        let dev = Device::Cpu;
        let mut sd = crate::nn::weights::StateDict::new();
        let mut cin = 3;
        for &i in crate::nn::vgg::FEATURE_INDEX.iter() {
            sd.insert(
                format!("features.{i}.weight"),
                (Tensor::ones((1, cin, 3, 3), candle_core::DType::F32, &dev).unwrap() * 0.1)
                    .unwrap(),
            );
            sd.insert(
                format!("features.{i}.bias"),
                Tensor::new(&[0.05f32], &dev).unwrap(),
            );
            cin = 1;
        }
        let mut vgg = Vgg19::from_state_dict(&sd, "hand", Pooling::Max).unwrap();
        vgg.arith = crate::nn::kernels::conv::Arith::AsPyTorch;
        let img = |v: [f32; 12]| {
            Tensor::new(&v, &dev)
                .unwrap()
                .reshape((1, 3, 2, 2))
                .unwrap()
        };
        let content = img([0.9, 0.1, 0.4, 0.7, 0.2, 0.3, 0.8, 0.6, 0.5, 0.1, 0.2, 0.9]);
        let style = img([0.1, 0.2, 0.1, 0.3, 0.2, 0.1, 0.1, 0.2, 0.3, 0.1, 0.2, 0.1]);
        let x = img([0.5, 0.6, 0.2, 0.1, 0.9, 0.4, 0.3, 0.2, 0.7, 0.8, 0.5, 0.6]);
        let obj = Objective::new(
            vgg,
            &content,
            &[(style, 1.0)],
            vec![0],
            vec![0],
            weights,
            None,
        )
        .unwrap();
        (obj, x)
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn each_layer_gradient_is_normalised_by_its_l1_norm_as_jcj() {
        let weights = CostWeights {
            content: 3.0,
            style: 5.0,
            tv: 0.0,
            layers: vec![2.0],
        };
        let (obj, x) = one_channel(weights.clone());
        let a = obj.vgg().features(&x, &[0]).unwrap().remove(0);
        let (av, tv) = (values(&a), values(&obj.content_targets[0]));
        assert!(av.iter().chain(&tv).all(|&v| v > 0.0));
        // content: J = Σ(t − a)²/(4·C·H·W) = Σ(t − a)²/16, so dJ/da = (a − t)/8
        let want_c: Vec<f32> = av.iter().zip(&tv).map(|(a, t)| (a - t) / 8.0).collect();
        // style, one channel: G = Σa²/4, J = (G_s − G)²/4, so dJ/da = −(G_s − G)·a/4
        let gs = values(&obj.style_targets[0].1[0])[0];
        let g = av.iter().map(|a| a * a).sum::<f32>() / 4.0;
        let want_s: Vec<f32> = av.iter().map(|a| -(gs - g) * a / 4.0).collect();
        for (i, want) in [(0, &want_c), (1, &want_s)] {
            let got = values(&obj.layer_gradient(i, &a).unwrap());
            for (p, q) in got.iter().zip(want.iter()) {
                assert!(
                    (p - q).abs() <= 1e-6 * q.abs().max(1e-3),
                    "layer {i}: {got:?} vs {want:?}"
                );
            }
            // jcj: gradInput:div(torch.norm(gradInput, 1) + 1e-8)
            let l1: f32 = want.iter().map(|v| v.abs()).sum();
            let n = values(
                &normalize_l1(&Tensor::new(want.as_slice(), &Device::Cpu).unwrap()).unwrap(),
            );
            for (p, q) in n.iter().zip(want.iter()) {
                assert!((p - q / (l1 + 1e-8)).abs() <= 1e-6, "{n:?}");
            }
            assert!((n.iter().map(|v| v.abs()).sum::<f32>() - 1.0).abs() < 1e-5);
        }
        // the image's gradient: each layer's normalised gradient × its strength, carried back
        // through VGG; here, with one layer of each, the plain gradients of the content-only and
        // style-only objectives over their layers' L1 norms (the costs are J's, unchanged)
        let l1 = |w: &[f32]| w.iter().map(|v| v.abs()).sum::<f32>() as f64 + NORM_EPS;
        let only = |content: f64, style: f64| {
            one_channel(CostWeights {
                content,
                style,
                ..weights.clone()
            })
            .0
            .evaluate(&x)
            .unwrap()
            .1
        };
        let want = ((only(3.0, 0.0) / l1(&want_c)).unwrap()
            + (only(0.0, 5.0) / l1(&want_s)).unwrap())
        .unwrap();
        let (plain_costs, plain) = obj.evaluate(&x).unwrap();
        let obj = obj.normalizing_gradients(true);
        let (costs, got) = obj.evaluate(&x).unwrap();
        let d = crate::max_abs_diff(&got, &want);
        assert!(
            d <= 1e-5 * crate::max_abs(&want),
            "{:?} vs {:?}",
            values(&got),
            values(&want)
        );
        assert_eq!(scalar(&costs.total), scalar(&plain_costs.total));
        // and it is not J's gradient
        assert!(crate::max_abs_diff(&got, &plain) > 0.1 * crate::max_abs(&plain));
    }

    #[test]
    fn normalised_gradients_change_the_optimisation() {
        // the fixture's objective (five style layers of very different sizes), 5 steps of
        // gradient descent with each gradient scaled to a max of 0.01: other images
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let run = |normalize: bool| {
            let obj = fixture_objective(&fx, Pooling::Max, &[("in.style", 1.0)])
                .normalizing_gradients(normalize);
            let mut x = fx["in.generated"].clone();
            for _ in 0..5 {
                let (_, g) = obj.evaluate(&x).unwrap();
                let step = (g.clone() * (0.01 / crate::max_abs(&g) as f64)).unwrap();
                x = (x - step).unwrap().clamp(0f32, 1f32).unwrap();
            }
            x
        };
        let (a, b) = (run(false), run(true));
        let d = crate::max_abs_diff(&a, &b);
        assert!(d > 1e-3, "the same image either way: max diff {d}");
    }

    #[test]
    fn blended_styles_match_pytorch() {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        // 3:7 and 0.3:0.7 are the same blend
        let obj = fixture_objective(&fx, Pooling::Max, &[("in.style", 3.0), ("in.style2", 7.0)]);
        let c = obj.costs(&fx["in.generated"]).unwrap();
        let want = scalar(&fx["exp.blend.style"].squeeze(0).unwrap());
        assert!(
            close(scalar(&c.style), want, 1e-4),
            "{} vs {want}",
            scalar(&c.style)
        );
    }
}
