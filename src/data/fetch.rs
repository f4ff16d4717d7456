//! `aiart dataset fetch NAME`: the reference's published datasets, from the addresses its download
//! scripts use (datasets/download_pix2pix_dataset.sh, download_cyclegan_dataset.sh), and the COCO
//! images that fast style transfer trains on (images.cocodataset.org, as pytorch/examples'
//! fast_neural_style README points to), downloaded with a progress bar into a `.part` file that a
//! later call resumes (HTTP Range), then unpacked into a temporary folder, checked, and renamed to
//! `datasets/NAME`, so a dataset folder is complete or absent.

use anyhow::{anyhow, bail, Context, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub const PIX2PIX: [&str; 5] = ["facades", "maps", "edges2shoes", "cityscapes", "night2day"];
pub const CYCLEGAN: [&str; 7] = [
    "horse2zebra",
    "apple2orange",
    "summer2winter_yosemite",
    "monet2photo",
    "cezanne2photo",
    "ukiyoe2photo",
    "vangogh2photo",
];

/// COCO's image sets for fast style transfer: (name, archive, what it holds). The reference trains
/// on train2014; val2017 is a sixteenth of it for a quicker start. Each unpacks to
/// `datasets/NAME/<archive>/`, the folder-of-a-folder that the reference's ImageFolder reads. The
/// zip's CRCs check every file as it unpacks.
pub const COCO: [(&str, &str, &str); 2] = [
    ("coco-train2014", "train2014", "82,783 images, 13 GB"),
    ("coco-val2017", "val2017", "5,000 images, 0.8 GB"),
];

/// Where the reference's scripts download from.
pub const DEFAULT_BASE_URL: &str = "http://efrosgans.eecs.berkeley.edu";
/// Where COCO's images are published.
pub const COCO_BASE_URL: &str = "http://images.cocodataset.org";
/// Overrides the base address (a mirror, or a test's local server).
pub const BASE_URL_ENV: &str = "AIART_DATASETS_URL";

/// The base address in force for dataset `name`: `--base-url`, else `$AIART_DATASETS_URL`, else
/// its publisher's (the reference's, or COCO's).
pub fn base_url_for(flag: Option<&str>, name: &str) -> String {
    let default = if coco(name).is_some() {
        COCO_BASE_URL
    } else {
        DEFAULT_BASE_URL
    };
    flag.map(str::to_string)
        .or_else(|| std::env::var(BASE_URL_ENV).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// The base address in force for the reference's datasets.
pub fn base_url(flag: Option<&str>) -> String {
    base_url_for(flag, "")
}

/// COCO's (archive, what it holds) for a name of `COCO`.
fn coco(name: &str) -> Option<(&'static str, &'static str)> {
    COCO.iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, archive, what)| (archive, what))
}

pub fn url(base: &str, name: &str) -> Option<String> {
    if PIX2PIX.contains(&name) {
        Some(format!("{base}/pix2pix/datasets/{name}.tar.gz"))
    } else if CYCLEGAN.contains(&name) {
        Some(format!("{base}/cyclegan/datasets/{name}.zip"))
    } else {
        coco(name).map(|(archive, _)| format!("{base}/zips/{archive}.zip"))
    }
}

/// Every name `fetch` knows, for messages.
pub fn known_names() -> String {
    let coco: Vec<&str> = COCO.iter().map(|c| c.0).collect();
    format!(
        "the reference publishes {}, {}; fast style transfer trains on {}",
        PIX2PIX.join(", "),
        CYCLEGAN.join(", "),
        coco.join(", ")
    )
}

/// The command that gets a published dataset, for error messages; None for other names.
pub fn fetch_hint(name: &str) -> Option<String> {
    (PIX2PIX.contains(&name) || CYCLEGAN.contains(&name) || coco(name).is_some())
        .then(|| format!("aiart dataset fetch {name}"))
}

/// Why a preset's dataset folder cannot be used yet, with the command that gets it when it is one
/// of the reference's published datasets; None when the folder is there.
pub fn missing_dataset(root: &Path) -> Option<String> {
    if root.is_dir() {
        return None;
    }
    let name = root.file_name()?.to_string_lossy().into_owned();
    Some(match fetch_hint(&name) {
        Some(cmd) => format!(
            "needs dataset {} (not there yet)\nget it with: {cmd}",
            root.display()
        ),
        None => format!(
            "needs dataset {}: no such folder (see `aiart dataset list`)",
            root.display()
        ),
    })
}

/// `missing_dataset` for a preset's dataset, with its paths relative to `workspace`.
pub fn preset_needs(p: &crate::preset::Preset, workspace: &Path) -> Option<String> {
    match p {
        crate::preset::Preset::Gan(g) => {
            missing_dataset(&crate::workspace::resolve_path(workspace, &g.data.dataroot))
        }
        crate::preset::Preset::FastStyle(f) => {
            missing_dataset(&crate::workspace::resolve_path(workspace, &f.data.dataset))
        }
        _ => None,
    }
}

/// Every input file or folder a preset names that is not there, one line each, naming its field:
/// `data.style_image: datasets/style/nope.jpg: no such file`; a missing dataset says how to get
/// it (`missing_dataset`). Paths are relative to `workspace`. Both `preset check` and `train` ask
/// this before any work.
pub fn preset_missing_inputs(p: &crate::preset::Preset, workspace: &Path) -> Vec<String> {
    use crate::preset::Preset;
    use crate::workspace::resolve_path;
    let mut out = vec![];
    let mut dataset = |field: &str, dir: &Path| {
        if let Some(why) = missing_dataset(&resolve_path(workspace, dir)) {
            out.push(format!("{field}: {why}").replace('\n', "; "));
        }
    };
    match p {
        Preset::Gan(g) => dataset("data.dataroot", &g.data.dataroot),
        Preset::FastStyle(f) => dataset("data.dataset", &f.data.dataset),
        Preset::Nst(_) => {}
    }
    let mut need = |field: String, given: &Path, folder: bool| {
        if let Some(why) = missing_path(&resolve_path(workspace, given), folder) {
            out.push(format!("{field}: {}: {why}", given.display()));
        }
    };
    match p {
        Preset::Gan(g) => {
            if let Some(d) = &g.model.init_from {
                if !crate::data::models::init_from(workspace, d).exists() {
                    let published = d.to_str().and_then(|n| crate::data::models::lookup(n).ok());
                    let hint = published.map_or(String::new(), |m| {
                        format!(" (published: get it with `aiart model fetch {}`)", m.name)
                    });
                    out.push(format!(
                        "model.init_from: {}: no such file or folder{hint}",
                        d.display()
                    ));
                }
            }
        }
        Preset::FastStyle(f) => {
            need("data.style_image".into(), &f.data.style_image, false);
            if !f.data.sample_images.as_os_str().is_empty() {
                need("data.sample_images".into(), &f.data.sample_images, true);
            } else {
                // the samples come out of the dataset: some photos must be left to train on
                let dir = resolve_path(workspace, &f.data.dataset);
                let n = crate::data::photos::list_photos(&dir).len();
                if let Some(why) = (n > 0)
                    .then(|| {
                        crate::data::photos::held_out_leaves_none(
                            Some(&dir),
                            n,
                            f.data.sample_count,
                        )
                    })
                    .flatten()
                {
                    out.push(format!("data.sample_count: {why}"));
                }
            }
        }
        Preset::Nst(n) => {
            if let Some(c) = &n.data.content {
                need("data.content".into(), c, false);
            }
            let many = n.data.style.len() > 1;
            for (i, s) in n.data.style.iter().enumerate() {
                let field = if many {
                    format!("data.style[{i}]")
                } else {
                    "data.style".into()
                };
                need(field, s, false);
            }
            if !matches!(n.data.init.as_str(), "content" | "noise") {
                need("data.init".into(), Path::new(&n.data.init), false);
            }
        }
    }
    out
}

/// Why `path` cannot be read as a file (`folder` false) or a folder; None when it can.
fn missing_path(path: &Path, folder: bool) -> Option<&'static str> {
    match (path.exists(), path.is_dir(), folder) {
        (false, _, false) => Some("no such file"),
        (false, _, true) => Some("no such folder"),
        (true, true, false) => Some("is a folder, not a file"),
        (true, false, true) => Some("is a file, not a folder"),
        _ => None,
    }
}

