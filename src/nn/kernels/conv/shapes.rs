//! The convolutions every network makes, recorded without computing them (tests only): while a
//! recording is on (this thread), `conv2d` and `conv_transpose2d` note their call and return zeros
//! of the CPU side's output shape, so a network's whole forward runs at full size in little time.
//! The cuDNN descriptor test (`cuda.rs`) checks every recorded call; `problem.rs`'s mapping is
//! checked against the CPU side's own shapes here.

use super::problem::Problem;
use candle_core::{Result, Tensor};
use std::cell::RefCell;

/// One call of `conv2d` (`transposed` false) or `conv_transpose2d`, with the output shape the
/// op's CPU side gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvCall {
    pub transposed: bool,
    pub x: Vec<usize>,
    pub w: Vec<usize>,
    pub stride: usize,
    pub pad: usize,
    pub output_padding: usize,
    pub y: Vec<usize>,
}

impl ConvCall {
    /// The convolution cuDNN is asked for (for a transposed one, its adjoint).
    pub fn problem(&self) -> Result<Problem> {
        if self.transposed {
            Problem::transposed(&self.x, &self.w, self.stride, self.pad, self.output_padding)
        } else {
            Problem::conv(&self.x, &self.w, self.stride, self.pad)
        }
    }
}

thread_local! {
    static CALLS: RefCell<Option<Vec<ConvCall>>> = const { RefCell::new(None) };
}

/// While this thread records: notes the call and returns zeros of the CPU side's output shape.
pub(super) fn record(
    transposed: bool,
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    pad: usize,
    output_padding: usize,
) -> Result<Option<Tensor>> {
    if CALLS.with(|c| c.borrow().is_none()) {
        return Ok(None);
    }
    let y = if transposed {
        super::super::gemm_conv::transposed_output_dims(
            x.dims(),
            w.dims(),
            stride,
            pad,
            output_padding,
        )?
    } else {
        super::super::gemm_conv::conv_output_dims(x.dims(), w.dims(), stride, pad)?.to_vec()
    };
    let call = ConvCall {
        transposed,
        x: x.dims().to_vec(),
        w: w.dims().to_vec(),
        stride,
        pad,
        output_padding,
        y: y.clone(),
    };
    CALLS.with(|c| c.borrow_mut().as_mut().map(|v| v.push(call)));
    Ok(Some(Tensor::zeros(y, x.dtype(), x.device())?))
}

/// The convolutions `f` makes on this thread, in order, none of them computed.
pub fn recording(f: impl FnOnce() -> Result<()>) -> Result<Vec<ConvCall>> {
    CALLS.with(|c| *c.borrow_mut() = Some(vec![]));
    let done = f();
    let calls = CALLS.with(|c| c.borrow_mut().take()).unwrap_or_default();
    done.map(|_| calls)
}

/// VGG-19's convolutions at h×w, from its own tables (`vgg::WIDTHS`, `vgg::pools_before`): 3×3,
/// stride 1, padding 1, each 2×2 pool flooring the sides.
pub fn vgg19(h: usize, w: usize) -> Vec<ConvCall> {
    use crate::nn::vgg::{pools_before, WIDTHS};
    (0..WIDTHS.len())
        .map(|i| {
            let c = if i == 0 { 3 } else { WIDTHS[i - 1] };
            let p = pools_before(i);
            let (hi, wi) = (h >> p, w >> p);
            ConvCall {
                transposed: false,
                x: vec![1, c, hi, wi],
                w: vec![WIDTHS[i], c, 3, 3],
                stride: 1,
                pad: 1,
                output_padding: 0,
                y: vec![1, WIDTHS[i], hi, wi],
            }
        })
        .collect()
}

