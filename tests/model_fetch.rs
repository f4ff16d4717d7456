//! `aiart model fetch` / `model list` against a real HTTP server on 127.0.0.1 (tests/http_server)
//! serving, at the reference's paths: a real-size CycleGAN generator (resnet_9blocks, ngf 64, as
//! published) made by the project's own initialisation and written here in torch.save's legacy
//! format, as the published files are; and pytorch/examples' zip of the four styles holding the
//! small TransformerNet fixture four times. Then the names at work: `translate --checkpoint
//! horse2zebra`, `stylize --model mosaic`; and the refusals (unknown, ambiguous, not fetched, 404,
//! offline, not the published network, a zip entry that escapes its folder).

mod common;
mod http_server;
use aiart::data::models::lookup;
use aiart::nn::gan::Generator;
use common::*;
use http_server::serve;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

fn global(p: &mut Vec<u8>, module: &str, name: &str) {
    p.push(b'c');
    p.extend(format!("{module}\n{name}\n").bytes());
}

fn unicode(p: &mut Vec<u8>, s: &str) {
    p.push(b'X');
    p.extend((s.len() as u32).to_le_bytes());
    p.extend(s.bytes());
}

fn int(p: &mut Vec<u8>, v: usize) {
    p.push(b'J');
    p.extend((v as i32).to_le_bytes());
}

fn ints(p: &mut Vec<u8>, v: &[usize]) {
    p.push(b'(');
    for &x in v {
        int(p, x);
    }
    p.push(b't');
}

/// A float32 state dict as torch.save wrote it before PyTorch 1.6 (magic number, protocol
/// version, system info, the dict with each tensor a `_rebuild_tensor_v2` of a persistent storage,
/// the storage keys, then each storage as its element count and bytes).
fn legacy_pth(sd: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let mut out = vec![0x80, 0x02, 0x8a, 0x0a];
    out.extend(&0x1950a86a20f9469cfc6c_u128.to_le_bytes()[..10]);
    out.push(b'.');
    out.extend([0x80, 0x02]);
    int(&mut out, 1001);
    out.push(b'.');
    out.extend([0x80, 0x02, b'}', b'.']);
    let mut p = vec![0x80, 0x02, b'}', b'('];
    for (i, (name, shape, values)) in sd.iter().enumerate() {
        unicode(&mut p, name);
        global(&mut p, "torch._utils", "_rebuild_tensor_v2");
        p.push(b'(');
        p.push(b'(');
        unicode(&mut p, "storage");
        global(&mut p, "torch", "FloatStorage");
        unicode(&mut p, &i.to_string());
        unicode(&mut p, "cpu");
        int(&mut p, values.len());
        p.extend([b't', b'Q']);
        int(&mut p, 0);
        ints(&mut p, shape);
        let mut stride = vec![1; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * shape[d + 1];
        }
        ints(&mut p, &stride);
        p.push(0x89);
        global(&mut p, "collections", "OrderedDict");
        p.extend([b')', b'R', b't', b'R']);
    }
    p.extend([b'u', b'.']);
    out.extend(p);
    out.extend([0x80, 0x02, b']', b'(']);
    for i in 0..sd.len() {
        unicode(&mut out, &i.to_string());
    }
    out.extend([b'e', b'.']);
    for (_, _, values) in sd {
        out.extend((values.len() as i64).to_le_bytes());
        for v in values {
            out.extend(v.to_le_bytes());
        }
    }
    out
}

/// The published horse2zebra's architecture with this project's seeded weights, as a legacy .pth.
fn real_size_generator() -> Vec<u8> {
    seeded_generator(11)
}

fn seeded_generator(seed: u64) -> Vec<u8> {
    let c = lookup("horse2zebra").unwrap().gen_config().unwrap();
    let g = Generator::seeded(&c, seed, 0.02, &candle_core::Device::Cpu).unwrap();
    let mut sd: Vec<(String, Vec<usize>, Vec<f32>)> = g
        .params
        .state_dict()
        .into_iter()
        .map(|(k, t)| {
            let values = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (k, t.dims().to_vec(), values)
        })
        .collect();
    sd.sort_by(|a, b| a.0.cmp(&b.0));
    legacy_pth(&sd)
}

fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(vec![]));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        w.start_file(*path, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const H2Z: &str = "/cyclegan/pretrained_models/horse2zebra.pth";
const STYLES: &str = "/s/lrvwfehqdcxoza8/saved_models.zip?dl=1";
const STYLE_NAMES: [&str; 4] = ["candy", "mosaic", "rain_princess", "udnie"];

fn aiart(ws: &Path, base: &str, args: &[&str]) -> std::process::Output {
    run(bin()
        .current_dir(ws)
        .env("AIART_MODELS_URL", base)
        .args(args))
}

/// Anything but finished models under models/: partial downloads, unpacking folders.
fn leftovers(ws: &Path) -> Vec<String> {
    std::fs::read_dir(ws.join("models"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

fn photo(path: &Path, w: u32, h: u32) {
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 5) as u8, (y * 6) as u8, 90]))
        .save(path)
        .unwrap();
}