/// What `fetch` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    Downloaded,
    AlreadyThere,
}

/// Removes a temporary unpacking folder however unpacking ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn fetch(name: &str, datasets: &Path, force: bool, base: &str) -> Result<Fetched> {
    let Some(url) = url(base, name) else {
        bail!("unknown dataset `{name}`; {}", known_names());
    };
    let out = datasets.join(name);
    if out.exists() && !force {
        return Ok(Fetched::AlreadyThere);
    }
    std::fs::create_dir_all(datasets)?;
    let ext = if url.ends_with(".zip") {
        "zip"
    } else {
        "tar.gz"
    };
    let part = datasets.join(format!(".{name}.{ext}.part"));
    if let Some((archive, what)) = coco(name) {
        eprintln!("COCO {archive}: {what}, from {url}");
    }
    let hints = Hints {
        mirror: format!(
            "check the dataset name, or set {BASE_URL_ENV} (or --base-url) to a mirror"
        ),
        by_hand: format!(
            "download the file elsewhere and unpack it into {}",
            out.display()
        ),
    };
    download(&url, &part, &hints)?;
    let tmp = TempDir(datasets.join(format!(".{name}.unpack-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&tmp.0);
    std::fs::create_dir_all(&tmp.0)?;
    if let Some((archive, _)) = coco(name) {
        eprintln!("unpacking {archive}.zip …");
    }
    let unpacked = if ext == "zip" {
        zip::ZipArchive::new(std::fs::File::open(&part)?)
            .and_then(|mut z| z.extract(&tmp.0))
            .map_err(anyhow::Error::from)
    } else {
        untar(
            flate2::read::GzDecoder::new(std::fs::File::open(&part)?),
            &tmp.0,
        )
    };
    if let Err(e) = unpacked {
        // a complete download that does not unpack would fail the same way when resumed
        let _ = std::fs::remove_file(&part);
        bail!(
            "{url}: the downloaded archive is corrupt or truncated ({e:#}); it was removed and \
             nothing was written to {}: run the command again",
            out.display()
        );
    }
    // the reference's archives hold one folder named after the dataset; COCO's its image folder,
    // kept inside datasets/NAME as the reference's ImageFolder wants it
    let inner = tmp.0.join(name);
    let src = if inner.is_dir() { inner } else { tmp.0.clone() };
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::rename(&src, &out)?;
    std::fs::remove_file(&part)?;
    Ok(Fetched::Downloaded)
}

/// What a failed download's message tells the user to do next.
pub struct Hints {
    /// after a refusal by the server (404 …): check the name, or where to point a mirror
    pub mirror: String,
    /// when the server cannot be reached: how to get the file by hand and where to put it
    pub by_hand: String,
}

/// Downloads `url` into `part`, continuing a partial file with a Range request; a server that
/// ignores Range sends the whole file, which then replaces the partial one. A download cut off
/// keeps `part` for the next call; the errors name the URL and say what to do (`hints`).
pub fn download(url: &str, part: &Path, hints: &Hints) -> Result<()> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(10))
        .timeout_read(std::time::Duration::from_secs(60))
        .build();
    let mut have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let resp = loop {
        let mut req = agent.get(url);
        if have > 0 {
            req = req.set("Range", &format!("bytes={have}-"));
        }
        match req.call() {
            Ok(r) => break r,
            // the partial file is already whole (or longer than the file now is): start over
            Err(ureq::Error::Status(416, _)) if have > 0 => {
                std::fs::remove_file(part)?;
                have = 0;
            }
            Err(ureq::Error::Status(code, r)) => bail!(
                "{url}: the server answered {code} {}; {}",
                r.status_text(),
                hints.mirror
            ),
            Err(e) => bail!(
                "cannot download {url}: {e}\nthis machine may be offline: {}",
                hints.by_hand
            ),
        }
    };
    let resumed = resp.status() == 206;
    if !resumed {
        have = 0;
    }
    let total = resp
        .header("Content-Length")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| n + have);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(resumed)
        .write(true)
        .truncate(!resumed)
        .open(part)?;
    let pb = indicatif::ProgressBar::new(total.unwrap_or(0));
    pb.set_position(have);
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut got = have;
    let interrupted = |got: u64| {
        anyhow!(
            "{url}: the download was cut off after {got} bytes; run the command again to resume \
             it (the partial file is kept: {})",
            part.display()
        )
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                file.sync_all()?;
                return Err(anyhow::Error::new(e).context(interrupted(got)));
            }
        };
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n])?;
        got += n as u64;
        pb.set_position(got);
    }
    pb.finish_and_clear();
    file.sync_all()?;
    if total.is_some_and(|t| got < t) {
        return Err(interrupted(got));
    }
    Ok(())
}

