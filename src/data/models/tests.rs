use super::*;
use crate::nn::gan::Generator;
use crate::nn::transformer_net::TransformerNet;
use candle_core::Device;

#[test]
fn the_registry_holds_the_reference_scripts_names() {
    let count = |k: Kind| ALL.iter().filter(|m| m.kind == k).count();
    assert_eq!(count(Kind::CycleGan), 18);
    assert_eq!(count(Kind::Pix2Pix), 5);
    assert_eq!(count(Kind::FastStyle), 4);
    // each (kind, name) once
    let mut q: Vec<String> = ALL.iter().map(Published::qualified).collect();
    q.sort();
    q.dedup();
    assert_eq!(q.len(), ALL.len());
    // the addresses the scripts download from
    let m = lookup("horse2zebra").unwrap();
    assert_eq!(
        m.url(None),
        "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth"
    );
    assert_eq!(
        lookup("edges2shoes").unwrap().url(Some("http://mirror/")),
        "http://mirror/pix2pix/models-pytorch/edges2shoes.pth"
    );
    assert_eq!(
        lookup("udnie").unwrap().url(None),
        "https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1"
    );
    // the reference's checkpoints layout under models/<kind>/
    assert_eq!(
        m.file(Path::new("models")),
        Path::new("models/cyclegan/horse2zebra_pretrained/latest_net_G.pth")
    );
    assert_eq!(
        lookup("candy").unwrap().file(Path::new("m")),
        Path::new("m/fast_neural_style/saved_models/candy.pth")
    );
}

#[test]
fn names_take_the_pretrained_suffix_and_a_kind_and_ambiguity_is_refused() {
    assert_eq!(
        lookup("horse2zebra_pretrained").unwrap().name,
        "horse2zebra"
    );
    assert_eq!(lookup("cyclegan/zebra2horse").unwrap().name, "zebra2horse");
    let p = lookup("pix2pix/sat2map").unwrap();
    assert_eq!((p.kind, p.aligned()), (Kind::Pix2Pix, Some(AtoB)));
    let e = lookup("sat2map").unwrap_err().to_string();
    assert!(
        e.contains("cyclegan/sat2map") && e.contains("pix2pix/sat2map"),
        "{e}"
    );
    let e = lookup("facades_label2photo_pretrained")
        .unwrap_err()
        .to_string();
    assert!(e.contains("pix2pix/facades_label2photo"), "{e}");
    assert!(lookup("pix2pix/horse2zebra").is_err());
}

#[test]
fn an_unknown_name_lists_the_near_ones() {
    let e = lookup("hors2zebra").unwrap_err().to_string();
    assert!(e.contains("unknown model `hors2zebra`"), "{e}");
    assert!(e.contains("did you mean horse2zebra"), "{e}");
    let e = lookup("monet").unwrap_err().to_string();
    assert!(
        e.contains("style_monet") && e.contains("monet2photo"),
        "{e}"
    );
    let e = lookup("qqqqqq").unwrap_err().to_string();
    assert!(!e.contains("did you mean"), "{e}");
    assert!(e.contains("aiart model list"), "{e}");
}

#[test]
fn directions_and_their_reverse() {
    let h = lookup("horse2zebra").unwrap();
    assert!(h.check_direction(AtoB).is_ok());
    let e = h.check_direction(BtoA).unwrap_err().to_string();
    assert!(e.contains("use zebra2horse"), "{e}");
    assert_eq!(h.aligned(), None, "CycleGAN generators take whole images");
    let c = lookup("style_cezanne").unwrap();
    assert!(c.check_direction(BtoA).is_ok());
    let e = c.check_direction(AtoB).unwrap_err().to_string();
    assert!(e.contains("no published cyclegan model"), "{e}");
    assert_eq!(lookup("day2night").unwrap().aligned(), Some(BtoA));
    assert_eq!(
        lookup("pix2pix/map2sat").unwrap().reverse().map(|m| m.name),
        Some("sat2map")
    );
}