/// Every convolution of every network at the sizes the workloads use, by network and size:
/// the ResNet generators (6 and 9 blocks) at 128 and 256 px, U-Net 256, the PatchGANs (basic,
/// n_layers = 5, pixel) at 256 px with 3 and 6 input channels, TransformerNet at batch 4 256 px
/// and at 1080p, VGG-19 from 256 to 4096 px (and an odd 4096×2731). All but VGG are recorded
/// from the networks' forward; VGG's 4096-px activations would not fit, so it comes from its
/// tables (checked against its recorded forward at 256 px and 100×75 in the tests).
pub fn every_network() -> Result<Vec<(String, Vec<ConvCall>)>> {
    use crate::nn::gan::{DiscArch, DiscConfig, Discriminator, GenConfig, Generator};
    use crate::nn::layers::{Ctx, NormKind};
    use candle_core::{DType, Device};
    let cpu = Device::Cpu;
    let image =
        |n: usize, c: usize, h: usize, w: usize| Tensor::zeros((n, c, h, w), DType::F32, &cpu);
    let mut out = vec![];
    let gen = |arch: &str, norm| GenConfig {
        arch: arch.into(),
        input_nc: 3,
        output_nc: 3,
        ngf: 64,
        norm,
        dropout: false,
    };
    for (arch, norm, sizes) in [
        ("resnet_9blocks", NormKind::Instance, &[128, 256][..]),
        ("resnet_6blocks", NormKind::Instance, &[128, 256][..]),
        ("unet_256", NormKind::Batch, &[256][..]),
    ] {
        let g =
            Generator::seeded(&gen(arch, norm), 1, 0.02, &cpu).map_err(candle_core::Error::wrap)?;
        for &s in sizes {
            let calls = recording(|| g.forward(&image(1, 3, s, s)?, &Ctx::train(1)).map(|_| ()))?;
            out.push((format!("{arch} at {s} px"), calls));
        }
    }
    for (arch, n_layers, input_nc) in [
        (DiscArch::Basic, 3, 3),
        (DiscArch::Basic, 3, 6),
        (DiscArch::NLayers, 5, 3),
        (DiscArch::Pixel, 3, 6),
    ] {
        let c = DiscConfig {
            arch,
            input_nc,
            ndf: 64,
            n_layers,
            norm: NormKind::Instance,
        };
        let d = Discriminator::seeded(&c, 1, 0.02, &cpu).map_err(candle_core::Error::wrap)?;
        let calls = recording(|| {
            d.forward(&image(1, input_nc, 256, 256)?, &Ctx::train(1))
                .map(|_| ())
        })?;
        out.push((
            format!("PatchGAN {arch:?} n_layers {n_layers}, {input_nc} channels, at 256 px"),
            calls,
        ));
    }
    let t = crate::nn::transformer_net::TransformerNet::seeded(1, &cpu)?;
    for (n, h, w) in [(4, 256, 256), (1, 1080, 1920)] {
        let calls = recording(|| t.forward(&image(n, 3, h, w)?).map(|_| ()))?;
        out.push((format!("TransformerNet at batch {n}, {h}×{w}"), calls));
    }
    for (h, w) in [
        (256, 256),
        (512, 512),
        (1024, 1024),
        (2048, 2048),
        (4096, 4096),
        (2731, 4096),
    ] {
        out.push((format!("VGG-19 at {h}×{w}"), vgg19(h, w)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// VGG-19's table is what its forward does.
    #[test]
    fn vgg19_from_its_tables_is_its_forward() {
        use crate::nn::pool::Pooling;
        use crate::nn::vgg::{Vgg, WIDTHS};
        let cpu = candle_core::Device::Cpu;
        let vgg = Vgg::random(1, &WIDTHS, Pooling::Max, &cpu).unwrap();
        for (h, w) in [(256, 256), (100, 75)] {
            let x = Tensor::zeros((1, 3, h, w), candle_core::DType::F32, &cpu).unwrap();
            let calls = recording(|| vgg.features(&x, &[15]).map(|_| ())).unwrap();
            assert_eq!(calls, vgg19(h, w), "{h}×{w}");
        }
    }

    /// Each recorded call's problem gives the CPU side's output (or, transposed, input) shape,
    /// and the recording covers what it says: every network, transposed convolutions among them.
    #[test]
    fn every_problem_gives_the_cpu_sides_shapes() {
        let all = every_network().unwrap();
        assert_eq!(all.len(), 17);
        let mut transposed = 0;
        for (net, calls) in &all {
            assert!(!calls.is_empty(), "{net}");
            for c in calls {
                let p = c.problem().unwrap_or_else(|e| panic!("{net}: {c:?}: {e}"));
                if c.transposed {
                    transposed += 1;
                    assert_eq!(p.y().to_vec(), c.x, "{net}: {c:?}");
                    assert_eq!(p.x.to_vec(), c.y, "{net}: {c:?}");
                } else {
                    assert_eq!(p.y().to_vec(), c.y, "{net}: {c:?}");
                }
            }
        }
        // 2 per ResNet generator, 8 in U-Net 256
        assert_eq!(transposed, 4 * 2 + 8);
    }
}