/// A minimal ustar reader: regular files and folders. The archive must end with its zero block,
/// so a truncated one is an error, never a dataset with files missing.
fn untar(mut r: impl Read, dst: &Path) -> Result<()> {
    let mut header = [0u8; 512];
    loop {
        r.read_exact(&mut header)
            .context("the archive ends before its end-of-archive block")?;
        if header.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let field = |a: usize, b: usize| {
            String::from_utf8_lossy(&header[a..b])
                .trim_end_matches('\0')
                .trim()
                .to_string()
        };
        let mut name = field(0, 100);
        let prefix = field(345, 500);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        let size = u64::from_str_radix(&field(124, 136), 8)
            .with_context(|| format!("{name}: a bad size field in the archive"))?;
        let kind = header[156];
        let padded = size.div_ceil(512) * 512;
        let mut data = vec![0u8; padded as usize];
        r.read_exact(&mut data)
            .with_context(|| format!("{name}: the archive ends inside this file"))?;
        if name.contains("..") || name.starts_with('/') {
            bail!("unsafe path in the archive: {name}");
        }
        let path = dst.join(&name);
        match kind {
            b'5' => std::fs::create_dir_all(&path)?,
            b'0' | 0 => {
                if let Some(p) = path.parent() {
                    std::fs::create_dir_all(p)?;
                }
                std::fs::write(&path, &data[..size as usize])?;
            }
            _ => {}
        }
    }
}
