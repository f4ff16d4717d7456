//! The costs of style transfer, exactly as the seed defines them. For activations a of shape
//! (1, nC, nH, nW):
//! - J_content = 1/(4·nH·nW·nC) · Σ (a(C) − a(G))²
//! - J_style_l = 1/(4·nC²·(nH·nW)²) · Σ (Gram(S) − Gram(G))², Gram = A·Aᵀ, A the (nC, nH·nW) unrolling
//! - J_tv = Σ (x[i, j+1] − x[i, j])² + Σ (x[i+1, j] − x[i, j])²
//!
//! Each Gram is divided by its own nH·nW, so a style image of another size than the generated one
//! compares like for like; with equal sizes this is the seed's formula to the letter.

use candle_core::{Result, Tensor};

pub fn content_cost(a_c: &Tensor, a_g: &Tensor) -> Result<Tensor> {
    let (_, c, h, w) = a_g.dims4()?;
    (a_c - a_g)?.sqr()?.sum_all()? / (4 * c * h * w) as f64
}

/// Gram(a) / (nH·nW), of shape (nC, nC).
pub fn gram_normalized(a: &Tensor) -> Result<Tensor> {
    let (_, c, h, w) = a.dims4()?;
    let m = a.reshape((c, h * w))?;
    m.matmul(&m.t()?)? / (h * w) as f64
}

/// J_style_l given the style's normalised Gram (a constant) and the generated image's activations.
pub fn style_layer_cost(gram_s: &Tensor, a_g: &Tensor) -> Result<Tensor> {
    let c = a_g.dim(1)?;
    (gram_s - gram_normalized(a_g)?)?.sqr()?.sum_all()? / (4 * c * c) as f64
}

/// J_tv of an image (1, 3, H, W).
pub fn tv_cost(x: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let dx = (x.narrow(3, 1, w - 1)? - x.narrow(3, 0, w - 1)?)?
        .sqr()?
        .sum_all()?;
    let dy = (x.narrow(2, 1, h - 1)? - x.narrow(2, 0, h - 1)?)?
        .sqr()?
        .sum_all()?;
    dx + dy
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn costs_of_known_values() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[[[0f32, 1.0], [3.0, 5.0]]]], &dev).unwrap();
        // dx: (1-0)² + (5-3)² = 5; dy: (3-0)² + (5-1)² = 25
        assert_eq!(tv_cost(&x).unwrap().to_scalar::<f32>().unwrap(), 30.0);
        let z = x.zeros_like().unwrap();
        // Σ a² = 35 over 4·1·2·2 = 16
        assert_eq!(
            content_cost(&x, &z).unwrap().to_scalar::<f32>().unwrap(),
            35.0 / 16.0
        );
        // Gram = [35] / 4; vs zero: (35/4)² / 4
        let g = gram_normalized(&z).unwrap();
        let j = style_layer_cost(&g, &x)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((j - (35.0f32 / 4.0).powi(2) / 4.0).abs() < 1e-4);
    }
}
