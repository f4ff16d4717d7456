//! The style-transfer objective J = α·J_content + β·J_style + γ·J_tv for one generated image, with
//! the content and style targets computed once. The weights may change between steps (live presets).

use super::costs::{content_cost, gram_normalized, style_layer_cost, tv_cost};
use crate::nn::vgg::Vgg19;
use candle_core::{Result, Tensor};

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

impl Objective {
    /// `styles`: each style image (1, 3, H, W) with its blend weight (normalised here to sum to 1).
    pub fn new(
        vgg: Vgg19,
        content: &Tensor,
        styles: &[(Tensor, f64)],
        content_layers: Vec<usize>,
        style_layers: Vec<usize>,
        weights: CostWeights,
    ) -> Result<Self> {
        let content_targets = vgg
            .features(content, &content_layers)?
            .into_iter()
            .map(|t| t.detach())
            .collect();
        let blend_sum: f64 = styles.iter().map(|(_, w)| w).sum();
        let mut style_targets = Vec::new();
        for (img, w) in styles {
            let grams = vgg
                .features(img, &style_layers)?
                .iter()
                .map(|a| gram_normalized(a).map(|g| g.detach()))
                .collect::<Result<Vec<_>>>()?;
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
        })
    }

    pub fn style_layers(&self) -> &[usize] {
        &self.style_layers
    }

    pub fn costs(&self, x: &Tensor) -> Result<Costs> {
        let mut layers = self.content_layers.clone();
        layers.extend_from_slice(&self.style_layers);
        let acts = self.vgg.features(x, &layers)?;
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
