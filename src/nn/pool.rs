//! 2×2 pooling with PyTorch's gradients.
//!
//! candle 0.11.1's `max_pool2d` backward multiplies the gradient by (number of maxima)/(k·k)
//! instead of routing it to the maximum, which is 0.25× PyTorch's for a 2×2 pool. Written as a
//! reshape and two reductions, the pools below differentiate exactly as `nn.MaxPool2d(2, 2)` and
//! `nn.AvgPool2d(2, 2)`: odd trailing rows and columns are dropped (floor), as PyTorch does.

use candle_core::{Result, Tensor};

/// Which pooling VGG uses between its blocks (Gatys et al. suggest average pooling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    Max,
    Avg,
}

fn windows(xs: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = xs.dims4()?;
    let (h2, w2) = (h / 2, w / 2);
    let xs = if h % 2 == 1 {
        xs.narrow(2, 0, h2 * 2)?
    } else {
        xs.clone()
    };
    let xs = if w % 2 == 1 {
        xs.narrow(3, 0, w2 * 2)?
    } else {
        xs
    };
    xs.reshape((n, c, h2, 2, w2, 2))
}

/// `nn.MaxPool2d(2, 2)`: the gradient goes to the maximum of each window. Our op
/// (`kernels::pool`) where its side takes `xs`, else candle's ops (`max_pool_2x2_composed`).
pub fn max_pool_2x2(xs: &Tensor) -> Result<Tensor> {
    match super::kernels::pool::max_pool_2x2(xs)? {
        Some(y) => Ok(y),
        None => max_pool_2x2_composed(xs),
    }
}

/// The same from candle's ops (any device): a reshape and two `max` reductions.
pub fn max_pool_2x2_composed(xs: &Tensor) -> Result<Tensor> {
    windows(xs)?.max(5)?.max(3)
}

/// `nn.AvgPool2d(2, 2)`.
pub fn avg_pool_2x2(xs: &Tensor) -> Result<Tensor> {
    windows(xs)?.mean(5)?.mean(3)
}

pub fn pool_2x2(xs: &Tensor, pooling: Pooling) -> Result<Tensor> {
    match pooling {
        Pooling::Max => max_pool_2x2(xs),
        Pooling::Avg => avg_pool_2x2(xs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::weights::load_safetensors;
    use candle_core::{Device, Var};

    #[test]
    fn max_pool_gradient_matches_pytorch() {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let x = Var::from_tensor(&fx["pool.x"]).unwrap();
        let y = max_pool_2x2(x.as_tensor()).unwrap();
        assert_eq!(y.dims(), fx["pool.up"].dims());
        let loss = (y * &fx["pool.up"]).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap();
        let diff = crate::max_abs_diff(g, &fx["pool.grad"]);
        assert!(diff < 1e-6, "max |grad - torch| = {diff}");
        // the trap this module exists for: candle's own pool gives a quarter of the gradient
        let y = x.as_tensor().max_pool2d(2).unwrap();
        let loss = (y * fx["pool.up"].narrow(2, 0, 3).unwrap())
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap();
        assert!(crate::max_abs_diff(g, &fx["pool.grad"]) > 0.1);
    }

    /// The pool op against the composed one: values and gradients bit for bit, odd sizes (dropped
    /// rows and columns), planes of one window, and a VGG-sized map.
    #[test]
    fn the_op_matches_the_composed_pool_exactly() {
        for (i, dims) in [
            [1, 1, 2, 2],
            [2, 3, 7, 5],
            [1, 4, 9, 8],
            [3, 2, 3, 6],
            [1, 64, 64, 64],
        ]
        .into_iter()
        .enumerate()
        {
            let mut rng = crate::rng::SeededRng::new(40 + i as u64);
            let x = Var::from_tensor(&rng.normal(&dims, 0.0, 1.0, &Device::Cpu).unwrap()).unwrap();
            let ours = crate::nn::kernels::pool::max_pool_2x2(x.as_tensor())
                .unwrap()
                .expect("the CPU side takes f32");
            let composed = max_pool_2x2_composed(x.as_tensor()).unwrap();
            assert_eq!(ours.dims(), composed.dims(), "{dims:?}");
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(flat(&ours), flat(&composed), "{dims:?}: values");
            let r = rng.normal(ours.dims(), 0.0, 1.0, &Device::Cpu).unwrap();
            let g1 = (&ours * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = (&composed * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            assert_eq!(
                flat(g1.get(x.as_tensor()).unwrap()),
                flat(g2.get(x.as_tensor()).unwrap()),
                "{dims:?}: gradients"
            );
        }
    }

    #[test]
    fn a_tie_sends_the_gradient_to_the_first_maximum_as_pytorch() {
        let x = Var::new(&[[[[1f32, 3.0], [3.0, 0.0]]]], &Device::Cpu).unwrap();
        let y = max_pool_2x2(x.as_tensor()).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        let dx = g.get(x.as_tensor()).unwrap().flatten_all().unwrap();
        assert_eq!(dx.to_vec1::<f32>().unwrap(), [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn avg_pool_matches_mean_of_windows() {
        let x = Tensor::arange(0f32, 2.0 * 5.0 * 5.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 2, 5, 5))
            .unwrap();
        let y = avg_pool_2x2(&x).unwrap();
        assert_eq!(y.dims(), &[1, 2, 2, 2]);
        let v: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(v[0], (0.0 + 1.0 + 5.0 + 6.0) / 4.0);
        assert_eq!(v[3], (12.0 + 13.0 + 17.0 + 18.0) / 4.0);
    }
}
