//! The perceptual losses of fast style transfer (Johnson, Alahi & Fei-Fei 2016), exactly as
//! pytorch/examples `fast_neural_style` computes them (`neural_style.py` `train`, `utils.py`):
//! - images in 0–255 go through `normalize_batch` (÷255, ImageNet mean and std) into VGG-16;
//! - Gram(F) = F·Fᵀ / (C·H·W) per sample, F the (C, H·W) unrolling of a layer's activations;
//! - ℓ_content = content_weight · MSE(φ_relu2_2(y), φ_relu2_2(x));
//! - ℓ_style = style_weight · Σ_l MSE(Gram(φ_l(y)), Gram(φ_l(s))), l ∈ relu1_2, relu2_2, relu3_3,
//!   relu4_3, the style's Grams computed once;
//! - MSE is the mean over every element (PyTorch's `MSELoss()`).

use crate::nn::vgg::Vgg;
use candle_core::{Result, Tensor};

/// The reference's style layers (its `Vgg16` slices).
pub const STYLE_LAYERS: [&str; 4] = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"];
/// The reference's content layer.
pub const CONTENT_LAYER: &str = "relu2_2";

/// (B, C, H, W) → (B, C, C): F·Fᵀ / (C·H·W), as the reference's `gram_matrix`.
pub fn gram_matrix(y: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = y.dims4()?;
    let f = y.reshape((b, c, h * w))?;
    f.matmul(&f.transpose(1, 2)?.contiguous()?)? / (c * h * w) as f64
}

/// Mean squared error over every element (`MSELoss()`, reduction "mean"); `b` is broadcast to `a`.
pub fn mse(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.broadcast_sub(b)?.sqr()?.mean_all()
}

/// The three numbers a step logs, already weighted; `total` is what is minimised.
pub struct Losses {
    pub content: Tensor,
    pub style: Tensor,
    pub total: Tensor,
}

