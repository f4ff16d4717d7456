//! Preset parsing and its error messages.

use super::*;

fn parse_str(text: &str) -> Result<Preset, PresetError> {
    parse(text, Path::new("p.toml"), &[])
}

fn err(text: &str) -> String {
    parse_str(text).unwrap_err().to_string()
}

const MINIMAL: &str = "kind = \"nst\"\n[data]\ncontent = \"c.jpg\"\nstyle = \"s.jpg\"\n";

#[test]
fn defaults_are_the_seeds() {
    let Preset::Nst(p) = parse_str(MINIMAL).unwrap() else {
        panic!("nst")
    };
    assert_eq!(p.model.content_layer, vec!["conv3_2"]);
    let w: Vec<f64> = p.model.style_layers.values().copied().collect();
    assert_eq!(w, vec![1.0, 0.5, 0.25, 0.125, 0.0625]);
    assert_eq!(p.model.style_layers.keys().next().unwrap(), "conv1_1");
    assert_eq!((p.train.content_weight, p.train.style_weight), (10.0, 40.0));
    assert_eq!(p.data.image_size, 512);
    assert_eq!(p.data.style_scale, 1.0);
    assert!(!p.data.original_colors);
    assert_eq!(p.data.init, "content");
    assert_eq!(p.train.lr(), 0.01);
    assert_eq!(p.data.style, vec![PathBuf::from("s.jpg")]);
}

#[test]
fn effective_preset_round_trips() {
    let p = parse_str(MINIMAL).unwrap();
    let text = p.to_toml();
    assert!(
        text.contains("lr = 0.01") && text.contains("conv5_1 = 0.0625"),
        "{text}"
    );
    let again = parse_str(&text).unwrap();
    let (Preset::Nst(a), Preset::Nst(b)) = (p, again) else {
        panic!("nst")
    };
    assert_eq!(a.effective(), b);
}

#[test]
fn styles_may_be_a_list() {
    let Preset::Nst(p) = parse_str(
        &format!("{MINIMAL}style_blend = [1.0, 3.0]\n[model]\ncontent_layer = [\"conv4_2\"]\n")
            .replace("style = \"s.jpg\"", "style = [\"a.jpg\", \"b.jpg\"]"),
    )
    .unwrap() else {
        panic!("nst")
    };
    assert_eq!(p.data.style.len(), 2);
    assert_eq!(p.model.content_layer, vec!["conv4_2"]);
}

#[test]
fn unknown_keys_are_named_with_a_suggestion() {
    let e = err(&format!("{MINIMAL}[train]\nitrations = 5\n"));
    assert!(
        e.starts_with("p.toml:6:1: train.itrations: unknown field `itrations`"),
        "{e}"
    );
    assert!(e.contains("did you mean `iterations`?"), "{e}");
    let e = err(&format!("{MINIMAL}[trian]\nlr = 1\n"));
    assert!(
        e.contains("p.toml:5:1") && e.contains("did you mean `train`?"),
        "{e}"
    );
}

#[test]
fn bad_values_name_line_column_and_field() {
    let e = err(&format!("{MINIMAL}[train]\nlr = \"fast\"\n"));
    assert!(e.starts_with("p.toml:6:1: train.lr: "), "{e}");
    assert!(e.contains("invalid type"), "{e}");
    let e = err(&format!("{MINIMAL}[train]\noptimizer = \"lbgfs\"\n"));
    assert!(
        e.contains("train.optimizer") && e.contains("did you mean `lbfgs`?"),
        "{e}"
    );
    let e = err("kind = \"nst\"\n[data\ncontent = 1\n");
    assert!(
        e.starts_with("p.toml:2:"),
        "syntax errors point at the line: {e}"
    );
}