#[test]
fn a_cut_download_resumes_and_translate_finds_the_model_by_name() {
    let bytes = real_size_generator();
    let server = serve(HashMap::from([(H2Z.to_string(), bytes.clone())]));
    let ws = temp_workspace("model-h2z");
    let base = format!("{}/cut", server.base);
    let out = aiart(&ws, &base, &["model", "fetch", "horse2zebra"]);
    assert!(!out.status.success(), "the first try is cut off");
    assert!(
        text(&out).contains("run the command again to resume"),
        "{}",
        text(&out)
    );
    let part = ws.join("models/.cyclegan-horse2zebra.pth.part");
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    assert!(have > 0, "the partial file is kept");
    // the reference's folder name works as well
    let out = aiart(&ws, &base, &["model", "fetch", "horse2zebra_pretrained"]);
    assert!(out.status.success(), "{}", text(&out));
    let (path, range) = server.log.lock().unwrap().requests.last().unwrap().clone();
    assert!(path.ends_with(H2Z), "{path}");
    assert_eq!(range, Some(format!("bytes={have}-")));
    let file = ws.join("models/cyclegan/horse2zebra_pretrained/latest_net_G.pth");
    assert!(std::fs::read(&file).unwrap() == bytes, "the same bytes");
    assert!(leftovers(&ws).is_empty(), "{:?}", leftovers(&ws));
    // a second fetch downloads nothing
    let n = server.log.lock().unwrap().requests.len();
    let out = aiart(&ws, &base, &["model", "fetch", "horse2zebra"]);
    assert!(text(&out).contains("already there"), "{}", text(&out));
    assert_eq!(server.log.lock().unwrap().requests.len(), n);
    // listed as fetched, with what it is
    let out = aiart(&ws, &base, &["model", "list"]);
    let listed = text(&out);
    let line = listed
        .lines()
        .find(|l| l.starts_with("horse2zebra "))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("yes") && line.contains("MiB"), "{line}");
    assert!(line.contains("resnet_9blocks, instance norm"), "{line}");
    assert!(line.contains("horse → zebra"), "{line}");
    assert_eq!(listed.lines().filter(|l| l.contains(" no (~")).count(), 26);
    // translated by name, with no flag
    photo(&ws.join("horse.png"), 40, 28);
    let out = aiart(
        &ws,
        &base,
        &[
            "translate",
            "--checkpoint",
            "horse2zebra",
            "--input",
            "horse.png",
            "--output",
            "zebra.png",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let img = image::open(ws.join("zebra.png")).unwrap();
    assert_eq!((img.width(), img.height()), (40, 28));
    // it translates one way; the other is the published zebra2horse
    let out = aiart(
        &ws,
        &base,
        &[
            "translate",
            "--checkpoint",
            "horse2zebra",
            "--direction",
            "BtoA",
            "--input",
            "horse.png",
            "--output",
            "back.png",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("use zebra2horse"), "{}", text(&out));
    // a generator is not a style network
    let out = aiart(
        &ws,
        &base,
        &[
            "stylize",
            "--model",
            "horse2zebra",
            "--input",
            "horse.png",
            "--output",
            "s.png",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("aiart translate"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn the_style_zip_gives_all_four_and_stylize_finds_them() {
    let net = std::fs::read(repo().join("tests/fixtures/fast_style_legacy.pth")).unwrap();
    let entries: Vec<(String, &[u8])> = STYLE_NAMES
        .iter()
        .map(|n| (format!("saved_models/{n}.pth"), net.as_slice()))
        .collect();
    let entries: Vec<(&str, &[u8])> = entries.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    let server = serve(HashMap::from([(STYLES.to_string(), zip(&entries))]));
    let ws = temp_workspace("model-styles");
    let base = format!("{}/ok", server.base);
    let out = aiart(&ws, &base, &["model", "fetch", "candy"]);
    assert!(out.status.success(), "{}", text(&out));
    for n in STYLE_NAMES {
        let f = ws.join(format!("models/fast_neural_style/saved_models/{n}.pth"));
        assert!(std::fs::read(&f).unwrap() == net, "{n}");
    }
    assert!(leftovers(&ws).is_empty(), "{:?}", leftovers(&ws));
    let out = aiart(&ws, &base, &["model", "fetch", "udnie"]);
    assert!(text(&out).contains("already there"), "{}", text(&out));
    photo(&ws.join("p.png"), 24, 20);
    let out = aiart(
        &ws,
        &base,
        &[
            "stylize", "--model", "mosaic", "--input", "p.png", "--output", "m.png",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let img = image::open(ws.join("m.png")).unwrap();
    assert_eq!((img.width(), img.height()), (24, 20));
    let out = aiart(
        &ws,
        &base,
        &[
            "translate",
            "--checkpoint",
            "candy",
            "--input",
            "p.png",
            "--output",
            "t.png",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("stylize --model"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn names_servers_and_archives_that_are_refused() {
    let tiny = std::fs::read(repo().join("tests/fixtures/resnet_legacy_net_G.pth")).unwrap();
    let escaping = zip(&[("../evil.pth", b"x"), ("saved_models/candy.pth", b"y")]);
    let server = serve(HashMap::from([
        (H2Z.to_string(), tiny),
        (STYLES.to_string(), escaping),
    ]));
    let ws = temp_workspace("model-refused");
    let ok = format!("{}/ok", server.base);
    let refused = |args: &[&str], base: &str, want: &[&str]| {
        let out = aiart(&ws, base, args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        for w in want {
            assert!(
                text(&out).contains(w),
                "{args:?}: no `{w}` in {}",
                text(&out)
            );
        }
    };
    refused(
        &["model", "fetch", "hors2zebra"],
        &ok,
        &["unknown model `hors2zebra`", "did you mean horse2zebra"],
    );
    refused(
        &["model", "fetch", "sat2map"],
        &ok,
        &["cyclegan/sat2map", "pix2pix/sat2map"],
    );
    refused(
        &[
            "translate",
            "--checkpoint",
            "zebra2horse",
            "--input",
            "x.png",
            "--output",
            "y.png",
        ],
        &ok,
        &["aiart model fetch zebra2horse"],
    );
    refused(
        &["model", "fetch", "horse2zebra"],
        &format!("{}/missing", server.base),
        &["answered 404", "aiart model list"],
    );
    // offline: a port nothing listens on
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    refused(
        &["model", "fetch", "horse2zebra"],
        &closed,
        &[
            &format!("{closed}{H2Z}"),
            "put it at",
            "models/cyclegan/horse2zebra_pretrained/latest_net_G.pth",
        ],
    );
    // a generator of another size than the published one is not written
    refused(
        &["model", "fetch", "horse2zebra"],
        &ok,
        &["not the published horse2zebra", "removed"],
    );
    // a zip entry that would land outside its folder refuses the whole archive
    refused(
        &["model", "fetch", "candy"],
        &ok,
        &["`../evil.pth`", "outside", "removed"],
    );
    // a preset that starts from a published model not fetched says how to get it
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::write(
        ws.join("presets/p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"datasets/facades\"\n[model]\ninit_from = \"edges2shoes\"\n",
    )
    .unwrap();
    refused(
        &["preset", "check", "p"],
        &ok,
        &[
            "model.init_from: edges2shoes",
            "aiart model fetch edges2shoes",
        ],
    );
    assert!(!ws.join("models/cyclegan").exists());
    assert!(!ws.join("models/fast_neural_style").exists());
    assert!(!ws.join("evil.pth").exists() && !ws.join("models/evil.pth").exists());
    assert!(leftovers(&ws).is_empty(), "{:?}", leftovers(&ws));
    let _ = std::fs::remove_dir_all(&ws);
}

/// A tensor of a checkpoint's safetensors file.
fn tensor(file: &Path, key: &str) -> Vec<f32> {
    let sd = aiart::nn::weights::load_state_dict(file, &candle_core::Device::Cpu).unwrap();
    sd[key].flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn a_cyclegan_preset_starts_from_a_published_pair() {
    let (h2z, z2h) = (seeded_generator(21), seeded_generator(22));
    let server = serve(HashMap::from([
        (H2Z.to_string(), h2z),
        (
            "/cyclegan/pretrained_models/zebra2horse.pth".to_string(),
            z2h,
        ),
    ]));
    let ws = temp_workspace("model-init");
    let base = format!("{}/ok", server.base);
    for (d, n) in [("trainA", 2), ("trainB", 2)] {
        std::fs::create_dir_all(ws.join("data").join(d)).unwrap();
        for i in 0..n {
            photo(&ws.join(format!("data/{d}/{i}.png")), 32 + i, 32);
        }
    }
    // lr so small that one step leaves every nonzero weight as it was
    std::fs::write(
        ws.join("cyc.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nndf = 4\ninit_from = \"horse2zebra\"\n[train]\nlr = 1e-30\nn_epochs = 1\n\
         n_epochs_decay = 0\n",
    )
    .unwrap();
    let train = || {
        run(bin()
            .current_dir(&ws)
            .args(["train", "cyc.toml", "--run-dir", "run", "--quiet"])
            .args(["--max-steps", "1"]))
    };
    // G_B comes from zebra2horse: not fetched yet, the run does not start
    let out = aiart(&ws, &base, &["model", "fetch", "horse2zebra"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = train();
    assert!(!out.status.success());
    assert!(text(&out).contains("G_B"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(ws.join("run"));
    let out = aiart(&ws, &base, &["model", "fetch", "zebra2horse"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = train();
    assert!(out.status.success(), "{}", text(&out));
    let ck = ws.join("run/checkpoints/step-00000001");
    let models = ws.join("models/cyclegan");
    for (net, model) in [("G_A", "horse2zebra"), ("G_B", "zebra2horse")] {
        let published = models.join(format!("{model}_pretrained/latest_net_G.pth"));
        assert!(
            tensor(&ck.join(format!("net_{net}.safetensors")), "model.1.weight")
                == tensor(&published, "model.1.weight"),
            "{net} starts from {model}"
        );
    }
    let _ = std::fs::remove_dir_all(&ws);
}
