//! The seeded random generator of networks (initial weights, dropout masks) and data (jitter,
//! epoch order, the image pool). candle cannot seed its CPU generator, so values are drawn here
//! from a seeded `StdRng` and copied to the device: the same seed gives the same numbers anywhere.

use candle_core::{Device, Result, Shape, Tensor};
use rand::{rngs::StdRng, Rng, SeedableRng};

pub struct SeededRng {
    rng: StdRng,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Standard normal samples (Box–Muller).
    pub fn normal_vec(&mut self, n: usize, mean: f32, std: f32) -> Vec<f32> {
        let mut out = Vec::with_capacity(n + 1);
        while out.len() < n {
            let u1: f32 = self.rng.random::<f32>().max(f32::MIN_POSITIVE);
            let u2: f32 = self.rng.random::<f32>();
            let r = (-2.0 * u1.ln()).sqrt();
            let th = std::f32::consts::TAU * u2;
            out.push(mean + std * r * th.cos());
            out.push(mean + std * r * th.sin());
        }
        out.truncate(n);
        out
    }

    pub fn normal<S: Into<Shape>>(
        &mut self,
        shape: S,
        mean: f32,
        std: f32,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let v = self.normal_vec(shape.elem_count(), mean, std);
        Tensor::from_vec(v, shape, device)
    }

    pub fn uniform<S: Into<Shape>>(
        &mut self,
        shape: S,
        lo: f32,
        hi: f32,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let v: Vec<f32> = (0..shape.elem_count())
            .map(|_| self.rng.random_range(lo..hi))
            .collect();
        Tensor::from_vec(v, shape, device)
    }

    pub fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }
}