#[test]
fn ranges_are_checked_and_all_problems_reported() {
    let text = format!(
        "{MINIMAL}image_size = 8\n[train]\nlr = -1.0\nstyle_weight = -2\n[model.style_layers]\nconv9_1 = 1.0\nconv2_1 = -1.0\n"
    );
    let e = parse_str(&text).unwrap_err();
    let all = e.to_string();
    assert_eq!(e.issues.len(), 5, "{all}");
    assert!(
        all.contains("p.toml:5:1: data.image_size: must be 16..=8192"),
        "{all}"
    );
    assert!(
        all.contains("p.toml:7:1: train.lr: must be positive, got -1"),
        "{all}"
    );
    assert!(
        all.contains("p.toml:8:1: train.style_weight: must be a finite number >= 0"),
        "{all}"
    );
    assert!(
        all.contains("p.toml:10:1: model.style_layers.conv9_1: unknown layer `conv9_1`"),
        "{all}"
    );
    assert!(
        all.contains("p.toml:11:1: model.style_layers.conv2_1: must be a finite number >= 0"),
        "{all}"
    );
}

#[test]
fn content_layer_names_are_checked() {
    let e = err(&format!("{MINIMAL}[model]\ncontent_layer = \"conv4_22\"\n"));
    assert!(
        e.contains("model.content_layer: unknown layer `conv4_22`; did you mean `conv4_2`?"),
        "{e}"
    );
}

#[test]
fn kind_is_required_and_checked() {
    let e = err("[data]\ncontent = \"c\"\n");
    assert!(e.starts_with("p.toml:1:1: kind: missing"), "{e}");
    let e = err("kind = \"nts\"\n");
    assert!(e.contains("did you mean \"nst\"?"), "{e}");
}

#[test]
fn missing_inputs_are_reported() {
    let e = err("kind = \"nst\"\n");
    assert!(
        e.contains("data.content: required") && e.contains("data.style: required"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}style_blend = [1.0, 2.0]\n"));
    assert!(
        e.contains("data.style_blend: has 2 weights for 1 style images"),
        "{e}"
    );
}

#[test]
fn overrides_apply_and_are_blamed_for_their_errors() {
    let sets = vec![
        "train.lr=0.5".to_string(),
        "model.style_layers={ conv1_1 = 2.0 }".to_string(),
    ];
    let Preset::Nst(p) = parse(MINIMAL, Path::new("p.toml"), &sets).unwrap() else {
        panic!("nst")
    };
    assert_eq!(p.train.lr, Some(0.5));
    assert_eq!(p.model.style_layers.len(), 1);
    let e = parse(MINIMAL, Path::new("p.toml"), &["train.lr=-3".to_string()])
        .unwrap_err()
        .to_string();
    assert_eq!(e, "--set train.lr=-3: train.lr: must be positive, got -3");
    let e = parse(MINIMAL, Path::new("p.toml"), &["train.lrr=3".to_string()])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--set train.lrr=3: train.lrr: unknown field")
            && e.contains("did you mean `lr`?"),
        "{e}"
    );
    let e = parse(MINIMAL, Path::new("p.toml"), &["nonsense".to_string()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected section.key=value"), "{e}");
    // a table the file does not have, made by the override, is the override's too
    let e = parse(MINIMAL, Path::new("p.toml"), &["foo.bar=1".to_string()])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("--set foo.bar=1: foo: unknown field"), "{e}");
    // while an unknown table of the file's own stays the file's, beside an override
    let text = format!("{MINIMAL}[foo]\nbar = 1\n");
    let e = parse(&text, Path::new("p.toml"), &["foo.baz=1".to_string()])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("p.toml:"), "{e}");
}

#[test]
fn shipped_presets_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let files = list(&dir);
    assert!(!files.is_empty());
    for f in files {
        if let Err(e) = load(&f, &[]) {
            panic!("{}: {e}", f.display());
        }
    }
}

const P2P: &str = "kind = \"pix2pix\"\n[data]\ndataroot = \"datasets/facades\"\n";

