//! pix2pix (Isola et al. 2017) as the reference's Pix2PixModel: G(A) judged by a conditional
//! PatchGAN D(A, ·); each step updates D first, then G against the updated D:
//! L_D = ½(GAN(D(A, G(A)), fake) + GAN(D(A, B), real)); L_G = GAN(D(A, G(A)), real) + λ_L1·|G(A) − B|₁.
//! In G's phase D takes its weights as constants (the reference's `set_requires_grad(netD, False)`),
//! so its backward computes no D weight gradient.

use super::losses::{gan_loss, l1, scalar};
use crate::nn::gan::{Discriminator, Generator};
use crate::nn::layers::Ctx;
use crate::preset::gan::GanMode;
use crate::train::optim::{Adam, AdamConfig};
use anyhow::Result;
use candle_core::Tensor;

pub struct Pix2Pix {
    pub g: Generator,
    pub d: Discriminator,
    /// D with its weights as constants of the graph (`Discriminator::constants`, sharing its
    /// storage and running statistics), for G's phase
    d_fixed: Discriminator,
    pub opt_g: Adam,
    pub opt_d: Adam,
    pub gan_mode: GanMode,
    pub lambda_l1: f64,
    pub ctx: Ctx,
    /// real_A, fake_B, real_B of the last step
    pub visuals: Option<[Tensor; 3]>,
}

impl Pix2Pix {
    pub fn new(
        g: Generator,
        d: Discriminator,
        adam: AdamConfig,
        gan_mode: GanMode,
        lambda_l1: f64,
        seed: u64,
    ) -> Result<Self> {
        let opt_g = Adam::new(g.params.trainable(), adam)?;
        let opt_d = Adam::new(d.params.trainable(), adam)?;
        Ok(Self {
            d_fixed: d.constants()?,
            g,
            d,
            opt_g,
            opt_d,
            gan_mode,
            lambda_l1,
            ctx: Ctx::train(seed),
            visuals: None,
        })
    }

    /// G's phase: GAN(D(A, G(A)), real) through D's constant view, and λ_L1·|G(A) − B|₁.
    fn generator_losses(
        &self,
        a: &Tensor,
        fake_b: &Tensor,
        b: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let pred_fake = self
            .d_fixed
            .forward(&Tensor::cat(&[a, fake_b], 1)?, &self.ctx)?;
        let g_gan = gan_loss(self.gan_mode, &pred_fake, true)?;
        let g_l1 = (l1(fake_b, b)? * self.lambda_l1)?;
        Ok((g_gan, g_l1))
    }

