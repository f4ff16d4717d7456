//! ONNX export of a network from its program (`nn::tiled::program`: the nodes its forward runs,
//! in order), so every network the tiled engine runs — fast style's TransformerNet, the ResNet and
//! U-Net generators of pix2pix and CycleGAN — exports the same way. Opset 13 (IR version 7), with
//! ops onnxruntime runs:
//!
//! | program node | ONNX |
//! | --- | --- |
//! | conv (reflect r) | `Pad` (mode `reflect`, pads r) when r > 0, then `Conv` (its own zero pads) |
//! | transposed conv | `ConvTranspose` (pads, output_padding) |
//! | nearest ×2 | `Resize` (scales 1,1,2,2; `nearest`, `asymmetric`, `floor`: PyTorch's nearest) |
//! | instance norm (± affine) | `InstanceNormalization` (ε 1e-5; γ = 1, β = 0 without affine) |
//! | batch norm, the reference's test (batch statistics) | `InstanceNormalization` with γ, β: the same at batch 1, so the input's batch is fixed to 1 |
//! | batch norm, `--eval` (running statistics) | `BatchNormalization` (ε 1e-5) |
//! | ReLU, LeakyReLU(0.2), tanh | `Relu`, `LeakyRelu` (α 0.2), `Tanh` |
//! | dropout | nothing (identity, as at eval: an exported graph is deterministic) |
//! | residual sum, skip | `Add`, `Concat` (axis 1) |
//!
//! Weights are initializers named by the network's state-dict keys (the reference's), so the file
//! reads like the checkpoint. The graph is the network alone: pre- and post-processing (0–255 for
//! TransformerNet, [−1, 1] for the generators) are the caller's, as in the reference's exports.

pub mod proto;

use super::tiled::program::{Act, Node, NormRef, Program};
use candle_core::{DType, Tensor, TensorId};
use proto::*;
use std::collections::HashMap;

/// Opset of the default ONNX domain the graph uses.
pub const OPSET: i64 = 13;
/// The IR version that goes with opset 13.
pub const IR_VERSION: i64 = 7;
/// PyTorch's ε of InstanceNorm2d and BatchNorm2d, which aiart's norms use too.
pub const EPS: f32 = 1e-5;

/// How batch-norm layers normalise in the exported graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchStats {
    /// The input's own statistics, as the reference's test without `--eval` (batch fixed to 1).
    Input,
    /// The running statistics, as `--eval`.
    Running,
}

/// What describes the export besides the network.
pub struct Describe {
    /// The graph's name (e.g. `transformer_net`, `resnet_9blocks`)
    pub name: String,
    /// What the input and output are (value ranges, layout), for the file's doc string
    pub doc: String,
    pub batch_stats: BatchStats,
    /// `metadata_props` of the model (aiart's version, the source checkpoint …)
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("{0}: only f32 networks are exported")]
    DType(String),
    #[error("the network's program has no input convolution to take its channels from")]
    NoConv,
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

struct Graph {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    /// initializers already added, by tensor (a weight used twice is stored once)
    added: HashMap<TensorId, String>,
    names: HashMap<TensorId, String>,
    fresh: usize,
}

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i: v,
        ..Default::default()
    }
}

fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::FLOAT,
        f: v,
        ..Default::default()
    }
}

fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::STRING,
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// An f32 tensor as an initializer.
pub fn tensor_proto(name: &str, t: &Tensor) -> Result<TensorProto, OnnxError> {
    if t.dtype() != DType::F32 {
        return Err(OnnxError::DType(name.into()));
    }
    let v = t
        .flatten_all()?
        .to_device(&candle_core::Device::Cpu)?
        .to_vec1::<f32>()?;
    Ok(TensorProto {
        dims: t.dims().iter().map(|&d| d as i64).collect(),
        data_type: data_type::FLOAT,
        name: name.into(),
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    })
}

impl Graph {
    fn fresh(&mut self, what: &str) -> String {
        self.fresh += 1;
        format!("{what}_{}", self.fresh)
    }

    /// The initializer's name for `t` (its state-dict key where known), added once.
    fn weight(&mut self, t: &Tensor, fallback: &str) -> Result<String, OnnxError> {
        if let Some(n) = self.added.get(&t.id()) {
            return Ok(n.clone());
        }
        let name = match self.names.get(&t.id()) {
            Some(n) => n.clone(),
            None => self.fresh(fallback),
        };
        self.inits.push(tensor_proto(&name, t)?);
        self.added.insert(t.id(), name.clone());
        Ok(name)
    }