#[test]
fn gan_defaults_follow_each_reference_model() {
    let Preset::Gan(p) = parse_str(P2P).unwrap() else {
        panic!("gan")
    };
    assert_eq!(
        (p.net_g().as_str(), p.norm(), p.dropout(), p.pool_size()),
        ("unet_256", crate::nn::layers::NormKind::Batch, true, 0)
    );
    assert_eq!(p.gan_mode(), gan::GanMode::Vanilla);
    assert_eq!(
        (p.data.load_size, p.data.crop_size, p.data.batch_size),
        (286, 256, 1)
    );
    assert_eq!(
        (
            p.train.lr,
            p.train.beta1,
            p.train.n_epochs,
            p.train.n_epochs_decay
        ),
        (0.0002, 0.5, 100, 100)
    );
    assert_eq!(p.train.lambda_l1, 100.0);
    let Preset::Gan(c) = parse_str(&P2P.replace("pix2pix", "cyclegan")).unwrap() else {
        panic!("gan")
    };
    assert_eq!(
        (c.net_g().as_str(), c.norm(), c.dropout(), c.pool_size()),
        (
            "resnet_9blocks",
            crate::nn::layers::NormKind::Instance,
            false,
            50
        )
    );
    assert_eq!(c.gan_mode(), gan::GanMode::Lsgan);
    let Preset::Gan(w) = parse_str(&format!("{P2P}[train]\ngan_mode = \"wgangp\"\n")).unwrap()
    else {
        panic!("gan")
    };
    assert_eq!(w.gan_mode(), gan::GanMode::Wgangp);
    let bad = parse_str(&format!("{P2P}[train]\ngan_mode = \"wgan\"\n")).unwrap_err();
    assert!(format!("{bad:#}").contains("wgangp"), "{bad:#}");
    assert_eq!(
        (c.train.lambda_a, c.train.lambda_b, c.train.lambda_identity),
        (10.0, 10.0, 0.5)
    );
    let text = Preset::Gan(c).to_toml();
    assert!(
        text.contains("netG = \"resnet_9blocks\"")
            && text.contains("lambda_A = 10.0")
            && text.contains("n_layers_D = 3"),
        "{text}"
    );
}

#[test]
fn gan_options_are_checked_with_reference_names() {
    let e = err(&format!("{P2P}[model]\nnetG = \"unet_300\"\n"));
    assert!(
        e.contains("p.toml:5:1: model.netG: unknown generator `unet_300`"),
        "{e}"
    );
    let e = err(&format!("{P2P}crop_size = 100\n"));
    assert!(
        e.contains("data.crop_size: 100 does not suit the networks")
            && e.contains("unet_256")
            && e.contains("a multiple of 256")
            && e.contains("use crop_size = 256"),
        "{e}"
    );
    let e = err(&format!("{P2P}[train]\nlambda_l1 = 3\n"));
    assert!(e.contains("did you mean `lambda_L1`?"), "{e}");
    let e = err(&format!("{P2P}direction = \"AB\"\n"));
    assert!(e.contains("data.direction") && e.contains("AtoB"), "{e}");
    let e = err(&format!("{P2P}preprocess = \"resize\"\n"));
    assert!(
        e.contains("data.preprocess") && e.contains("resize_and_crop"),
        "{e}"
    );
}

#[test]
fn tf32_is_on_by_default_in_every_kind_checked_shown_and_frozen() {
    let gan = |kind: &str| format!("kind = \"{kind}\"\n[data]\ndataroot = \"d\"\n");
    let fast = "kind = \"fast_neural_style\"\n[data]\ndataset = \"d\"\nstyle_image = \"s\"\n";
    for text in [
        MINIMAL.to_string(),
        gan("pix2pix"),
        gan("cyclegan"),
        fast.to_string(),
    ] {
        let on = parse_str(&text).unwrap();
        let off = parse_str(&format!("{text}[train]\ntf32 = false\n")).unwrap();
        let tf32 = |p: &Preset| match p {
            Preset::Nst(p) => p.train.tf32,
            Preset::Gan(p) => p.train.tf32,
            Preset::FastStyle(p) => p.train.tf32,
        };
        assert!(tf32(&on), "on by default, as PyTorch's allow_tf32: {text}");
        assert!(!tf32(&off));
        // `preset check` prints the effective preset: the switch is there either way
        assert!(on.to_toml().contains("tf32 = true"), "{}", on.to_toml());
        assert!(off.to_toml().contains("tf32 = false"), "{}", off.to_toml());
        let e = err(&format!("{text}[train]\ntf32 = \"yes\"\n"));
        assert!(
            e.contains("train.tf32") && e.contains("invalid type"),
            "{e}"
        );
        // not live: a running trainer keeps the math it started with
        let (live_changes, frozen) =
            live::classify(live::diff(&on.effective_value(), &off.effective_value()));
        assert!(live_changes.is_empty(), "{live_changes:?}");
        assert_eq!(frozen.len(), 1);
        assert_eq!(
            (
                frozen[0].field.as_str(),
                frozen[0].old.as_str(),
                frozen[0].new.as_str()
            ),
            ("train.tf32", "true", "false")
        );
    }
}

