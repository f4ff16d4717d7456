//! A convolution in cuDNN's terms (`cudnnConvolutionForward` and its two backward calls): the
//! input, the kernel and the output of one cross-correlation with zero padding, no dilation, one
//! group. Every op of `conv` states itself as one: a convolution as it is, a transposed
//! convolution as the convolution it is the adjoint of (PyTorch's `ConvTranspose2d`: its input is
//! that convolution's output, its output that convolution's input, `output_padding` included).
//! Pure arithmetic, no cuDNN: the CUDA side builds its descriptors from it, and the tests check it
//! against the CPU side's shapes and, with the `cudnn` feature, against cuDNN's own
//! `cudnnGetConvolution2dForwardOutputDim`.

use candle_core::Result;

/// One convolution y = conv(x, w): shapes NCHW, kernel (K, C, kh, kw), square stride and padding
/// in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Problem {
    /// The convolution's input (N, C, H, W)
    pub x: [usize; 4],
    /// Its kernel (K, C, kh, kw)
    pub w: [usize; 4],
    pub stride: usize,
    pub pad: usize,
}

/// A shape as four dims, or an error naming the op and what it is.
fn dims4(op: &str, what: &str, d: &[usize]) -> Result<[usize; 4]> {
    d.try_into()
        .map_err(|_| candle_core::Error::Msg(format!("{op}: the {what} {d:?} must be 4-D")))
}

impl Problem {
    /// `F.conv2d(x, w, stride, padding)` with x (N, C, H, W) and w (K, C, kh, kw). Errors: not
    /// 4-D, channels that differ, stride 0, a kernel larger than the padded input.
    pub fn conv(x: &[usize], w: &[usize], stride: usize, pad: usize) -> Result<Self> {
        let (x, w) = (dims4("conv2d", "input", x)?, dims4("conv2d", "kernel", w)?);
        if x[1] != w[1] {
            candle_core::bail!("conv2d: input has {} channels, the kernel {}", x[1], w[1])
        }
        if stride == 0 || x[2] + 2 * pad < w[2] || x[3] + 2 * pad < w[3] {
            candle_core::bail!(
                "conv2d: a {}×{} kernel at stride {stride} does not fit a {}×{} input padded by {pad}",
                w[2],
                w[3],
                x[2],
                x[3]
            )
        }
        Ok(Self { x, w, stride, pad })
    }

    /// `F.conv_transpose2d(x, w, stride, padding, output_padding)` with x (N, Cin, H, W) and w
    /// (Cin, Cout, kh, kw), as the convolution it is the adjoint of: that convolution's input is
    /// (N, Cout, Ho, Wo), Ho = (H − 1)·stride − 2·padding + kh + output_padding, its kernel w as it
    /// is (K = Cin), and its output x's shape. Errors: not 4-D, channels that differ, a padding
    /// that leaves no output, an output_padding not below the stride (PyTorch's rule).
    pub fn transposed(
        x: &[usize],
        w: &[usize],
        stride: usize,
        pad: usize,
        output_padding: usize,
    ) -> Result<Self> {
        let op = "conv_transpose2d";
        let (x, w) = (dims4(op, "input", x)?, dims4(op, "kernel", w)?);
        if x[1] != w[0] {
            candle_core::bail!("{op}: input has {} channels, the kernel {}", x[1], w[0])
        }
        if stride == 0 || output_padding >= stride {
            candle_core::bail!(
                "{op}: output_padding {output_padding} must be smaller than the stride {stride}"
            )
        }
        let size = |i: usize, k: usize| {
            (i.saturating_sub(1) * stride + k + output_padding)
                .checked_sub(2 * pad)
                .filter(|&s| s > 0)
        };
        let (Some(ho), Some(wo)) = (size(x[2], w[2]), size(x[3], w[3])) else {
            candle_core::bail!("{op}: padding {pad} leaves no output of a {:?} input", x)
        };
        let p = Self::conv(&[x[0], w[1], ho, wo], &w, stride, pad)?;
        if p.y() != x {
            candle_core::bail!(
                "{op}: {x:?} is not the output of the convolution of a {ho}×{wo} input"
            )
        }
        Ok(p)
    }

    /// The convolution's output (N, K, Ho, Wo), Ho = ⌊(H + 2·pad − kh) / stride⌋ + 1.
    pub fn y(&self) -> [usize; 4] {
        let [n, _, h, w] = self.x;
        let [k, _, kh, kw] = self.w;
        let out = |i: usize, k: usize| (i + 2 * self.pad - k) / self.stride + 1;
        [n, k, out(h, kh), out(w, kw)]
    }

    /// The shapes as cuDNN takes them (`c_int`), or an error when one passes `i32::MAX`.
    pub fn c_dims(&self) -> Result<([i32; 4], [i32; 4], [i32; 4])> {
        let c = |d: [usize; 4]| -> Result<[i32; 4]> {
            let mut out = [0i32; 4];
            for (o, v) in out.iter_mut().zip(d) {
                *o = i32::try_from(v).map_err(|_| {
                    candle_core::Error::Msg(format!(
                        "cuDNN convolution: size {v} of {d:?} passes i32"
                    ))
                })?;
            }
            Ok(out)
        };
        Ok((c(self.x)?, c(self.w)?, c(self.y())?))
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "x {:?} * w {:?} (stride {}, padding {}) -> y {:?}",
            self.x,
            self.w,
            self.stride,
            self.pad,
            self.y()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_convolution_and_its_adjoint() {
        // the ResNet generator's downsampler and upsampler at 256 px
        let down = Problem::conv(&[1, 64, 256, 256], &[128, 64, 3, 3], 2, 1).unwrap();
        assert_eq!(down.y(), [1, 128, 128, 128]);
        let up = Problem::transposed(&[1, 128, 128, 128], &[128, 64, 3, 3], 2, 1, 1).unwrap();
        assert_eq!(up.x, [1, 64, 256, 256]);
        assert_eq!(up.y(), [1, 128, 128, 128]);
        // U-Net's 4×4 stride-2 upsampler, no output padding
        let u = Problem::transposed(&[1, 512, 1, 1], &[512, 512, 4, 4], 2, 1, 0).unwrap();
        assert_eq!(u.x, [1, 512, 2, 2]);
        assert!(Problem::conv(&[1, 3, 2, 2], &[8, 3, 7, 7], 1, 0).is_err());
        assert!(Problem::conv(&[1, 3, 9, 9], &[8, 4, 3, 3], 1, 1).is_err());
        assert!(Problem::transposed(&[1, 8, 4, 4], &[8, 3, 3, 3], 2, 1, 2).is_err());
        let e = Problem::conv(&[1, 3, 9], &[8, 3, 3, 3], 1, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("input [1, 3, 9] must be 4-D"), "{e}");
    }
}