#[derive(Debug, thiserror::Error)]
pub enum PerceptualError {
    #[error("the loss network ({arch}) has no layer {layer}")]
    Layer { arch: &'static str, layer: String },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The loss network with the style's Gram matrices, computed once from the style image.
pub struct PerceptualLoss {
    vgg: Vgg,
    /// VGG conv indices: the style layers, then the content layer
    layers: Vec<usize>,
    content_slot: usize,
    /// (1, C, C) per style layer
    gram_style: Vec<Tensor>,
}

impl PerceptualLoss {
    /// `style`: (1, 3, H, W) in 0–255 (the reference resizes it to `style_size` first). The layers
    /// are named as the reference (`relu2_2`); with a VGG-19 they are the same-named convs of it.
    /// Its convolutions round as PyTorch's (`Arith::AsPyTorch`), whatever `vgg.arith` said.
    pub fn new(
        mut vgg: Vgg,
        style: &Tensor,
        style_layers: &[&str],
        content_layer: &str,
    ) -> std::result::Result<Self, PerceptualError> {
        // a loss that trains a network against the reference's: PyTorch's rounding (issue 28)
        vgg.arith = crate::nn::kernels::conv::Arith::AsPyTorch;
        let index = |name: &str| {
            vgg.arch
                .layer_index(name)
                .ok_or_else(|| PerceptualError::Layer {
                    arch: vgg.arch.name(),
                    layer: name.to_string(),
                })
        };
        let mut layers = style_layers
            .iter()
            .map(|l| index(l))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let content_slot = layers.len();
        layers.push(index(content_layer)?);
        let feats = vgg.features(&(style.detach() / 255.0)?, &layers[..content_slot])?;
        let gram_style = feats
            .iter()
            .map(|f| gram_matrix(f).map(|g| g.detach()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            vgg,
            layers,
            content_slot,
            gram_style,
        })
    }

    /// The reference's losses for a batch of photos `x` and the network's outputs `y` (both
    /// (B, 3, H, W) in 0–255): ℓ_content, ℓ_style and their sum, weighted.
    pub fn losses(
        &self,
        x: &Tensor,
        y: &Tensor,
        content_weight: f64,
        style_weight: f64,
    ) -> Result<Losses> {
        let fy = self.vgg.features(&(y / 255.0)?, &self.layers)?;
        let fx = self
            .vgg
            .features(&(x.detach() / 255.0)?, &self.layers[self.content_slot..])?;
        let content = (mse(&fy[self.content_slot], &fx[0].detach())? * content_weight)?;
        let mut style: Option<Tensor> = None;
        for (f, gs) in fy[..self.content_slot].iter().zip(&self.gram_style) {
            let l = mse(&gram_matrix(f)?, gs)?;
            style = Some(match style {
                Some(s) => (s + l)?,
                None => l,
            });
        }
        let style = match style {
            Some(s) => (s * style_weight)?,
            None => content.zeros_like()?,
        };
        let total = (&content + &style)?;
        Ok(Losses {
            content,
            style,
            total,
        })
    }

    pub fn vgg(&self) -> &Vgg {
        &self.vgg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn gram_is_normalised_by_c_h_w_per_sample() {
        let dev = Device::Cpu;
        // sample 0: one channel [1, 2; 3, 4] → Σa² = 30 over 1·2·2; sample 1 doubled → 120 / 4
        let y = Tensor::new(
            &[[[[1f32, 2.0], [3.0, 4.0]]], [[[2f32, 4.0], [6.0, 8.0]]]],
            &dev,
        )
        .unwrap();
        let g = gram_matrix(&y).unwrap().flatten_all().unwrap();
        assert_eq!(g.to_vec1::<f32>().unwrap(), vec![7.5, 30.0]);
    }

    #[test]
    fn a_stylised_photo_that_is_the_style_has_no_style_loss() {
        let dev = Device::Cpu;
        let vgg = Vgg::random_arch(
            crate::nn::vgg::VggArch::Vgg16,
            1,
            &[4; 13],
            crate::nn::pool::Pooling::Max,
            &dev,
        )
        .unwrap();
        let mut rng = crate::rng::SeededRng::new(3);
        let s = rng.uniform((1, 3, 24, 24), 0.0, 255.0, &dev).unwrap();
        let loss = PerceptualLoss::new(vgg, &s, &STYLE_LAYERS, CONTENT_LAYER).unwrap();
        let x = Tensor::cat(&[&s, &s], 0).unwrap();
        let l = loss.losses(&x, &x, 1e5, 1e10).unwrap();
        assert_eq!(l.style.to_scalar::<f32>().unwrap(), 0.0);
        assert_eq!(l.content.to_scalar::<f32>().unwrap(), 0.0);
        let other = (&x * 0.5).unwrap();
        let l = loss.losses(&x, &other, 1e5, 1e10).unwrap();
        assert!(l.style.to_scalar::<f32>().unwrap() > 0.0);
        let t = l.total.to_scalar::<f32>().unwrap();
        let sum = l.style.to_scalar::<f32>().unwrap() + l.content.to_scalar::<f32>().unwrap();
        assert!((t - sum).abs() <= 1e-6 * t.abs());
    }

    /// The parameters whose gradient is zero by construction: a conv's bias before an instance
    /// norm, and the second norm's bias of a residual block (a per-channel constant on the residual
    /// stream, which only feeds convs followed by instance norms). Float noise is all either side has.
    pub(crate) fn zero_by_construction(key: &str) -> bool {
        (key.ends_with("conv2d.bias") && !key.starts_with("deconv3."))
            || (key.starts_with("res") && key.ends_with(".in2.bias"))
    }

    #[test]
    fn one_training_step_losses_and_gradients_match_the_reference() {
        // tools/fixtures_fast_style.py: one step of pytorch/examples' train loop (batch of 2 photos
        // 32×32, style 32×32, content weight 1e5, style weight 1e10, a narrow random VGG-16 in
        // torchvision's layout and a narrow TransformerNet)
        use crate::nn::transformer_net::TransformerNet;
        use crate::nn::vgg::{InputNorm, VggArch};
        let dev = Device::Cpu;
        let fx = crate::nn::weights::load_safetensors(
            crate::test_fixture("fast_style_reference.safetensors"),
            &dev,
        )
        .unwrap();
        let part = |prefix: &str| -> crate::nn::weights::StateDict {
            fx.iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
                .collect()
        };
        let net = TransformerNet::from_state_dict(part("net."), "fixture", &dev).unwrap();
        let vgg = Vgg::from_state_dict_arch(
            &part("vgg."),
            "fixture",
            crate::nn::pool::Pooling::Max,
            InputNorm::ImageNet,
            VggArch::Vgg16,
        )
        .unwrap();
        let loss =
            PerceptualLoss::new(vgg, &fx["train.style"], &STYLE_LAYERS, CONTENT_LAYER).unwrap();
        let x = &fx["train.x"];
        let l = loss.losses(x, &net.forward(x).unwrap(), 1e5, 1e10).unwrap();
        for (ours, theirs) in [
            (&l.content, "train.content"),
            (&l.style, "train.style_loss"),
            (&l.total, "train.total"),
        ] {
            let (a, b) = (
                ours.to_scalar::<f32>().unwrap(),
                fx[theirs].to_scalar::<f32>().unwrap(),
            );
            eprintln!("{theirs}: {a} vs PyTorch {b}");
            assert!((a - b).abs() <= 1e-4 * b.abs(), "{theirs}: {a} vs {b}");
        }
        let grads = l.total.backward().unwrap();
        let sd = net.state_dict();
        let biggest = part("grad.")
            .values()
            .map(crate::max_abs)
            .fold(0f32, f32::max);
        let mut worst = (0f32, String::new());
        for (key, theirs) in part("grad.") {
            let ours = grads
                .get(&sd[&key])
                .unwrap_or_else(|| panic!("{key}: no gradient"));
            if zero_by_construction(&key) {
                for g in [ours, &theirs] {
                    let m = crate::max_abs(g);
                    assert!(m <= 1e-5 * biggest, "{key}: |g| {m} vs {biggest}");
                }
                continue;
            }
            let r = crate::max_abs_diff(ours, &theirs) / crate::max_abs(&theirs);
            if r > worst.0 {
                worst = (r, key);
            }
        }
        eprintln!(
            "gradients: worst relative difference {} ({})",
            worst.0, worst.1
        );
        // PyTorch's own f32 gradients differ from its f64 ones by up to 1.4e-5 (relative to each
        // tensor's largest), so 1e-4 asks for the same sums, not the same rounding
        assert!(
            worst.0 < 1e-4,
            "gradient of {}: relative difference {}",
            worst.1,
            worst.0
        );
    }
}