#[test]
fn every_unknown_key_and_bad_type_is_reported_not_just_the_first() {
    // serde stops at the first; each of these is named with its line
    let text = format!(
        "{MINIMAL}[train]\nitrations = 5\nlr = \"fast\"\n[log]\nsample_evry = 3\nprint_every = 10\n"
    );
    let e = err(&text);
    for part in [
        "p.toml:6:1: train.itrations: unknown field `itrations`",
        "p.toml:7:1: train.lr: invalid type",
        "p.toml:9:1: log.sample_evry: unknown field `sample_evry`",
    ] {
        assert!(e.contains(part), "{part} in:\n{e}");
    }
    assert_eq!(e.lines().count(), 3, "{e}");
    // the same through --set
    let e = parse(
        MINIMAL,
        Path::new("p.toml"),
        &["train.lrr=3".into(), "log.x=1".into()],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("--set train.lrr=3: train.lrr: unknown field")
            && e.contains("--set log.x=1: log.x: unknown field"),
        "{e}"
    );
}

#[test]
fn vgg16_takes_its_own_layers_and_refuses_vgg19_only_ones() {
    let Preset::Nst(p) = parse_str(MINIMAL).unwrap() else {
        panic!("nst")
    };
    // jcj's defaults: VGG-19, gradients not normalised
    assert_eq!(p.model.network, crate::nn::vgg::VggArch::Vgg19);
    assert!(!p.train.normalize_gradients);
    let vgg16 = format!(
        "{MINIMAL}[model]\nnetwork = \"vgg16\"\nvgg_weights = \"hub\"\n\
         content_layer = \"relu4_2\"\n[model.style_layers]\nrelu1_1 = 1.0\nconv5_3 = 1.0\n\
         [train]\nnormalize_gradients = true\n"
    );
    let parsed = parse_str(&vgg16).unwrap();
    assert!(parsed.to_toml().contains("network = \"vgg16\""));
    let Preset::Nst(p) = parsed else {
        panic!("nst")
    };
    assert!(p.train.normalize_gradients);
    let e = err(&format!("{vgg16}conv5_4 = 1.0\n").replace(
        "[train]\nnormalize_gradients = true\nconv5_4 = 1.0\n",
        "conv5_4 = 1.0\n[train]\nnormalize_gradients = true\n",
    ));
    assert!(
        e.contains("model.style_layers.conv5_4")
            && e.contains("VGG-16 (model.network) has no such layer"),
        "{e}"
    );
    // the bundled weights are VGG-19's
    let e = err(&vgg16.replace("vgg_weights = \"hub\"\n", ""));
    assert!(
        e.contains("model.vgg_weights") && e.contains("VGG-19"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[model]\nnetwork = \"vgg11\"\n"));
    assert!(e.contains("network"), "{e}");
}

#[test]
fn channel_counts_default_to_rgb_and_refuse_what_no_dataset_feeds() {
    let Preset::Gan(p) = parse_str(P2P).unwrap() else {
        panic!("gan")
    };
    assert_eq!((p.input_nc(), p.output_nc()), (3, 3));
    let text = Preset::Gan(p).to_toml();
    assert!(!text.contains("input_nc"), "unset stays unset: {text}");
    let Preset::Gan(g) =
        parse_str(&format!("{P2P}[model]\ninput_nc = 1\noutput_nc = 3\n")).unwrap()
    else {
        panic!("gan")
    };
    assert_eq!((g.input_nc(), g.output_nc()), (1, 3));
    assert!(Preset::Gan(g).to_toml().contains("input_nc = 1"));
    for (text, field, got) in [
        ("input_nc = 0", "model.input_nc", "got 0"),
        ("output_nc = 2", "model.output_nc", "got 2"),
        ("output_nc = 4", "model.output_nc", "got 4"),
    ] {
        let e = err(&format!("{P2P}[model]\n{text}\n"));
        assert!(
            e.contains(&format!(
                "p.toml:5:1: {field}: must be 1 (grayscale) or 3 (RGB), {got}"
            )),
            "{e}"
        );
        // two output channels point at colorization
        assert_eq!(
            e.contains("dataset_mode = \"colorization\""),
            got == "got 2",
            "{e}"
        );
    }
}

