//! The reference's GANLoss and L1: LSGAN is the mean squared error to 1 (real) or 0 (fake);
//! vanilla is BCEWithLogits; wgangp is the Wasserstein critic loss (−mean real, mean fake, no
//! gradient penalty, as the reference's models use it); L1 is the mean absolute error.

use crate::preset::gan::GanMode;
use candle_core::{Result, Tensor};

pub fn gan_loss(mode: GanMode, pred: &Tensor, real: bool) -> Result<Tensor> {
    let t = if real { 1.0 } else { 0.0 };
    match mode {
        GanMode::Lsgan => (pred - t)?.sqr()?.mean_all(),
        // max(x, 0) − x·t + log(1 + exp(−|x|)), the stable form PyTorch uses
        GanMode::Vanilla => {
            let relu = pred.relu()?;
            let softplus = (pred.abs()?.neg()?.exp()? + 1.0)?.log()?;
            ((relu - (pred * t)?)? + softplus)?.mean_all()
        }
        // networks.GANLoss('wgangp'): −mean for a real target, mean for a fake one
        GanMode::Wgangp if real => pred.mean_all()?.neg(),
        GanMode::Wgangp => pred.mean_all(),
    }
}

pub fn l1(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    (a - b)?.abs()?.mean_all()
}

pub fn scalar(t: &Tensor) -> Result<f64> {
    t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn known_values() {
        let p = Tensor::new(&[0.0f32, 2.0], &Device::Cpu).unwrap();
        assert!((scalar(&gan_loss(GanMode::Lsgan, &p, true).unwrap()).unwrap() - 1.0).abs() < 1e-6);
        assert!(
            (scalar(&gan_loss(GanMode::Lsgan, &p, false).unwrap()).unwrap() - 2.0).abs() < 1e-6
        );
        // BCE with logits: x = 0 → ln 2; x = 2, t = 1 → ln(1 + e^-2)
        let want = ((2f64).ln() + (1.0 + (-2f64).exp()).ln()) / 2.0;
        assert!(
            (scalar(&gan_loss(GanMode::Vanilla, &p, true).unwrap()).unwrap() - want).abs() < 1e-6
        );
        assert_eq!(
            scalar(&gan_loss(GanMode::Wgangp, &p, true).unwrap()).unwrap(),
            -1.0
        );
        assert_eq!(
            scalar(&gan_loss(GanMode::Wgangp, &p, false).unwrap()).unwrap(),
            1.0
        );
    }
}
