//! `aiart runs report` in a real browser: a tiny pix2pix run trained here, its report written, and
//! the page opened by headless Chromium (`--dump-dom`). The page's own script records on `<body>`
//! how many images it has and how many loaded, and how many points each curve's polylines hold as
//! the browser parsed them; the test compares those with the run's files. Skips with a reason
//! where no Chromium is installed (`.ci/run` installs Debian's `chromium`).

mod common;
use common::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The first of `chromium`, `chromium-browser`, `google-chrome` on PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// The page as the browser left it after its load event (`--dump-dom`), waited for with a
/// deadline; the browser's profile lives in a folder of its own, removed after.
fn dump_dom(browser: &Path, page: &Path, profile: &Path) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            // as root (CI's containers) Chromium refuses to start sandboxed
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// The value of `attr="…"` on the dumped `<body>`.
fn body_attr(dom: &str, attr: &str) -> String {
    let body = &dom[dom.find("<body").expect("a body")..];
    let body = &body[..body.find('>').unwrap()];
    let key = format!("{attr}=\"");
    let at = body
        .find(&key)
        .unwrap_or_else(|| panic!("no {attr} on <body>: the page's script did not run: {body}"));
    let rest = &body[at + key.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[test]
fn a_report_renders_in_a_browser_with_its_images_and_every_point() {
    let ws = temp_workspace("report");
    let train = ws.join("datasets/inv/train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..4 {
        aligned(i).save(train.join(format!("{i}.png"))).unwrap();
    }
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::write(
        ws.join("presets/p2p.toml"),
        "kind = \"pix2pix\"\n\
         [data]\ndataroot = \"datasets/inv\"\nload_size = 36\ncrop_size = 32\n\
         [model]\nnetG = \"unet_32\"\nngf = 8\nndf = 8\n[train]\nn_epochs = 1\nn_epochs_decay = 1\n\
         [log]\nsample_every = 2\ncheckpoint_every = 4\n",
    )
    .unwrap();
    let out = run(bin().current_dir(&ws).args([
        "train",
        "presets/p2p.toml",
        "--run-dir",
        "runs/p2p",
        "--quiet",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let run_dir = ws.join("runs/p2p");
    // text to escape in the effective preset (the trainer writes it without the preset's comments)
    let preset = run_dir.join("preset.toml");
    let effective = std::fs::read_to_string(&preset).unwrap();
    std::fs::write(
        &preset,
        format!("# to escape: <b> & \"quotes\"\n{effective}"),
    )
    .unwrap();
    // one checkpoint's sample made large, so the page downscales it
    let big = image::RgbImage::from_fn(1200, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    big.save(run_dir.join("samples/step-00000004.png")).unwrap();

    // the output rule: a file that is not a report is kept without --force, a report is replaced
    let notes = ws.join("notes.html");
    std::fs::write(&notes, "<p>mine</p>").unwrap();
    let out = run(bin()
        .current_dir(&ws)
        .args(["runs", "report", "p2p", "-o", "notes.html"]));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "<p>mine</p>");
    let out = run(bin().current_dir(&ws).args([
        "runs",
        "report",
        "p2p",
        "-o",
        "runs/p2p/preset.toml",
        "--force",
    ]));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("preset.toml"), "{}", text(&out));
    for _ in 0..2 {
        let out = run(bin().current_dir(&ws).args(["runs", "report", "p2p"]));
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            last_line(&out).ends_with("runs/p2p/report.html"),
            "{}",
            text(&out)
        );
    }
    let page_path = run_dir.join("report.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.contains("&lt;b&gt; &amp; &quot;quotes&quot;"));
    assert!(
        page.contains("width=\"512\" height=\"256\""),
        "the 1200×600 sample at 512 px"
    );

    let Some(browser) = chromium() else {
        eprintln!(
            "skipped the browser half: no chromium, chromium-browser or google-chrome on PATH \
             (Debian: apt-get install chromium; .ci/run installs it)"
        );
        let _ = std::fs::remove_dir_all(&ws);
        return;
    };
    let profile = std::env::temp_dir().join(format!("aiart-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let dom = dump_dom(&browser, &page_path, &profile);
    let _ = std::fs::remove_dir_all(&profile);

    // it rendered, and its own script ran after every image was loaded
    assert!(dom.contains("<h1>p2p</h1>"), "{dom}");
    let images: usize = body_attr(&dom, "data-images").parse().unwrap();
    let loaded: usize = body_attr(&dom, "data-images-loaded").parse().unwrap();
    let checkpoints = std::fs::read_dir(run_dir.join("checkpoints"))
        .unwrap()
        .count();
    assert!(checkpoints >= 2, "checkpoints at steps 4 and 8");
    assert!(images >= checkpoints, "one image per checkpoint: {images}");
    assert_eq!(loaded, images, "every image loads");

    // every curve has the run's points: each loss's finite values, and the lr of every record
    let records = read_jsonl(&run_dir.join("metrics.jsonl"));
    assert_eq!(records.len(), 8, "4 pairs × 2 epochs");
    let curves: Vec<(String, usize)> = body_attr(&dom, "data-curves")
        .split(' ')
        .map(|c| {
            let (name, n) = c.split_once('=').unwrap();
            (name.to_string(), n.parse().unwrap())
        })
        .collect();
    let names = ["G_GAN", "G_L1", "D_real", "D_fake", "lr"];
    for name in names {
        let want = records
            .iter()
            .filter(|r| {
                r.get(name)
                    .and_then(|v| v.as_f64())
                    .is_some_and(f64::is_finite)
            })
            .count();
        assert_eq!(want, 8, "{name}");
        assert!(
            curves.contains(&(name.to_string(), want)),
            "{name} has {want} points: {curves:?}"
        );
    }
    assert_eq!(curves.len(), names.len(), "{curves:?}");
    let _ = std::fs::remove_dir_all(&ws);
}