#[test]
fn cyclegan_identity_needs_equal_channel_counts() {
    let cyc = P2P.replace("pix2pix", "cyclegan");
    let e = err(&format!("{cyc}[model]\ninput_nc = 1\n"));
    assert!(
        e.contains("train.lambda_identity: must be 0 when model.input_nc (1) and model.output_nc (3) differ"),
        "{e}"
    );
    let ok = format!("{cyc}[model]\ninput_nc = 1\n[train]\nlambda_identity = 0.0\n");
    assert!(parse_str(&ok).is_ok());
    assert!(parse_str(&format!("{cyc}[model]\ninput_nc = 1\noutput_nc = 1\n")).is_ok());
}

/// `data.dataset_mode = "colorization"`: 1 input and 2 output channels (the accessors the
/// networks are built through), pix2pix only, AtoB only; other modes keep 3 and 3.
#[test]
fn colorization_implies_one_channel_in_and_two_out() {
    let pix = "kind = \"pix2pix\"\n[data]\ndataroot = \"d\"\n";
    let Preset::Gan(g) = parse_str(&format!("{pix}dataset_mode = \"colorization\"\n")).unwrap()
    else {
        panic!("a GAN preset")
    };
    assert_eq!((g.input_nc(), g.output_nc()), (1, 2));
    assert!(g.is_colorization());
    let Preset::Gan(g) = parse_str(pix).unwrap() else {
        panic!("a GAN preset")
    };
    assert_eq!((g.input_nc(), g.output_nc()), (3, 3));
    let e = err(&format!(
        "{pix}dataset_mode = \"colorization\"\ndirection = \"BtoA\"\n"
    ));
    assert!(e.contains("data.direction") && e.contains("AtoB"), "{e}");
    let e = err(&format!("{pix}dataset_mode = \"unaligned\"\n"));
    assert!(
        e.contains("data.dataset_mode") && e.contains("\"unaligned\" does not go with"),
        "{e}"
    );
    let e = err("kind = \"cyclegan\"\n[data]\ndataroot = \"d\"\ndataset_mode = \"colorization\"\n");
    assert!(e.contains("data.dataset_mode"), "{e}");
    let e = err(&format!("{pix}dataset_mode = \"grey\"\n"));
    assert!(e.contains("dataset_mode"), "{e}");
    // explicit counts: colorization's own are accepted, others refused naming the field
    let col = format!("{pix}dataset_mode = \"colorization\"\n[model]\n");
    assert!(parse_str(&format!("{col}input_nc = 1\noutput_nc = 2\n")).is_ok());
    let e = err(&format!("{col}output_nc = 3\n"));
    assert!(
        e.contains("model.output_nc: must be 2 with data.dataset_mode = \"colorization\""),
        "{e}"
    );
}

#[test]
fn fast_lr_decay_epochs_is_bounded_by_the_run_and_live() {
    let fast = "kind = \"fast_neural_style\"\n[data]\ndataset = \"d\"\nstyle_image = \"s\"\n";
    let off = parse_str(fast).unwrap();
    let Preset::FastStyle(p) = &off else {
        panic!("not fast")
    };
    assert_eq!(p.train.lr_decay_epochs, 0, "pytorch/examples keeps its lr");
    let on = parse_str(&format!("{fast}[train]\nepochs = 4\nlr_decay_epochs = 4\n")).unwrap();
    let e = err(&format!("{fast}[train]\nepochs = 4\nlr_decay_epochs = 5\n"));
    assert!(
        e.contains("train.lr_decay_epochs: must be at most train.epochs (4), got 5"),
        "{e}"
    );
    // live, as the GAN kinds' n_epochs_decay: the trainer reads it from the preset in force
    let base = parse_str(&format!("{fast}[train]\nepochs = 4\n")).unwrap();
    let (live_changes, frozen) =
        live::classify(live::diff(&base.effective_value(), &on.effective_value()));
    assert!(frozen.is_empty(), "{frozen:?}");
    assert_eq!(live_changes.len(), 1, "{live_changes:?}");
    assert_eq!(live_changes[0].field, "train.lr_decay_epochs");
}
