//! The CLI around fast style transfer as a new user meets it, through the real binary: `preset
//! check` names each missing input with its field (and the fetch command for a published
//! dataset), for every kind; the schedule hints name the run's kind's key; `translate` sends a
//! fast style run to `stylize --model`; `runs list` keeps its columns under a long kind; the
//! "already exists" wording; the GAN hint only for what looks like a GAN generator.

mod common;
use candle_core::{Device, Tensor};
use common::*;
use std::path::{Path, PathBuf};

/// Photos, a style image and a fast style preset `p.toml` at 32 px with the tiny VGG-19 fixture.
fn workspace(name: &str) -> PathBuf {
    let ws = temp_workspace(&format!("fscli-{name}"));
    let photos = ws.join("data/photos");
    std::fs::create_dir_all(&photos).unwrap();
    for (i, (w, h)) in [(40, 32), (32, 48), (36, 36), (48, 40), (33, 50)]
        .iter()
        .enumerate()
    {
        write_image(&photos.join(format!("p{i}.png")), *w, *h, i as u8 * 5);
    }
    write_image(&ws.join("style.png"), 40, 40, 7);
    std::fs::write(ws.join("p.toml"), preset("")).unwrap();
    ws
}

fn preset(data_extra: &str) -> String {
    format!(
        "kind = \"fast_neural_style\"\n[data]\ndataset = \"data/photos\"\nstyle_image = \"style.png\"\n\
         image_size = 32\nstyle_size = 32\nsample_count = 1\n{data_extra}[model]\nvgg_weights = \"{}\"\n\
         [train]\nepochs = 1\nbatch_size = 2\nlr = 0.01\n[log]\nsample_every = 10\ncheckpoint_every = 10\n",
        tiny_vgg().display()
    )
}

fn check(ws: &Path, file: &str, body: &str) -> (Option<i32>, String) {
    std::fs::write(ws.join(file), body).unwrap();
    let out = run(bin().current_dir(ws).args(["preset", "check", file]));
    (out.status.code(), text(&out))
}

