//! The GAN networks against PyTorch (tools/fixtures_gan.py).

use super::*;
use crate::nn::weights::load_safetensors;
use std::collections::BTreeSet;

fn fixture() -> StateDict {
    load_safetensors(
        crate::test_fixture("gan_reference.safetensors"),
        &Device::Cpu,
    )
    .unwrap()
}

pub(crate) fn sub(fx: &StateDict, prefix: &str) -> StateDict {
    fx.iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(&format!("{prefix}."))
                .map(|s| (s.to_string(), v.clone()))
        })
        .collect()
}

fn metadata() -> serde_json::Value {
    let bytes = std::fs::read(crate::test_fixture("gan_reference.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let m = meta.metadata().as_ref().unwrap();
    serde_json::json!({ "keys": serde_json::from_str::<serde_json::Value>(&m["keys"]).unwrap() })
}

fn close(a: &Tensor, b: &Tensor, tol: f32, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}");
    let d = crate::max_abs_diff(a, b);
    assert!(d <= tol, "{what}: max diff {d}");
}

pub(crate) fn gen(arch: &str, ngf: usize, norm: NormKind, dropout: bool) -> GenConfig {
    GenConfig {
        arch: arch.into(),
        input_nc: 3,
        output_nc: 3,
        ngf,
        norm,
        dropout,
    }
}

#[test]
fn resnet_generator_matches_pytorch() {
    let fx = fixture();
    let g = Generator::from_state_dict(
        &gen("resnet_2blocks", 2, NormKind::Instance, false),
        sub(&fx, "resnet.w"),
        "fixture",
        &Device::Cpu,
    )
    .unwrap();
    let y = g.forward(&fx["resnet.in"], &Ctx::eval()).unwrap();
    close(&y, &fx["resnet.out"], 1e-5, "resnet");
}

#[test]
fn unet_generator_matches_pytorch_in_train_and_eval_mode() {
    let fx = fixture();
    let g = Generator::from_state_dict(
        &gen("unet_32", 2, NormKind::Batch, false),
        sub(&fx, "unet.w"),
        "fixture",
        &Device::Cpu,
    )
    .unwrap();
    let y = g.forward(&fx["unet.in"], &Ctx::eval()).unwrap();
    close(&y, &fx["unet.out_eval"], 1e-5, "unet eval");
    let mut ctx = Ctx::train(0);
    ctx.dropout = false;
    let y = g.forward(&fx["unet.in"], &ctx).unwrap();
    close(&y, &fx["unet.out_train"], 1e-4, "unet train");
    let rm = &g.params.state_dict()["model.model.1.model.2.running_mean"];
    close(
        rm,
        &fx["unet.running_mean_after"],
        1e-5,
        "running mean after one training forward",
    );
    let n = g.params.state_dict()["model.model.1.model.2.num_batches_tracked"]
        .to_dtype(candle_core::DType::F32)
        .unwrap();
    assert_eq!(n.to_scalar::<f32>().unwrap(), 1.0);
}

#[test]
fn patchgan_matches_pytorch() {
    let fx = fixture();
    let c = DiscConfig {
        arch: DiscArch::Basic,
        input_nc: 6,
        ndf: 2,
        n_layers: 3,
        norm: NormKind::Batch,
    };
    let d =
        Discriminator::from_state_dict(&c, sub(&fx, "patch.w"), "fixture", &Device::Cpu).unwrap();
    let mut ctx = Ctx::train(0);
    ctx.dropout = false;
    let y = d.forward(&fx["patch.in"], &ctx).unwrap();
    close(&y, &fx["patch.out"], 1e-4, "patchgan");
    assert_eq!(y.dims(), &[1, 1, 2, 2]);
}

fn keys_of(params: &ParamStore) -> BTreeSet<String> {
    params.names().into_iter().collect()
}

fn reference_keys(name: &str) -> BTreeSet<String> {
    metadata()["keys"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn full_size_key_names_are_the_references() {
    let dev = Device::Cpu;
    let cases = [
        (
            "resnet_9blocks",
            gen("resnet_9blocks", 64, NormKind::Instance, false),
        ),
        (
            "resnet_9blocks_dropout_batch",
            gen("resnet_9blocks", 64, NormKind::Batch, true),
        ),
        ("unet_256_batch", gen("unet_256", 64, NormKind::Batch, true)),
        (
            "unet_128_instance",
            gen("unet_128", 64, NormKind::Instance, false),
        ),
    ];
    for (name, c) in cases {
        let g = Generator::seeded(&c, 0, 0.02, &dev).unwrap();
        assert_eq!(keys_of(&g.params), reference_keys(name), "{name}");
    }
    let d = Discriminator::seeded(
        &DiscConfig {
            arch: DiscArch::Basic,
            input_nc: 6,
            ndf: 64,
            n_layers: 3,
            norm: NormKind::Batch,
        },
        0,
        0.02,
        &dev,
    )
    .unwrap();
    assert_eq!(keys_of(&d.params), reference_keys("basic_batch"));
    let d = Discriminator::seeded(
        &DiscConfig {
            arch: DiscArch::NLayers,
            input_nc: 3,
            ndf: 64,
            n_layers: 5,
            norm: NormKind::Instance,
        },
        0,
        0.02,
        &dev,
    )
    .unwrap();
    assert_eq!(keys_of(&d.params), reference_keys("n_layers_5_instance"));
    let sd = Generator::seeded(
        &gen("resnet_9blocks", 64, NormKind::Instance, false),
        0,
        0.02,
        &dev,
    )
    .unwrap()
    .params
    .state_dict();
    assert_eq!(sd["model.26.weight"].dims(), &[3, 64, 7, 7]);
    assert_eq!(
        sd["model.19.weight"].dims(),
        &[256, 128, 3, 3],
        "transposed convs are (in, out, k, k)"
    );
}

#[test]
fn configs_are_inferred_from_reference_state_dicts() {
    let dev = Device::Cpu;
    for c in [
        gen("resnet_9blocks", 8, NormKind::Instance, false),
        gen("resnet_6blocks", 4, NormKind::Batch, true),
        gen("unet_256", 4, NormKind::Batch, true),
        gen("unet_128", 2, NormKind::Instance, true),
    ] {
        let sd = Generator::seeded(&c, 0, 0.02, &dev)
            .unwrap()
            .params
            .state_dict();
        assert_eq!(infer_gen_config(&sd).unwrap(), c);
    }
}

/// The channel counts come from the first and last convolutions, in and out kept apart.
#[test]
fn channel_counts_are_inferred_from_the_first_and_last_convolutions() {
    let dev = Device::Cpu;
    for (arch, i, o) in [
        ("resnet_2blocks", 1, 3),
        ("resnet_2blocks", 3, 1),
        ("unet_32", 1, 3),
        ("unet_32", 3, 1),
        ("unet_32", 1, 1),
    ] {
        let c = GenConfig {
            input_nc: i,
            output_nc: o,
            ..gen(arch, 2, NormKind::Instance, false)
        };
        let sd = Generator::seeded(&c, 0, 0.02, &dev)
            .unwrap()
            .params
            .state_dict();
        assert_eq!(infer_channels(&sd), Some((i, o)), "{arch} {i}->{o}");
        assert_eq!(infer_gen_config(&sd).unwrap().input_nc, i);
    }
    // the reference-layout legacy .pth with input_nc 1 (tools/fixtures_grayscale.py)
    let sd = crate::nn::weights::load_state_dict(&crate::test_fixture("gray_in_net_G.pth"), &dev)
        .unwrap();
    let c = infer_gen_config(&sd).unwrap();
    assert_eq!(
        (c.arch.as_str(), c.input_nc, c.output_nc),
        ("resnet_2blocks", 1, 3)
    );
}

#[test]
fn odd_keys_of_old_checkpoints_are_ignored_and_misfits_named() {
    let dev = Device::Cpu;
    let fx = fixture();
    let mut sd = sub(&fx, "resnet.w");
    // old reference checkpoints: InstanceNorm running statistics, BatchNorm counters
    sd.insert(
        "model.2.running_mean".into(),
        Tensor::zeros(2, candle_core::DType::F32, &dev).unwrap(),
    );
    sd.insert(
        "model.2.running_var".into(),
        Tensor::ones(2, candle_core::DType::F32, &dev).unwrap(),
    );
    sd.insert(
        "model.5.num_batches_tracked".into(),
        Tensor::new(3i64, &dev).unwrap(),
    );
    let c = gen("resnet_2blocks", 2, NormKind::Instance, false);
    assert!(Generator::from_state_dict(&c, sd.clone(), "old.pth", &dev).is_ok());
    sd.remove("model.4.weight");
    sd.insert(
        "model.26.weight".into(),
        Tensor::zeros(3, candle_core::DType::F32, &dev).unwrap(),
    );
    sd.insert(
        "model.1.bias".into(),
        Tensor::zeros(5, candle_core::DType::F32, &dev).unwrap(),
    );
    let e = Generator::from_state_dict(&c, sd, "old.pth", &dev)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("old.pth") && e.contains("model.4.weight: missing"),
        "{e}"
    );
    assert!(e.contains("model.1.bias: shape [5], expected [2]"), "{e}");
    assert!(
        e.contains("model.26.weight: not a key of this network"),
        "{e}"
    );
}

#[test]
fn legacy_reference_checkpoint_with_stale_keys_translates_like_pytorch() {
    let dev = Device::Cpu;
    let fx = fixture();
    let path = crate::test_fixture("resnet_legacy_net_G.pth");
    let sd = crate::nn::weights::load_state_dict(&path, &dev).unwrap();
    assert!(
        sd.contains_key("model.2.running_mean"),
        "the stale keys are in the file"
    );
    let c = infer_gen_config(&sd).unwrap();
    assert_eq!(c, gen("resnet_2blocks", 2, NormKind::Instance, false));
    let g = Generator::from_state_dict(&c, sd, "resnet_legacy_net_G.pth", &dev).unwrap();
    let y = g.forward(&fx["resnet.in"], &Ctx::eval()).unwrap();
    close(&y, &fx["resnet.out"], 1e-5, "legacy .pth resnet");
}

#[test]
fn checkpoint_round_trip_keeps_weights_and_buffers() {
    let dev = Device::Cpu;
    let c = gen("unet_32", 2, NormKind::Batch, false);
    let g = Generator::seeded(&c, 5, 0.02, &dev).unwrap();
    let x = Tensor::ones((1, 3, 32, 32), candle_core::DType::F32, &dev).unwrap();
    let mut ctx = Ctx::train(0);
    ctx.dropout = false;
    g.forward(&x, &ctx).unwrap(); // moves the running statistics away from their start
    let path = std::env::temp_dir().join(format!("aiart-rt-{}.safetensors", std::process::id()));
    candle_core::safetensors::save(&g.params.state_dict(), &path).unwrap();
    let back = Generator::from_state_dict(
        &c,
        crate::nn::weights::load_state_dict(&path, &dev).unwrap(),
        "rt",
        &dev,
    )
    .unwrap();
    let (a, b) = (g.params.state_dict(), back.params.state_dict());
    assert_eq!(a.len(), b.len());
    for (k, t) in &a {
        let (t, u) = (
            t.to_dtype(candle_core::DType::F32).unwrap(),
            b[k].to_dtype(candle_core::DType::F32).unwrap(),
        );
        assert_eq!(crate::max_abs_diff(&t, &u), 0.0, "{k}");
    }
    assert_eq!(
        b["model.model.1.model.2.num_batches_tracked"].dtype(),
        candle_core::DType::I64
    );
    let (ya, yb) = (
        g.forward(&x, &Ctx::eval()).unwrap(),
        back.forward(&x, &Ctx::eval()).unwrap(),
    );
    assert_eq!(crate::max_abs_diff(&ya, &yb), 0.0);
}

#[test]
fn an_inference_generator_records_no_graph_and_gives_the_same_output() {
    let dev = Device::Cpu;
    for (arch, norm) in [
        ("resnet_2blocks", NormKind::Instance),
        ("unet_32", NormKind::Batch),
    ] {
        let c = GenConfig {
            arch: arch.into(),
            input_nc: 3,
            output_nc: 3,
            ngf: 4,
            norm,
            dropout: false,
        };
        let g = Generator::seeded(&c, 5, 0.02, &dev).unwrap();
        let x = crate::rng::SeededRng::new(6)
            .normal((1, 3, 32, 32), 0.0, 1.0, &dev)
            .unwrap();
        let ctx = crate::nn::layers::Ctx::eval();
        let y = g.forward(&x, &ctx).unwrap();
        assert!(
            y.track_op(),
            "{arch}: a trainable network records its graph"
        );
        let f = g.frozen().unwrap();
        let yf = f.forward(&x, &ctx).unwrap();
        assert!(!yf.track_op(), "{arch}: the inference network records none");
        // the same numbers up to rounding: without a graph its 3×3 convolutions take Winograd
        let d = crate::max_abs_diff(&y, &yf);
        assert!(d <= 1e-5, "{arch}: {d}");
    }
}
