//! The exported graphs read back (prost decodes the bytes): their nodes, initializers and shapes;
//! and run by a small interpreter of the ONNX ops used (candle's own ops, per the ONNX spec), whose
//! output must equal the network's forward. onnxruntime's check is `tools/onnx_export_check.py`.

use super::proto::*;
use super::*;
use crate::nn::gan::{GenConfig, Generator};
use crate::nn::layers::{Ctx, NormKind};
use crate::nn::transformer_net::{TransformerNet, TransformerNetConfig};
use candle_core::{Device, Tensor};
use prost::Message;

fn describe(batch_stats: BatchStats) -> Describe {
    Describe {
        name: "net".into(),
        doc: "test".into(),
        batch_stats,
        metadata: vec![("source".into(), "seeded".into())],
    }
}

fn roundtrip(m: &ModelProto) -> ModelProto {
    ModelProto::decode(to_bytes(m).as_slice()).unwrap()
}

fn ops(m: &ModelProto) -> Vec<String> {
    m.graph
        .as_ref()
        .unwrap()
        .node
        .iter()
        .map(|n| n.op_type.clone())
        .collect()
}

fn count(m: &ModelProto, op: &str) -> usize {
    ops(m).iter().filter(|o| *o == op).count()
}

fn dims(v: &ValueInfoProto) -> Vec<String> {
    let t = v.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    assert_eq!(t.elem_type, data_type::FLOAT);
    t.shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match d.value.as_ref().unwrap() {
            DimValue::DimValue(v) => v.to_string(),
            DimValue::DimParam(p) => p.clone(),
        })
        .collect()
}

