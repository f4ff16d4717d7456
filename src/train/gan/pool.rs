//! The reference's ImagePool (Shrivastava et al. 2017): the discriminator sees fakes from a buffer
//! of `size` earlier ones. Until it is full every fake is stored and returned; then, half the time,
//! a random stored fake is returned and replaced by the new one.

use crate::rng::SeededRng;
use candle_core::{Result, Tensor};

pub struct ImagePool {
    size: usize,
    images: Vec<Tensor>,
}

impl ImagePool {
    pub fn new(size: usize) -> Self {
        Self {
            size,
            images: vec![],
        }
    }

    /// `images` (N, C, H, W), detached; returns a batch of the same shape.
    pub fn query(&mut self, images: &Tensor, rng: &mut SeededRng) -> Result<Tensor> {
        let images = images.detach();
        if self.size == 0 {
            return Ok(images);
        }
        let mut out = vec![];
        for i in 0..images.dim(0)? {
            let img = images.narrow(0, i, 1)?;
            if self.images.len() < self.size {
                self.images.push(img.clone());
                out.push(img);
            } else if rng.unit() > 0.5 {
                let j = rng.below(self.size);
                out.push(std::mem::replace(&mut self.images[j], img));
            } else {
                out.push(img);
            }
        }
        Tensor::cat(&out, 0)
    }

    pub fn images(&self) -> &[Tensor] {
        &self.images
    }

    pub fn restore(&mut self, images: Vec<Tensor>) {
        self.images = images;
        self.images.truncate(self.size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn fills_then_swaps_half_the_time() {
        let mut pool = ImagePool::new(2);
        let mut rng = SeededRng::new(0);
        let img = |v: f32| Tensor::full(v, (1, 1, 1, 1), &Device::Cpu).unwrap();
        let val = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
        assert_eq!(val(&pool.query(&img(1.0), &mut rng).unwrap()), 1.0);
        assert_eq!(val(&pool.query(&img(2.0), &mut rng).unwrap()), 2.0);
        let mut old = 0;
        for k in 0..200 {
            let v = val(&pool.query(&img(10.0 + k as f32), &mut rng).unwrap());
            if v != 10.0 + k as f32 {
                old += 1;
            }
        }
        assert!(
            (60..140).contains(&old),
            "about half are stored ones: {old}"
        );
        assert_eq!(pool.images().len(), 2);
    }
}
