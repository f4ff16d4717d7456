//! `aiart model fetch NAME`: a published model downloaded as the reference's scripts do (the same
//! addresses), through `dataset fetch`'s resumable download (a `.part` file that a later call
//! continues with a Range request), checked (a generator of the architecture the registry says, a
//! TransformerNet; every zip entry inside the folder), and only then renamed into place, so a model
//! file is complete or absent.

use super::{Published, BASE_URL_ENV, STYLE_ZIP_FOLDER};
use crate::data::fetch::{download, Hints};
use crate::nn::gan::infer_gen_config;
use crate::nn::weights::StateDict;
use crate::preset::Kind;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// What `fetch` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// the files written (a fast style zip gives all four styles)
    Downloaded(Vec<PathBuf>),
    /// the model's file was there already (nothing downloaded)
    AlreadyThere(PathBuf),
}

/// Removes a temporary file or folder however fetching ends.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Downloads `model` into `models` (the workspace's `models/`), from the publisher or from `base`
/// in place of its host. A model already there is left alone unless `force`. Errors name the URL
/// and what to do: a cut download is resumed by running it again; offline, the message says where
/// to put the file by hand; a download that is not the model it should be is removed.
pub fn fetch(model: &Published, models: &Path, force: bool, base: Option<&str>) -> Result<Fetched> {
    let out = model.file(models);
    if out.is_file() && !force {
        return Ok(Fetched::AlreadyThere(out));
    }
    std::fs::create_dir_all(models).with_context(|| format!("creating {}", models.display()))?;
    let url = model.url(base);
    let mirror = format!(
        "check the name (`aiart model list`), or set {BASE_URL_ENV} (or --base-url) to a mirror"
    );
    if model.kind == Kind::FastStyle {
        let folder = out.parent().unwrap_or(models);
        let part = models.join(format!(".{}-{STYLE_ZIP_FOLDER}.zip.part", model.kind));
        let hints = Hints {
            mirror,
            by_hand: format!(
                "download {url} elsewhere and unzip it into {} (it holds {STYLE_ZIP_FOLDER}/ with \
                 the four styles)",
                folder.parent().unwrap_or(models).display()
            ),
        };
        download(&url, &part, &hints)?;
        return unpack_styles(&url, &part, models, force);
    }
    let part = models.join(format!(".{}-{}.pth.part", model.kind, model.name));
    let hints = Hints {
        mirror,
        by_hand: format!(
            "download {url} elsewhere and put it at {} (a folder the reference's script made, \
             checkpoints/{}_pretrained/, can be copied there as it is)",
            out.display(),
            model.name
        ),
    };
    download(&url, &part, &hints)?;
    if let Err(why) = check_generator(model, &part) {
        let _ = std::fs::remove_file(&part);
        bail!(
            "{url}: {why}; the download was removed and nothing was written to {}",
            out.display()
        );
    }
    let dir = out.parent().unwrap_or(models);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::rename(&part, &out)
        .with_context(|| format!("moving {} to {}", part.display(), out.display()))?;
    Ok(Fetched::Downloaded(vec![out]))
}

fn state_dict(file: &Path) -> Result<StateDict, String> {
    Ok(crate::nn::pth::read_pth(file)?.into_iter().collect())
}

/// Whether `file` holds the generator the registry says `model` is (architecture, norm, width).
fn check_generator(model: &Published, file: &Path) -> Result<(), String> {
    let want = model.gen_config().ok_or("not a generator")?;
    let sd = state_dict(file).map_err(|e| format!("not a PyTorch state dict ({e})"))?;
    match infer_gen_config(&sd) {
        Some(c) if c.arch == want.arch && c.norm == want.norm && c.ngf == want.ngf => Ok(()),
        Some(c) => Err(format!(
            "a {} generator (ngf {}, {:?} norm), not the published {} ({}, ngf {})",
            c.arch,
            c.ngf,
            c.norm,
            model.name,
            model.network(),
            want.ngf
        )),
        None => Err(format!(
            "not a generator of the reference ({} keys)",
            sd.len()
        )),
    }
}

/// The first key of a TransformerNet (pytorch/examples' names).
const TRANSFORMER_NET_KEY: &str = "conv1.conv2d.weight";

/// Unpacks pytorch/examples' zip into a temporary folder (every entry must stay inside it), checks
/// that the four styles are there as TransformerNets, and moves them into
/// `models/fast_neural_style/saved_models/` (a style already there is replaced only with `force`).
fn unpack_styles(url: &str, part: &Path, models: &Path, force: bool) -> Result<Fetched> {
    let styles: Vec<&Published> = super::ALL
        .iter()
        .filter(|m| m.kind == Kind::FastStyle)
        .collect();
    let tmp = Temp(models.join(format!(".{STYLE_ZIP_FOLDER}.unpack-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&tmp.0);
    let unpacked = unzip_inside(part, &tmp.0).and_then(|()| {
        styles
            .iter()
            .map(|m| {
                let f = find_file(&tmp.0, &format!("{}.pth", m.name))
                    .with_context(|| format!("no {}.pth in the archive", m.name))?;
                let sd = state_dict(&f).map_err(anyhow::Error::msg)?;
                if !sd.contains_key(TRANSFORMER_NET_KEY) {
                    bail!(
                        "{}.pth is not a TransformerNet (no {TRANSFORMER_NET_KEY})",
                        m.name
                    );
                }
                Ok((f, m.file(models)))
            })
            .collect::<Result<Vec<_>>>()
    });
    let moves = match unpacked {
        Ok(m) => m,
        Err(e) => {
            // a complete download that does not unpack would fail the same way when resumed
            let _ = std::fs::remove_file(part);
            bail!(
                "{url}: {e:#}; the archive was removed and nothing was written to {}",
                models.display()
            );
        }
    };
    let mut written = vec![];
    for (from, to) in moves {
        if to.is_file() && !force {
            continue;
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::rename(&from, &to)
            .with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
        written.push(to);
    }
    std::fs::remove_file(part).with_context(|| format!("removing {}", part.display()))?;
    Ok(Fetched::Downloaded(written))
}

/// Every entry of the zip `archive` into `dst`, refusing (before writing anything) an entry whose
/// path would leave `dst` (`../x`, an absolute path); each file's CRC is checked as it is read.
fn unzip_inside(archive: &Path, dst: &Path) -> Result<()> {
    let file =
        std::fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut z = zip::ZipArchive::new(file).context("not a zip archive")?;
    for i in 0..z.len() {
        let entry = z.by_index(i)?;
        if entry.enclosed_name().is_none() {
            bail!(
                "the archive's entry `{}` would be written outside the folder it unpacks into: \
                 refused",
                entry.name().unwrap_or_default()
            );
        }
    }
    for i in 0..z.len() {
        let mut entry = z.by_index(i)?;
        let Some(rel) = entry.enclosed_name() else {
            unreachable!("checked above")
        };
        let path = dst.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&path)?;
            continue;
        }
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)?;
        }
        let mut out =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        std::io::copy(&mut entry, &mut out)
            .with_context(|| format!("unpacking {}", rel_name(&path, dst)))?;
    }
    Ok(())
}

fn rel_name(path: &Path, dst: &Path) -> String {
    path.strip_prefix(dst).unwrap_or(path).display().to_string()
}

/// The first file named `name` under `dir` (folders in name order).
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries.iter().find_map(|p| {
        if p.is_dir() {
            find_file(p, name)
        } else {
            (p.file_name().is_some_and(|n| n == name)).then(|| p.clone())
        }
    })
}