fn f32s(t: &TensorProto) -> Vec<f32> {
    t.raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Every state-dict tensor is an initializer of the same name, shape and values.
fn initializers_are_the_weights(m: &ModelProto, sd: &HashMap<String, Tensor>, skip: &[&str]) {
    let g = m.graph.as_ref().unwrap();
    let by_name: HashMap<&str, &TensorProto> =
        g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    for (key, t) in sd {
        if skip.iter().any(|s| key.ends_with(s)) {
            continue;
        }
        let init = by_name
            .get(key.as_str())
            .unwrap_or_else(|| panic!("{key}: no initializer"));
        let d: Vec<i64> = t.dims().iter().map(|&d| d as i64).collect();
        assert_eq!(init.dims, d, "{key}");
        assert_eq!(
            f32s(init),
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            "{key}"
        );
    }
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

/// Runs the graph on `x` with candle's ops, each as the ONNX spec defines it (opset 13).
fn interpret(m: &ModelProto, x: &Tensor) -> Tensor {
    let g = m.graph.as_ref().unwrap();
    let dev = x.device();
    let mut env: HashMap<String, Tensor> = HashMap::new();
    for t in &g.initializer {
        let shape: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        let v = match t.data_type {
            data_type::FLOAT => Tensor::from_vec(f32s(t), shape, dev).unwrap(),
            data_type::INT64 => {
                let v: Vec<i64> = t
                    .raw_data
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                Tensor::from_vec(v, shape, dev).unwrap()
            }
            other => panic!("data type {other}"),
        };
        env.insert(t.name.clone(), v);
    }
    env.insert(g.input[0].name.clone(), x.clone());
    let per_channel = |t: &Tensor| t.reshape((1, t.dim(0).unwrap(), 1, 1)).unwrap();
    for n in &g.node {
        let i = |k: usize| env[&n.input[k]].clone();
        let ints = |name: &str| attr(n, name).unwrap().ints.clone();
        let y = match n.op_type.as_str() {
            "Pad" => {
                assert_eq!(attr(n, "mode").unwrap().s, b"reflect");
                let p = i(1).to_vec1::<i64>().unwrap();
                assert!(p[..2] == [0, 0] && p[4..6] == [0, 0] && [p[3], p[6], p[7]] == [p[2]; 3]);
                crate::nn::kernels::pad::reflect_pad_composed(&i(0), p[2] as usize).unwrap()
            }
            "Conv" => {
                let (p, s) = (ints("pads"), ints("strides"));
                assert!(p.iter().all(|&v| v == p[0]) && s[0] == s[1]);
                let y = i(0)
                    .conv2d(&i(1), p[0] as usize, s[0] as usize, 1, 1)
                    .unwrap();
                match n.input.get(2) {
                    Some(b) => y.broadcast_add(&per_channel(&env[b])).unwrap(),
                    None => y,
                }
            }
            "ConvTranspose" => {
                let (p, s, o) = (ints("pads"), ints("strides"), ints("output_padding"));
                let y = i(0)
                    .conv_transpose2d(&i(1), p[0] as usize, o[0] as usize, s[0] as usize, 1)
                    .unwrap();
                match n.input.get(2) {
                    Some(b) => y.broadcast_add(&per_channel(&env[b])).unwrap(),
                    None => y,
                }
            }
            "Resize" => {
                assert_eq!(i(2).to_vec1::<f32>().unwrap(), [1.0, 1.0, 2.0, 2.0]);
                assert_eq!(attr(n, "mode").unwrap().s, b"nearest");
                let (_, _, h, w) = i(0).dims4().unwrap();
                i(0).upsample_nearest2d(2 * h, 2 * w).unwrap()
            }
            "InstanceNormalization" => {
                let x = i(0);
                let eps = attr(n, "epsilon").unwrap().f as f64;
                let mean = x.mean_keepdim(2).unwrap().mean_keepdim(3).unwrap();
                let d = x.broadcast_sub(&mean).unwrap();
                let var = d
                    .sqr()
                    .unwrap()
                    .mean_keepdim(2)
                    .unwrap()
                    .mean_keepdim(3)
                    .unwrap();
                d.broadcast_div(&(var + eps).unwrap().sqrt().unwrap())
                    .unwrap()
                    .broadcast_mul(&per_channel(&i(1)))
                    .unwrap()
                    .broadcast_add(&per_channel(&i(2)))
                    .unwrap()
            }
            "BatchNormalization" => {
                let eps = attr(n, "epsilon").unwrap().f as f64;
                let sd = (per_channel(&i(4)) + eps).unwrap().sqrt().unwrap();
                i(0).broadcast_sub(&per_channel(&i(3)))
                    .unwrap()
                    .broadcast_div(&sd)
                    .unwrap()
                    .broadcast_mul(&per_channel(&i(1)))
                    .unwrap()
                    .broadcast_add(&per_channel(&i(2)))
                    .unwrap()
            }
            "Relu" => i(0).relu().unwrap(),
            "LeakyRelu" => {
                let a = attr(n, "alpha").unwrap().f as f64;
                let x = i(0);
                (x.relu().unwrap() - (x.neg().unwrap().relu().unwrap() * a).unwrap()).unwrap()
            }
            "Tanh" => i(0).tanh().unwrap(),
            "Add" => (i(0) + i(1)).unwrap(),
            "Concat" => {
                assert_eq!(attr(n, "axis").unwrap().i, 1);
                Tensor::cat(&[i(0), i(1)], 1).unwrap()
            }
            "Identity" => i(0),
            other => panic!("op {other} not expected"),
        };
        env.insert(n.output[0].clone(), y);
    }
    env[&g.output[0].name].clone()
}

fn assert_close(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}");
    let d = crate::max_abs_diff(a, b);
    let s = crate::max_abs(b).max(1e-3);
    assert!(d / s < 1e-4, "{what}: max diff {d} of {s}");
}

#[test]
fn transformer_net_exports_its_layers_and_weights() {
    let dev = Device::Cpu;
    let cfg = TransformerNetConfig {
        channels: [4, 8, 8],
        residual_blocks: 2,
    };
    let net = TransformerNet::seeded_with(&cfg, 3, &dev).unwrap();
    let sd = net.state_dict();
    let m =
        roundtrip(&export(&net.program(), &names_of(&sd), &describe(BatchStats::Input)).unwrap());
    assert_eq!((m.ir_version, m.opset_import[0].version), (7, 13));
    assert_eq!(m.metadata_props[0].value, "seeded");
    // conv1–3, 2 per residual block, deconv1–2, deconv3: each reflection-padded
    assert_eq!(count(&m, "Conv"), 3 + 2 * 2 + 3);
    assert_eq!(count(&m, "Pad"), count(&m, "Conv"));
    assert_eq!(count(&m, "InstanceNormalization"), 5 + 2 * 2);
    assert_eq!(count(&m, "Resize"), 2);
    assert_eq!(count(&m, "Add"), 2);
    assert_eq!(count(&m, "Relu"), 5 + 2);
    assert_eq!(ops(&m).last().unwrap(), "Identity");
    initializers_are_the_weights(&m, &sd, &[]);
    let g = m.graph.as_ref().unwrap();
    assert_eq!(dims(&g.input[0]), ["batch", "3", "height", "width"]);
    assert_eq!(
        dims(&g.output[0]),
        ["batch", "3", "out_height", "out_width"]
    );
    // the graph computes the network: 2 images, 20×28 and 0–255, as the reference feeds it
    let x = (crate::rng::SeededRng::new(4)
        .uniform((2, 3, 20, 28), 0.0, 1.0, &dev)
        .unwrap()
        * 255.0)
        .unwrap();
    assert_close(
        &interpret(&m, &x),
        &net.forward(&x).unwrap(),
        "TransformerNet",
    );
}

fn generator(arch: &str, norm: NormKind, dropout: bool) -> Generator {
    generator_nc(arch, norm, dropout, (3, 3))
}

fn generator_nc(
    arch: &str,
    norm: NormKind,
    dropout: bool,
    (input_nc, output_nc): (usize, usize),
) -> Generator {
    let c = GenConfig {
        arch: arch.into(),
        input_nc,
        output_nc,
        ngf: 4,
        norm,
        dropout,
    };
    let g = Generator::seeded(&c, 5, 0.02, &Device::Cpu).unwrap();
    // running statistics that are not the initial 0 / 1, so that using them shows
    let mut sd = g.params.state_dict();
    for (k, t) in sd.iter_mut() {
        if k.ends_with("running_mean") || k.ends_with("running_var") {
            let n = t.elem_count();
            let v: Vec<f32> = (0..n).map(|i| 0.5 + 0.1 * i as f32).collect();
            *t = Tensor::from_vec(v, n, &Device::Cpu).unwrap();
        } else {
            // a copy: a variable is not set from its own storage
            *t = t.copy().unwrap();
        }
    }
    g.params.load_values(&sd).unwrap();
    g
}

#[test]
fn resnet_generator_with_instance_norm_exports_and_computes_the_same() {
    let g = generator("resnet_6blocks", NormKind::Instance, false);
    let sd = g.params.state_dict();
    let m = roundtrip(&export(&g.program(), &names_of(&sd), &describe(BatchStats::Input)).unwrap());
    assert_eq!(count(&m, "ConvTranspose"), 2);
    assert_eq!(count(&m, "Tanh"), 1);
    assert_eq!(count(&m, "BatchNormalization"), 0);
    initializers_are_the_weights(&m, &sd, &[]);
    let gr = m.graph.as_ref().unwrap();
    assert_eq!(dims(&gr.input[0]), ["batch", "3", "height", "width"]);
    let x = crate::rng::SeededRng::new(6)
        .uniform((1, 3, 32, 24), -1.0, 1.0, &Device::Cpu)
        .unwrap();
    let want = g.forward(&x, &Ctx::test(0)).unwrap();
    assert_close(&interpret(&m, &x), &want, "resnet_6blocks");
}

/// A grayscale generator (input_nc 1, output_nc 1) exports with its own channel counts.
#[test]
fn a_one_channel_generator_exports_with_its_channel_counts() {
    let g = generator_nc("resnet_2blocks", NormKind::Instance, false, (1, 1));
    let sd = g.params.state_dict();
    let m = roundtrip(&export(&g.program(), &names_of(&sd), &describe(BatchStats::Input)).unwrap());
    let gr = m.graph.as_ref().unwrap();
    assert_eq!(dims(&gr.input[0]), ["batch", "1", "height", "width"]);
    let x = crate::rng::SeededRng::new(6)
        .uniform((1, 1, 32, 24), -1.0, 1.0, &Device::Cpu)
        .unwrap();
    let want = g.forward(&x, &Ctx::test(0)).unwrap();
    assert_eq!(want.dims(), [1, 1, 32, 24]);
    assert_close(&interpret(&m, &x), &want, "resnet_2blocks 1 -> 1");
}

#[test]
fn batch_norm_follows_the_reference_test_or_eval() {
    // U-Net with batch norm and dropout (pix2pix's): the reference's test normalises by the
    // input's statistics (batch 1); --eval by the running ones; dropout is left out either way
    let g = generator("unet_32", NormKind::Batch, true);
    let sd = g.params.state_dict();
    let x = crate::rng::SeededRng::new(7)
        .uniform((1, 3, 32, 32), -1.0, 1.0, &Device::Cpu)
        .unwrap();

    let test =
        roundtrip(&export(&g.program(), &names_of(&sd), &describe(BatchStats::Input)).unwrap());
    assert_eq!(count(&test, "BatchNormalization"), 0);
    assert!(count(&test, "InstanceNormalization") > 0);
    assert!(count(&test, "LeakyRelu") > 0 && count(&test, "Concat") > 0);
    assert!(!ops(&test).iter().any(|o| o == "Dropout"));
    let gr = test.graph.as_ref().unwrap();
    assert_eq!(dims(&gr.input[0]), ["1", "3", "height", "width"]);
    // the reference's test without dropout: train-mode batch statistics, no masks
    let ctx = Ctx {
        dropout: false,
        ..Ctx::test(0)
    };
    assert_close(
        &interpret(&test, &x),
        &g.forward(&x, &ctx).unwrap(),
        "unet test",
    );

    let eval =
        roundtrip(&export(&g.program(), &names_of(&sd), &describe(BatchStats::Running)).unwrap());
    assert_eq!(
        count(&eval, "BatchNormalization"),
        count(&test, "InstanceNormalization")
    );
    initializers_are_the_weights(&eval, &sd, &["num_batches_tracked"]);
    assert_close(
        &interpret(&eval, &x),
        &g.forward(&x, &Ctx::eval()).unwrap(),
        "unet eval",
    );
}
