//! `aiart dataset fetch NAME`: the reference's published datasets, from the addresses its download
//! scripts use (datasets/download_pix2pix_dataset.sh, download_cyclegan_dataset.sh), downloaded
//! with a progress bar into a `.part` file that a later call resumes, then unpacked into
//! `datasets/NAME` (through a temporary folder).

use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::path::Path;

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

pub fn url(name: &str) -> Option<String> {
    if PIX2PIX.contains(&name) {
        Some(format!(
            "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
        ))
    } else if CYCLEGAN.contains(&name) {
        Some(format!(
            "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
        ))
    } else {
        None
    }
}

pub fn fetch(name: &str, datasets: &Path, force: bool) -> Result<()> {
    let Some(url) = url(name) else {
        bail!(
            "unknown dataset `{name}`; the reference publishes: {}, {}",
            PIX2PIX.join(", "),
            CYCLEGAN.join(", ")
        );
    };
    let out = datasets.join(name);
    if out.exists() && !force {
        bail!("{} exists; pass --force to replace it", out.display());
    }
    std::fs::create_dir_all(datasets)?;
    let ext = if url.ends_with(".zip") {
        "zip"
    } else {
        "tar.gz"
    };
    let part = datasets.join(format!(".{name}.{ext}.part"));
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(10))
        .build();
    let mut req = agent.get(&url);
    if have > 0 {
        req = req.set("Range", &format!("bytes={have}-"));
    }
    let resp = req.call().map_err(|e| {
        anyhow::anyhow!("cannot download {url}: {e}\nthis machine may be offline: download the file elsewhere and unpack it into {}", out.display())
    })?;
    let resumed = resp.status() == 206;
    let total = resp
        .header("Content-Length")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| n + if resumed { have } else { 0 });
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(resumed)
        .write(true)
        .truncate(!resumed)
        .open(&part)?;
    let pb = indicatif::ProgressBar::new(total.unwrap_or(0));
    pb.set_position(if resumed { have } else { 0 });
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .context("download interrupted; run the command again to resume")?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n])?;
        pb.inc(n as u64);
    }
    pb.finish_and_clear();
    file.sync_all()?;
    let tmp = datasets.join(format!(".{name}.unpack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    if ext == "zip" {
        zip::ZipArchive::new(std::fs::File::open(&part)?)?.extract(&tmp)?;
    } else {
        untar(
            flate2::read::GzDecoder::new(std::fs::File::open(&part)?),
            &tmp,
        )?;
    }
    // the archives hold one folder named after the dataset
    let inner = tmp.join(name);
    let src = if inner.is_dir() { inner } else { tmp.clone() };
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::rename(&src, &out)?;
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::remove_file(&part)?;
    Ok(())
}

/// A minimal ustar reader: regular files and folders.
fn untar(mut r: impl Read, dst: &Path) -> Result<()> {
    let mut header = [0u8; 512];
    loop {
        if r.read_exact(&mut header).is_err() || header.iter().all(|&b| b == 0) {
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
        let size = u64::from_str_radix(&field(124, 136), 8).unwrap_or(0);
        let kind = header[156];
        let padded = size.div_ceil(512) * 512;
        let mut data = vec![0u8; padded as usize];
        r.read_exact(&mut data)?;
        if name.contains("..") {
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