#[test]
fn preset_check_names_each_missing_input_with_its_field() {
    let ws = workspace("check");
    let (code, t) = check(&ws, "ok.toml", &preset(""));
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains("valid fast_neural_style preset"), "{t}");

    // the style image and the held-out photos folder: each named with its field, exit 1
    let body = preset("sample_images = \"held/out\"\n")
        .replace("\"style.png\"", "\"datasets/style/nope.jpg\"");
    let (code, t) = check(&ws, "missing.toml", &body);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("data.style_image: datasets/style/nope.jpg: no such file"),
        "{t}"
    );
    assert!(
        t.contains("data.sample_images: held/out: no such folder"),
        "{t}"
    );
    assert!(!t.contains("valid fast_neural_style preset;"), "{t}");

    // a published dataset not fetched yet: the command that gets it
    let body = preset("").replace("\"data/photos\"", "\"datasets/coco-train2014\"");
    let (code, t) = check(&ws, "coco.toml", &body);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("data.dataset") && t.contains("aiart dataset fetch coco-train2014"),
        "{t}"
    );

    // train says the same before any run exists
    let out = run(bin().current_dir(&ws).args(["train", "missing.toml"]));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("data.style_image: datasets/style/nope.jpg: no such file"),
        "{}",
        text(&out)
    );
    assert!(!ws.join("runs").exists() || std::fs::read_dir(ws.join("runs")).unwrap().count() == 0);

    // an nst preset's content and style images
    let nst = "kind = \"nst\"\n[data]\ncontent = \"in/cat.jpg\"\nstyle = [\"style.png\", \"in/wave.jpg\"]\n\
               image_size = 32\n[model]\nvgg_weights = \"random\"\n[train]\niterations = 2\n";
    let (code, t) = check(&ws, "nst.toml", nst);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("data.content: in/cat.jpg: no such file"), "{t}");
    assert!(
        t.contains("data.style[1]: in/wave.jpg: no such file"),
        "{t}"
    );
    assert!(
        !t.contains("style.png"),
        "the style image that is there: {t}"
    );
    // with both there it is valid
    std::fs::create_dir_all(ws.join("in")).unwrap();
    write_image(&ws.join("in/cat.jpg"), 32, 32, 1);
    write_image(&ws.join("in/wave.jpg"), 32, 32, 2);
    let (code, t) = check(&ws, "nst.toml", nst);
    assert_eq!(code, Some(0), "{t}");

    // a GAN's dataroot
    let gan = "kind = \"pix2pix\"\n[data]\ndataroot = \"datasets/facades\"\n";
    let (code, t) = check(&ws, "gan.toml", gan);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("data.dataroot") && t.contains("aiart dataset fetch facades"),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_finished_fast_style_run_gets_its_own_hints_and_columns() {
    let ws = workspace("hints");
    let out = run(bin()
        .current_dir(&ws)
        .args(["train", "p.toml", "--run-dir", "runs/fin", "-q"]));
    assert!(out.status.success(), "{}", text(&out));

    // runs set on a finished run: the fast style schedule key, not the GAN's or nst's
    let out = run(bin()
        .current_dir(&ws)
        .args(["runs", "set", "fin", "train.style_weight=10"]));
    let t = text(&out);
    assert!(!out.status.success());
    assert!(t.contains("train.epochs"), "{t}");
    assert!(
        !t.contains("n_epochs") && !t.contains("train.iterations"),
        "{t}"
    );

    // translate: no generator, and where it goes instead
    let out = run(bin().current_dir(&ws).args([
        "translate",
        "--checkpoint",
        "runs/fin",
        "--input",
        "data/photos",
        "--output",
        "out",
    ]));
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("has no generator")
            && t.contains("aiart stylize --model runs/fin --input … --output …"),
        "{t}"
    );

    // its checkpoint folder, and a fast style run with no checkpoint yet, say the same
    let ck = std::fs::read_dir(ws.join("runs/fin/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let ck = ck.strip_prefix(&ws).unwrap().display().to_string();
    std::fs::create_dir_all(ws.join("runs/empty")).unwrap();
    std::fs::copy(ws.join("runs/fin/run.json"), ws.join("runs/empty/run.json")).unwrap();
    for given in [ck.as_str(), "runs/empty"] {
        let out = run(bin().current_dir(&ws).args([
            "translate",
            "--checkpoint",
            given,
            "--input",
            "data/photos",
            "--output",
            "out",
        ]));
        let t = text(&out);
        assert!(!out.status.success());
        assert!(
            t.contains(&format!("aiart stylize --model {given} --input")),
            "{given}: {t}"
        );
    }
    std::fs::remove_dir_all(ws.join("runs/empty")).unwrap();

    // runs list: the columns after the kind start where their headings do
    let out = run(bin().current_dir(&ws).args(["runs", "list"]));
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    let header = t.lines().next().unwrap();
    let row = t.lines().find(|l| l.starts_with("fin ")).expect(&t);
    let state_at = header.find("state").unwrap();
    let third = row
        .char_indices()
        .filter(|(i, c)| *c != ' ' && *i > 0 && row.as_bytes()[i - 1] == b' ')
        .nth(1)
        .map(|(i, _)| i)
        .unwrap();
    assert_eq!(third, state_at, "state column shifted:\n{t}");
    assert!(row[..state_at].contains("fast_neural_style "), "{t}");

    // outputs already there: "already exists" for one, "N outputs already exist" for many
    let stylize = |input: &str, output: &str| {
        run(bin().current_dir(&ws).args([
            "stylize", "--model", "fin", "--input", input, "--output", output,
        ]))
    };
    let out = stylize("data/photos/p0.png", "one.png");
    assert!(out.status.success(), "{}", text(&out));
    let out = stylize("data/photos/p0.png", "one.png");
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("one.png already exists") && !t.contains("exist(s)"),
        "{t}"
    );
    let out = stylize("data/photos", "many/");
    assert!(out.status.success(), "{}", text(&out));
    let out = stylize("data/photos", "many/");
    let t = text(&out);
    assert!(!out.status.success());
    assert!(t.contains("5 outputs already exist: "), "{t}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn stylize_model_gives_the_gan_hint_only_for_a_gan_generator() {
    let ws = workspace("ganhint");
    let t = Tensor::zeros((4, 3, 3, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    let save = |name: &str, key: &str| {
        let sd = std::collections::HashMap::from([(key.to_string(), t.clone())]);
        candle_core::safetensors::save(&sd, ws.join(name)).unwrap();
    };
    save("gen.safetensors", "model.1.weight");
    save("other.safetensors", "features.0.weight");
    let stylize = |model: &str| {
        let out = run(bin().current_dir(&ws).args([
            "stylize",
            "--model",
            model,
            "--input",
            "data/photos/p0.png",
            "--output",
            "o.png",
        ]));
        assert!(!out.status.success());
        text(&out)
    };
    let t = stylize("gen.safetensors");
    assert!(
        t.contains("not a TransformerNet") && t.contains("aiart translate"),
        "{t}"
    );
    assert!(!t.contains(".."), "{t}");
    let t = stylize("other.safetensors");
    assert!(t.contains("features.0.weight"), "{t}");
    assert!(!t.contains("translate") && !t.contains(".."), "{t}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn train_help_names_each_kinds_schedule_key() {
    let out = run(bin().args(["train", "--help"]));
    let t = text(&out);
    assert!(out.status.success());
    for key in ["train.epochs", "train.n_epochs", "train.iterations"] {
        assert!(t.contains(key), "{key}: {t}");
    }
}

/// `data.sample_count` above the photos there are is never capped silently: a held-out folder
/// with fewer photos is a note of `preset check` and a warning event of the run (the field, the
/// count asked, the count found); samples held out of the dataset that would leave it no photo
/// to train on are an error naming the field before any run exists.
#[test]
fn a_sample_count_above_the_photos_there_is_said() {
    let ws = workspace("samples");
    std::fs::create_dir_all(ws.join("held")).unwrap();
    write_image(&ws.join("held/a.png"), 36, 36, 11);
    write_image(&ws.join("held/b.png"), 40, 36, 12);
    let body = preset("sample_images = \"held\"\n").replace("sample_count = 1", "sample_count = 4");
    let (code, t) = check(&ws, "few.toml", &body);
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains("note: data.sample_count = 4")
            && t.contains("holds 2 photo(s)")
            && t.contains("samples show 2"),
        "{t}"
    );
    let out = run(bin().current_dir(&ws).args([
        "train",
        "few.toml",
        "--run-dir",
        "runs/few",
        "--max-steps",
        "1",
        "-q",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let events = read_jsonl(&ws.join("runs/few/events.jsonl"));
    assert!(
        events.iter().any(|e| e["kind"] == "warning"
            && e["message"].as_str().is_some_and(
                |m| m.contains("data.sample_count = 4") && m.contains("holds 2 photo(s)")
            )),
        "{events:?}"
    );
    // enough photos in the folder: no note
    let (code, t) = check(&ws, "enough.toml", &preset("sample_images = \"held\"\n"));
    assert_eq!(code, Some(0), "{t}");
    assert!(!t.contains("# note"), "{t}");

    // held out of the dataset's 5 photos: 5 leave none to train on, refused before any run
    let body = preset("").replace("sample_count = 1", "sample_count = 5");
    let (code, t) = check(&ws, "none.toml", &body);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("data.sample_count: holding out data.sample_count = 5")
            && t.contains("none of the 5")
            && t.contains("below 5"),
        "{t}"
    );
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "none.toml", "--run-dir", "runs/none", "-q"]));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("data.sample_count"), "{}", text(&out));
    assert!(!ws.join("runs/none").exists());
    // 4 of 5 leave one: valid
    let body = preset("").replace("sample_count = 1", "sample_count = 4");
    let (code, t) = check(&ws, "four.toml", &body);
    assert_eq!(code, Some(0), "{t}");
}