/// Parameters (not buffers) of a state dict.
fn parameters(sd: &crate::nn::weights::StateDict) -> u64 {
    sd.iter()
        .filter(|(k, _)| !k.contains("running_") && !k.ends_with("num_batches_tracked"))
        .map(|(_, t)| t.elem_count() as u64)
        .sum()
}

#[test]
fn the_sizes_are_the_published_networks_parameters() {
    let dev = Device::Cpu;
    for name in ["horse2zebra", "edges2shoes"] {
        let m = lookup(name).unwrap();
        let g = Generator::seeded(&m.gen_config().unwrap(), 0, 0.02, &dev).unwrap();
        assert_eq!(
            4 * parameters(&g.params.state_dict()),
            m.approx_bytes(),
            "{name}"
        );
    }
    let t = TransformerNet::seeded(0, &dev).unwrap();
    assert_eq!(
        4 * parameters(&t.state_dict()),
        lookup("candy").unwrap().approx_bytes()
    );
}

#[test]
fn find_prefers_a_path_and_says_how_to_fetch() {
    let root = std::env::temp_dir().join(format!("aiart-models-find-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let ws = Workspace { root: root.clone() };
    let e = find(&ws, Path::new("horse2zebra")).unwrap_err().to_string();
    assert!(e.contains("aiart model fetch horse2zebra"), "{e}");
    assert!(
        e.contains("models/cyclegan/horse2zebra_pretrained/latest_net_G.pth"),
        "{e}"
    );
    // fetched: found by both spellings
    let file = root.join("models/cyclegan/horse2zebra_pretrained/latest_net_G.pth");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"x").unwrap();
    for given in [
        "horse2zebra",
        "horse2zebra_pretrained",
        "cyclegan/horse2zebra",
    ] {
        let l = find(&ws, Path::new(given)).unwrap().unwrap();
        assert_eq!((l.model.name, &l.file), ("horse2zebra", &file));
    }
    // a path that is there wins; a name that is not a model is the caller's to refuse
    std::fs::create_dir_all(root.join("horse2zebra")).unwrap();
    assert!(find(&ws, Path::new("horse2zebra")).unwrap().is_none());
    assert!(find(&ws, Path::new("no_such_model")).unwrap().is_none());
    // so does a run of that name
    std::fs::create_dir_all(root.join("runs/candy")).unwrap();
    assert!(find(&ws, Path::new("candy")).unwrap().is_none());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn init_from_a_published_name_finds_the_pair() {
    let root = std::env::temp_dir().join(format!("aiart-models-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let models = root.join("models");
    let h2z = lookup("horse2zebra").unwrap().file(&models);
    let z2h = lookup("zebra2horse").unwrap().file(&models);
    std::fs::create_dir_all(h2z.parent().unwrap()).unwrap();
    std::fs::write(&h2z, b"x").unwrap();
    let dir = init_from(&root, Path::new("horse2zebra"));
    assert_eq!(dir, h2z.parent().unwrap());
    assert_eq!(init_file(&dir, "G_A"), Some(h2z.clone()));
    assert_eq!(init_file(&dir, "G_B"), None, "zebra2horse not fetched");
    std::fs::create_dir_all(z2h.parent().unwrap()).unwrap();
    std::fs::write(&z2h, b"y").unwrap();
    assert_eq!(init_file(&dir, "G_B"), Some(z2h.clone()));
    // from the other model of the pair, the same two
    let back = init_from(&root, Path::new("zebra2horse_pretrained"));
    assert_eq!(init_file(&back, "G_A"), Some(h2z));
    assert_eq!(init_file(&back, "G_B"), Some(z2h));
    // a path wins; other folders are not published models
    assert_eq!(init_from(&root, Path::new("models")), models);
    assert_eq!(init_file(&root, "G_A"), None);
    assert_eq!(init_from(&root, Path::new("nothing")), root.join("nothing"));
    let _ = std::fs::remove_dir_all(&root);
}
