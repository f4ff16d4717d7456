//! Colour handling for `original_colors`: keep the content's chrominance and take only the
//! luminance from the stylised image, in YUV, as jcjohnson/neural-style's `-original_colors 1`.

use candle_core::{Result, Tensor};

#[allow(clippy::excessive_precision)] // the matrices of jcjohnson/neural-style, as written there
fn rgb2yuv(x: &Tensor) -> Result<Tensor> {
    let m = Tensor::new(
        &[
            [0.299f32, 0.587, 0.114],
            [-0.14714119, -0.28886916, 0.43601035],
            [0.61497538, -0.51496512, -0.10001026],
        ],
        x.device(),
    )?;
    mix(&m, x)
}

#[allow(clippy::excessive_precision)]
fn yuv2rgb(x: &Tensor) -> Result<Tensor> {
    let m = Tensor::new(
        &[
            [1.0f32, 0.0, 1.13988303],
            [1.0, -0.394642334, -0.58062185],
            [1.0, 2.03206185, 0.0],
        ],
        x.device(),
    )?;
    mix(&m, x)
}

/// Applies a 3×3 colour matrix to an image (1, 3, H, W).
fn mix(m: &Tensor, x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    m.matmul(&x.reshape((c, h * w))?)?.reshape((n, c, h, w))
}

/// The stylised image's luminance with the content's colours; both (1, 3, H, W) in [0, 1].
pub fn original_colors(stylised: &Tensor, content: &Tensor) -> Result<Tensor> {
    let y = rgb2yuv(stylised)?.narrow(1, 0, 1)?;
    let uv = rgb2yuv(content)?.narrow(1, 1, 2)?;
    yuv2rgb(&Tensor::cat(&[y, uv], 1)?)?.clamp(0f32, 1f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn content_colours_with_stylised_luminance() {
        let dev = Device::Cpu;
        let content = Tensor::new(&[0.8f32, 0.2, 0.1], &dev)
            .unwrap()
            .reshape((1, 3, 1, 1))
            .unwrap();
        let grey = Tensor::new(&[0.5f32, 0.5, 0.5], &dev)
            .unwrap()
            .reshape((1, 3, 1, 1))
            .unwrap();
        // same image both ways is the identity
        let same = original_colors(&content, &content).unwrap();
        assert!(crate::max_abs_diff(&same, &content) < 1e-5);
        let out = original_colors(&grey, &content).unwrap();
        let luma = |t: &Tensor| {
            let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2]
        };
        assert!((luma(&out) - 0.5).abs() < 1e-4);
        let v: Vec<f32> = out.flatten_all().unwrap().to_vec1().unwrap();
        assert!(
            v[0] > v[1] && v[1] > v[2],
            "keeps the content's reddish hue: {v:?}"
        );
    }
}
