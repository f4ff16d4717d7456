//! `aiart runs report RUN`: one run's results page as one self-contained HTML file (page.rs
//! builds it; here it is read from the run directory and written). The dashboard's Runs screen
//! writes the same page for the selected run.
//!
//! Limits that keep the page reasonable: at most [`MAX_SHOTS`] images (one per checkpoint, plus
//! the newest sample when it is newer than the last checkpoint; spread evenly over the run's
//! checkpoints, first and last kept, when there are more), each at most [`MAX_SIDE`] px on its
//! longest side (larger ones are downscaled, the page says from what size). Every metrics record
//! is charted.

pub mod page;

use crate::atomic::write_atomic;
use crate::data::image_io;
use crate::run::list::RunSummary;
use crate::run::{clock, metrics, RunDir};
use page::{Page, Shot, Timing};
use std::path::{Path, PathBuf};

/// The longest side, px, an image is embedded at; larger samples are downscaled to it.
pub const MAX_SIDE: u32 = 512;
/// The most images a page embeds.
pub const MAX_SHOTS: usize = 48;
/// The report's file inside the run directory when no other path is chosen.
pub const DEFAULT_NAME: &str = "report.html";

/// Why a report was not written; each names the path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}: not a run (no readable run.json)")]
    NotARun(PathBuf),
    #[error(
        "{0} exists and is not a report of aiart; pass --force to replace it, or choose another \
         path with -o"
    )]
    Exists(PathBuf),
    #[error(
        "{output}: it is the run's own {input}; writing it would replace it, which is refused \
         even with --force. Choose another path with -o"
    )]
    IsRunFile { output: PathBuf, input: String },
    #[error("{0} is a folder; name the report's file with -o FILE")]
    IsFolder(PathBuf),
    #[error("{0}: the folder to write the report in is not there; make it or choose another -o")]
    NoFolder(PathBuf),
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: could not write the report: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a report of `run` goes: `out`, or `<run>/report.html`.
pub fn output_path(run: &Path, out: Option<&Path>) -> PathBuf {
    out.map_or_else(|| run.join(DEFAULT_NAME), Path::to_path_buf)
}

/// Whether the file at `path` is a report an earlier `runs report` wrote (its generator mark in
/// its first 4 KiB).
fn is_report(path: &Path) -> bool {
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let mark = format!("<meta name=\"generator\" content=\"{}\">", page::GENERATOR);
    String::from_utf8_lossy(&head[..n]).contains(&mark)
}

/// Refuses an output before any work: one of the run's own files (even with `force`), a folder
/// that is not there, an existing file that is not a previous report (without `force`).
pub fn check_output(run: &Path, out: &Path, force: bool) -> Result<(), ReportError> {
    let target = crate::data::outputs::resolved(out);
    let dir = RunDir::open(run);
    for (input, path) in [
        ("run.json", dir.run_json()),
        ("preset.toml", dir.preset()),
        ("status.json", dir.status()),
        ("metrics.jsonl", dir.metrics()),
        ("events.jsonl", dir.events()),
        ("control.jsonl", dir.control()),
        ("samples/", dir.samples()),
        ("checkpoints/", dir.checkpoints()),
    ] {
        let p = crate::data::outputs::resolved(&path);
        if target == p || target.starts_with(&p) && input.ends_with('/') {
            return Err(ReportError::IsRunFile {
                output: out.to_path_buf(),
                input: input.into(),
            });
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(ReportError::NoFolder(parent));
    }
    if out.is_dir() {
        return Err(ReportError::IsFolder(out.to_path_buf()));
    }
    if out.exists() && !force && !is_report(out) {
        return Err(ReportError::Exists(out.to_path_buf()));
    }
    Ok(())
}

/// The images of a run, newest last: each complete checkpoint's (style transfer's own
/// `image.png`, else the run's sample at its step), then the newest sample when newer than the
/// last checkpoint; at most [`MAX_SHOTS`], spread evenly (first and last kept). Each is (step,
/// caption, file).
fn shot_files(dir: &RunDir) -> Vec<(u64, String, PathBuf)> {
    let mut files = vec![];
    for (step, path) in dir.list_checkpoints().unwrap_or_default() {
        if !path.join("meta.json").is_file() {
            continue;
        }
        let own = path.join("image.png");
        let sample = dir.sample_path(step);
        if own.is_file() {
            files.push((step, "checkpoint image".to_string(), own));
        } else if sample.is_file() {
            files.push((step, "sample at checkpoint".to_string(), sample));
        }
    }
    if files.len() > MAX_SHOTS {
        let n = files.len();
        let keep: Vec<usize> = (0..MAX_SHOTS)
            .map(|i| i * (n - 1) / (MAX_SHOTS - 1))
            .collect();
        files = keep.into_iter().map(|i| files[i].clone()).collect();
    }
    let newest = std::fs::read_dir(dir.samples())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name
                .strip_prefix("step-")?
                .strip_suffix(".png")?
                .parse::<u64>()
                .ok()?;
            Some((step, e.path()))
        })
        .max();
    if let Some((step, path)) = newest {
        if files.last().is_none_or(|(s, _, _)| *s < step) {
            if files.len() == MAX_SHOTS {
                files.remove(files.len() - 2);
            }
            files.push((step, "newest sample".into(), path));
        }
    }
    files
}

/// One image read and, past [`MAX_SIDE`], downscaled; PNG-encoded.
fn shot(step: u64, caption: String, path: &Path) -> Result<Shot, String> {
    let (img, _) = image_io::load_rgb(path).map_err(|e| e.to_string())?;
    let (w, h) = img.dimensions();
    let (img, original) = if w.max(h) > MAX_SIDE {
        (image_io::resize_longest(img, MAX_SIDE), Some((w, h)))
    } else {
        (img, None)
    };
    let mut png = vec![];
    image::DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(Shot {
        step,
        caption,
        png,
        width: img.width(),
        height: img.height(),
        original,
    })
}

/// The page of the run `summary` describes, read from its directory now.
pub fn build(summary: &RunSummary) -> Result<String, ReportError> {
    let dir = RunDir::open(&summary.path);
    let info = dir
        .read_info()
        .map_err(|_| ReportError::NotARun(summary.path.clone()))?;
    let records = metrics::read_all(&dir.metrics()).map_err(|source| ReportError::Read {
        path: dir.metrics(),
        source,
    })?;
    let preset = match std::fs::read_to_string(dir.preset()) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ReportError::Read {
                path: dir.preset(),
                source,
            })
        }
    };
    let mut shots = vec![];
    let mut missing = vec![];
    for (step, caption, path) in shot_files(&dir) {
        match shot(step, caption, &path) {
            Ok(s) => shots.push(s),
            Err(why) => missing.push((path.display().to_string(), why)),
        }
    }
    let now = clock::now();
    let ended = (!summary.alive() && !summary.not_started()).then_some(summary.updated);
    let timing = Timing::of(info.started, ended, now, &records);
    Ok(page::html(&Page {
        summary,
        device: &info.device,
        timing,
        records: &records,
        shots: &shots,
        missing: &missing,
        preset: &preset,
        made: now,
    }))
}

/// Writes the report of the run `summary` describes to `out` (atomically: a reader never sees
/// half a page), after [`check_output`]; returns the path written.
pub fn write(summary: &RunSummary, out: &Path, force: bool) -> Result<PathBuf, ReportError> {
    check_output(&summary.path, out, force)?;
    let html = build(summary)?;
    write_atomic(out, html.as_bytes()).map_err(|source| ReportError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(out.to_path_buf())
}