    fn constant(&mut self, what: &str, t: TensorProto) -> String {
        let name = self.fresh(what);
        self.inits.push(TensorProto {
            name: name.clone(),
            ..t
        });
        name
    }

    fn node(&mut self, op: &str, inputs: Vec<String>, attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            attribute: attrs,
            domain: String::new(),
        });
        out
    }

    fn ints(dims: &[usize], v: &[i64]) -> TensorProto {
        TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: data_type::INT64,
            name: String::new(),
            raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    fn floats(v: &[f32]) -> TensorProto {
        TensorProto {
            dims: vec![v.len() as i64],
            data_type: data_type::FLOAT,
            name: String::new(),
            raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

fn value_info(name: &str, dims: &[Result<i64, &str>]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Ok(v) => DimValue::DimValue(*v),
                                Err(p) => DimValue::DimParam(p.to_string()),
                            }),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

/// Channels of each node's output.
fn channels(program: &Program) -> Result<Vec<usize>, OnnxError> {
    let mut c: Vec<usize> = Vec::with_capacity(program.nodes.len());
    for node in &program.nodes {
        let n = match *node {
            Node::Input => program
                .nodes
                .iter()
                .find_map(|n| match n {
                    Node::Conv { conv, .. } => Some(conv.weight_and_bias().0.dims()[1]),
                    _ => None,
                })
                .ok_or(OnnxError::NoConv)?,
            Node::Conv { conv, .. } => conv.weight_and_bias().0.dims()[0],
            Node::ConvT { conv, .. } => conv.weight_and_bias().0.dims()[1],
            Node::Cat { a, b } => c[a] + c[b],
            Node::Upsample2x { input }
            | Node::Norm { input, .. }
            | Node::Act { input, .. }
            | Node::Dropout { input } => c[input],
            Node::Add { a, .. } => c[a],
        };
        c.push(n);
    }
    Ok(c)
}

/// The program as an ONNX model: input `input` (N, C_in, height, width; N fixed to 1 where
/// batch-norm layers use the input's statistics), output `output` (N, C_out, out_height,
/// out_width). `names`: the state-dict key of each weight tensor (by `Tensor::id`), used as
/// initializer names; others are named by their op.
pub fn export(
    program: &Program,
    names: &HashMap<TensorId, String>,
    describe: &Describe,
) -> Result<ModelProto, OnnxError> {
    let ch = channels(program)?;
    let mut g = Graph {
        nodes: vec![],
        inits: vec![],
        added: HashMap::new(),
        names: names.clone(),
        fresh: 0,
    };
    let mut batch_one = false;
    let mut out: Vec<String> = Vec::with_capacity(program.nodes.len());
    for node in &program.nodes {
        let name = match *node {
            Node::Input => "input".to_string(),
            Node::Conv {
                input,
                conv,
                reflect,
            } => {
                let mut x = out[input].clone();
                if reflect > 0 {
                    let r = reflect as i64;
                    let pads = g.constant("pads", Graph::ints(&[8], &[0, 0, r, r, 0, 0, r, r]));
                    x = g.node("Pad", vec![x, pads], vec![attr_str("mode", "reflect")]);
                }
                let (w, b) = conv.weight_and_bias();
                let (_, k, stride, pad) = conv.geometry();
                let mut inputs = vec![x, g.weight(w, "conv.weight")?];
                if let Some(b) = b {
                    inputs.push(g.weight(b, "conv.bias")?);
                }
                let (k, s, p) = (k as i64, stride as i64, pad as i64);
                g.node(
                    "Conv",
                    inputs,
                    vec![
                        attr_ints("kernel_shape", &[k, k]),
                        attr_ints("strides", &[s, s]),
                        attr_ints("pads", &[p, p, p, p]),
                    ],
                )
            }
            Node::ConvT { input, conv } => {
                let (w, b) = conv.weight_and_bias();
                let (_, k, stride, pad, opad) = conv.geometry();
                let mut inputs = vec![out[input].clone(), g.weight(w, "convt.weight")?];
                if let Some(b) = b {
                    inputs.push(g.weight(b, "convt.bias")?);
                }
                let (k, s, p, o) = (k as i64, stride as i64, pad as i64, opad as i64);
                g.node(
                    "ConvTranspose",
                    inputs,
                    vec![
                        attr_ints("kernel_shape", &[k, k]),
                        attr_ints("strides", &[s, s]),
                        attr_ints("pads", &[p, p, p, p]),
                        attr_ints("output_padding", &[o, o]),
                    ],
                )
            }
            Node::Upsample2x { input } => {
                let scales = g.constant("scales", Graph::floats(&[1.0, 1.0, 2.0, 2.0]));
                g.node(
                    "Resize",
                    vec![out[input].clone(), String::new(), scales],
                    vec![
                        attr_str("mode", "nearest"),
                        attr_str("coordinate_transformation_mode", "asymmetric"),
                        attr_str("nearest_mode", "floor"),
                    ],
                )
            }
            Node::Norm { input, norm } => {
                let c = ch[input];
                let x = out[input].clone();
                let eps = attr_float("epsilon", EPS);
                match norm {
                    NormRef::Instance => {
                        let s = g.constant("ones", Graph::floats(&vec![1.0; c]));
                        let b = g.constant("zeros", Graph::floats(&vec![0.0; c]));
                        g.node("InstanceNormalization", vec![x, s, b], vec![eps])
                    }
                    NormRef::AffineInstance { weight, bias } => {
                        let s = g.weight(weight, "norm.weight")?;
                        let b = g.weight(bias, "norm.bias")?;
                        g.node("InstanceNormalization", vec![x, s, b], vec![eps])
                    }
                    NormRef::Batch(bn) => {
                        let [gamma, beta, mean, var] = bn.parameters();
                        let s = g.weight(&gamma, "bn.weight")?;
                        let b = g.weight(&beta, "bn.bias")?;
                        match describe.batch_stats {
                            BatchStats::Input => {
                                batch_one = true;
                                g.node("InstanceNormalization", vec![x, s, b], vec![eps])
                            }
                            BatchStats::Running => {
                                let m = g.weight(&mean, "bn.running_mean")?;
                                let v = g.weight(&var, "bn.running_var")?;
                                g.node("BatchNormalization", vec![x, s, b, m, v], vec![eps])
                            }
                        }
                    }
                }
            }
            Node::Act { input, act } => {
                let x = vec![out[input].clone()];
                match act {
                    Act::Relu => g.node("Relu", x, vec![]),
                    Act::Leaky => g.node("LeakyRelu", x, vec![attr_float("alpha", 0.2)]),
                    Act::Tanh => g.node("Tanh", x, vec![]),
                }
            }
            Node::Dropout { input } => out[input].clone(),
            Node::Add { a, b } => g.node("Add", vec![out[a].clone(), out[b].clone()], vec![]),
            Node::Cat { a, b } => g.node(
                "Concat",
                vec![out[a].clone(), out[b].clone()],
                vec![attr_int("axis", 1)],
            ),
        };
        out.push(name);
    }
    // name the output `output`: an Identity keeps the last op's own name free
    let last = out[program.output].clone();
    g.nodes.push(NodeProto {
        input: vec![last],
        output: vec!["output".into()],
        name: "output".into(),
        op_type: "Identity".into(),
        ..Default::default()
    });
    let n: Result<i64, &str> = if batch_one { Ok(1) } else { Err("batch") };
    let graph = GraphProto {
        node: g.nodes,
        name: describe.name.clone(),
        initializer: g.inits,
        doc_string: describe.doc.clone(),
        input: vec![value_info(
            "input",
            &[n, Ok(ch[0] as i64), Err("height"), Err("width")],
        )],
        output: vec![value_info(
            "output",
            &[
                n,
                Ok(ch[program.output] as i64),
                Err("out_height"),
                Err("out_width"),
            ],
        )],
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "aiart".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: String::new(),
        model_version: 1,
        doc_string: describe.doc.clone(),
        graph: Some(graph),
        metadata_props: describe
            .metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
    })
}

/// The model's bytes, as an `.onnx` file holds them.
pub fn to_bytes(model: &ModelProto) -> Vec<u8> {
    prost::Message::encode_to_vec(model)
}

/// Each state-dict tensor's key by its id, for `export`'s initializer names.
pub fn names_of(sd: &HashMap<String, Tensor>) -> HashMap<TensorId, String> {
    sd.iter().map(|(k, t)| (t.id(), k.clone())).collect()
}

#[cfg(test)]
mod tests;
