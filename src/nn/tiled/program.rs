//! A network as the tiled engine sees it: a dataflow program of convolutions, normalisations,
//! activations, dropout, residual sums and skip concatenations, built by each network node for
//! node in the order its own `forward` runs (so dropout masks are drawn in the same order), with
//! that `forward` kept beside it for images that fit untiled.

use crate::nn::layers::{BatchNorm, Conv2d, ConvTranspose2d, Ctx, Norm};
use candle_core::{Result, Tensor};

/// A node of a program: its index in `Program::nodes`.
pub type NodeId = usize;

/// The element-wise activations the networks use, each as their `forward` computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Relu,
    /// LeakyReLU(0.2), the U-Net's way down
    Leaky,
    Tanh,
}

impl Act {
    /// The same op on a band as the network applies to the whole activation.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Act::Relu => x.relu(),
            Act::Leaky => crate::nn::layers::leaky_relu(x),
            Act::Tanh => x.tanh(),
        }
    }
}

/// A normalisation layer whose statistics are the whole activation's, per channel.
#[derive(Clone, Copy)]
pub enum NormRef<'a> {
    /// InstanceNorm2d(affine=False): (x − μ)/σ
    Instance,
    /// InstanceNorm2d(affine=True) (TransformerNet): γ·(x − μ)/σ + β
    AffineInstance {
        weight: &'a Tensor,
        bias: &'a Tensor,
    },
    /// BatchNorm2d at batch 1: the input's own statistics when the context trains (the
    /// reference's test), the running ones under `--eval`
    Batch(&'a BatchNorm),
}

/// One step of a program. Convolutions and residual sums are computed and kept (the engine
/// writes them to scratch maps); the rest are views applied when a band of them is read.
#[derive(Clone, Copy)]
pub enum Node<'a> {
    /// The image, (1, C, H, W)
    Input,
    /// ReflectionPad2d(`reflect`) when `reflect` > 0, then the convolution (with its own zero
    /// padding, which must then be 0)
    Conv {
        input: NodeId,
        conv: &'a Conv2d,
        reflect: usize,
    },
    ConvT {
        input: NodeId,
        conv: &'a ConvTranspose2d,
    },
    /// Nearest-neighbour upsampling ×2
    Upsample2x {
        input: NodeId,
    },
    Norm {
        input: NodeId,
        norm: NormRef<'a>,
    },
    Act {
        input: NodeId,
        act: Act,
    },
    /// Dropout(0.5) when the context turns it on, its mask drawn from the context's generator
    /// for the whole activation, as `layers::dropout` draws it
    Dropout {
        input: NodeId,
    },
    Add {
        a: NodeId,
        b: NodeId,
    },
    /// Channel concatenation [a, b] (the U-Net's skips)
    Cat {
        a: NodeId,
        b: NodeId,
    },
}

/// The untiled forward of the same network, for images within the memory budget.
pub type Whole<'a> = Box<dyn Fn(&Tensor, &Ctx) -> Result<Tensor> + 'a>;

/// A network as a program: nodes in the order its forward computes them, the output node, and
/// the forward itself.
pub struct Program<'a> {
    pub nodes: Vec<Node<'a>>,
    pub output: NodeId,
    pub whole: Whole<'a>,
}

/// Builds a program node by node; node 0 is the input.
pub struct Builder<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Builder<'a> {
    /// A builder and its input node.
    pub fn new() -> (Self, NodeId) {
        (
            Self {
                nodes: vec![Node::Input],
            },
            0,
        )
    }

    fn push(&mut self, n: Node<'a>) -> NodeId {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    /// ReflectionPad2d(`reflect`) (none for 0), then `conv`.
    pub fn conv(&mut self, input: NodeId, conv: &'a Conv2d, reflect: usize) -> NodeId {
        debug_assert!(
            reflect == 0 || conv.geometry().3 == 0,
            "reflection and zero padding"
        );
        self.push(Node::Conv {
            input,
            conv,
            reflect,
        })
    }

    pub fn conv_t(&mut self, input: NodeId, conv: &'a ConvTranspose2d) -> NodeId {
        self.push(Node::ConvT { input, conv })
    }

    pub fn upsample2x(&mut self, input: NodeId) -> NodeId {
        self.push(Node::Upsample2x { input })
    }

    /// The GAN networks' `Norm` (`Norm::None` adds nothing).
    pub fn norm(&mut self, input: NodeId, norm: &'a Norm) -> NodeId {
        match norm {
            Norm::Batch(bn) => self.push(Node::Norm {
                input,
                norm: NormRef::Batch(bn),
            }),
            Norm::Instance => self.push(Node::Norm {
                input,
                norm: NormRef::Instance,
            }),
            Norm::None => input,
        }
    }

    pub fn affine_instance_norm(
        &mut self,
        input: NodeId,
        weight: &'a Tensor,
        bias: &'a Tensor,
    ) -> NodeId {
        self.push(Node::Norm {
            input,
            norm: NormRef::AffineInstance { weight, bias },
        })
    }

    pub fn act(&mut self, input: NodeId, act: Act) -> NodeId {
        self.push(Node::Act { input, act })
    }

    pub fn dropout(&mut self, input: NodeId) -> NodeId {
        self.push(Node::Dropout { input })
    }

    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.push(Node::Add { a, b })
    }

    pub fn cat(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.push(Node::Cat { a, b })
    }

    pub fn finish(self, output: NodeId, whole: Whole<'a>) -> Program<'a> {
        Program {
            nodes: self.nodes,
            output,
            whole,
        }
    }
}