    /// One step on a batch; returns G_GAN, G_L1 (weighted), D_real, D_fake.
    pub fn step(&mut self, a: &Tensor, b: &Tensor) -> Result<Vec<(String, f64)>> {
        let fake_b = self.g.forward(a, &self.ctx)?;
        let pred_fake = self
            .d
            .forward(&Tensor::cat(&[a, &fake_b.detach()], 1)?, &self.ctx)?;
        let d_fake = gan_loss(self.gan_mode, &pred_fake, false)?;
        let pred_real = self.d.forward(&Tensor::cat(&[a, b], 1)?, &self.ctx)?;
        let d_real = gan_loss(self.gan_mode, &pred_real, true)?;
        let loss_d = ((&d_fake + &d_real)? * 0.5)?;
        self.opt_d.step(&loss_d.backward()?)?;

        let (g_gan, g_l1) = self.generator_losses(a, &fake_b, b)?;
        let loss_g = (&g_gan + &g_l1)?;
        self.opt_g.step(&loss_g.backward()?)?;
        self.visuals = Some([a.clone(), fake_b.detach(), b.clone()]);
        Ok(vec![
            ("G_GAN".into(), scalar(&g_gan)?),
            ("G_L1".into(), scalar(&g_l1)?),
            ("D_real".into(), scalar(&d_real)?),
            ("D_fake".into(), scalar(&d_fake)?),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gan::{DiscArch, DiscConfig, GenConfig};
    use crate::nn::layers::NormKind;
    use crate::nn::weights::load_safetensors;
    use candle_core::Device;

    #[test]
    fn two_steps_match_pytorch() {
        two_steps("gan_reference.safetensors", GanMode::Vanilla, true);
    }

    /// `gan_mode = "wgangp"`: tools/fixtures_wgangp.py
    #[test]
    fn two_wgangp_steps_match_pytorch() {
        two_steps("wgangp_reference.safetensors", GanMode::Wgangp, false);
    }

    /// Two steps from the fixture's weights against its losses; `after1`: the fixture also holds
    /// G's first conv and D's running mean after step 1.
    fn two_steps(fixture: &str, mode: GanMode, after1: bool) {
        let dev = Device::Cpu;
        let fx = load_safetensors(crate::test_fixture(fixture), &dev).unwrap();
        let sub = |p: &str| crate::nn::gan::tests::sub(&fx, p);
        let gc = GenConfig {
            arch: "unet_32".into(),
            input_nc: 3,
            output_nc: 3,
            ngf: 2,
            norm: NormKind::Batch,
            dropout: false,
        };
        let dc = DiscConfig {
            arch: DiscArch::Basic,
            input_nc: 6,
            ndf: 2,
            n_layers: 3,
            norm: NormKind::Batch,
        };
        let g = Generator::from_state_dict(&gc, sub("p2p.G"), "fx", &dev).unwrap();
        let d = Discriminator::from_state_dict(&dc, sub("p2p.D"), "fx", &dev).unwrap();
        let adam = AdamConfig {
            lr: 0.0002,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        };
        let mut m = Pix2Pix::new(g, d, adam, mode, 100.0, 0).unwrap();
        let want: Vec<Vec<f32>> = fx["p2p.losses"].to_vec2().unwrap();
        for (step, row) in want.iter().enumerate() {
            let got = m.step(&fx["p2p.A"], &fx["p2p.B"]).unwrap();
            for ((name, g), w) in got.iter().zip(row) {
                assert!(
                    (*g as f32 - w).abs() <= 1e-4 * w.abs().max(1.0),
                    "step {}: {name} = {g}, torch {w}",
                    step + 1
                );
            }
            if step == 0 && after1 {
                let sd = m.g.params.state_dict();
                let d = crate::max_abs_diff(
                    &sd["model.model.0.weight"],
                    &fx["p2p.after1.G.model.model.0.weight"],
                );
                assert!(d < 1e-6, "G's first conv after one step: {d}");
                let rm = &m.d.params.state_dict()["model.3.running_mean"];
                assert!(
                    crate::max_abs_diff(rm, &fx["p2p.after1.D.model.3.running_mean"]) < 1e-5,
                    "D's running mean: 3 forwards per step"
                );
            }
        }
    }

    /// input_nc 1, output_nc 3: G takes the grayscale A, D sees A and B stacked (4 channels);
    /// two steps' losses as the reference's (tools/fixtures_grayscale.py).
    #[test]
    fn two_steps_from_one_channel_to_three_match_pytorch() {
        let dev = Device::Cpu;
        let fx =
            load_safetensors(crate::test_fixture("gray_p2p_reference.safetensors"), &dev).unwrap();
        let sub = |p: &str| crate::nn::gan::tests::sub(&fx, p);
        let gc = GenConfig {
            input_nc: 1,
            output_nc: 3,
            ..crate::nn::gan::tests::gen("unet_32", 2, NormKind::Batch, false)
        };
        let dc = DiscConfig {
            arch: DiscArch::Basic,
            input_nc: 4,
            ndf: 2,
            n_layers: 3,
            norm: NormKind::Batch,
        };
        let g = Generator::from_state_dict(&gc, sub("G"), "fx", &dev).unwrap();
        let d = Discriminator::from_state_dict(&dc, sub("D"), "fx", &dev).unwrap();
        let adam = AdamConfig {
            lr: 0.0002,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        };
        let mut m = Pix2Pix::new(g, d, adam, GanMode::Vanilla, 100.0, 0).unwrap();
        let want: Vec<Vec<f32>> = fx["losses"].to_vec2().unwrap();
        for (step, row) in want.iter().enumerate() {
            let got = m.step(&fx["A"], &fx["B"]).unwrap();
            for ((name, g), w) in got.iter().zip(row) {
                assert!(
                    (*g as f32 - w).abs() <= 1e-4 * w.abs().max(1.0),
                    "step {}: {name} = {g}, torch {w}",
                    step + 1
                );
            }
        }
    }

    #[test]
    fn generator_phase_computes_no_discriminator_weight_gradient() {
        let dev = Device::Cpu;
        let g = Generator::seeded(
            &crate::nn::gan::tests::gen("unet_32", 4, NormKind::Batch, true),
            0,
            0.02,
            &dev,
        )
        .unwrap();
        let dc = DiscConfig {
            arch: DiscArch::Basic,
            input_nc: 6,
            ndf: 4,
            n_layers: 3,
            norm: NormKind::Batch,
        };
        let d = Discriminator::seeded(&dc, 1, 0.02, &dev).unwrap();
        let mut m = Pix2Pix::new(g, d, AdamConfig::default(), GanMode::Vanilla, 100.0, 0).unwrap();
        let mut rng = crate::rng::SeededRng::new(7);
        let a = rng.uniform((1, 3, 32, 32), -1.0, 1.0, &dev).unwrap();
        let b = rng.uniform((1, 3, 32, 32), -1.0, 1.0, &dev).unwrap();
        for round in 0..2 {
            let fake_b = m.g.forward(&a, &m.ctx).unwrap();
            let (g_gan, g_l1) = m.generator_losses(&a, &fake_b, &b).unwrap();
            let grads = (g_gan + g_l1).unwrap().backward().unwrap();
            for (i, v) in m.d.params.trainable().iter().enumerate() {
                assert!(
                    grads.get(v.as_tensor()).is_none(),
                    "round {round}: D's parameter {i} got a gradient in G's phase"
                );
            }
            for v in m.g.params.trainable() {
                assert!(
                    grads.get(v.as_tensor()).is_some(),
                    "a G weight without a gradient"
                );
            }
            m.step(&a, &b).unwrap();
        }
        // the view's weights and running statistics are D's own, moved in place
        let (sd, sf) = (m.d.params.state_dict(), m.d_fixed.params.state_dict());
        for (k, t) in &sd {
            let same = (t.to_dtype(candle_core::DType::F64).unwrap()
                - sf[k].to_dtype(candle_core::DType::F64).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
            assert_eq!(same, 0.0, "{k}");
        }
    }
}
