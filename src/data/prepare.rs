//! `aiart dataset prepare …`: build or reshape datasets. Every command writes into a temporary
//! folder beside the target and renames it into place at the end, so an interrupted run leaves
//! nothing half-made; an existing target is replaced only with `force`.

use super::dataset::list_images;
use super::edges::canny;
use super::image_io;
use crate::rng::SeededRng;
use anyhow::{bail, Context, Result};
use image::RgbImage;
use std::path::{Path, PathBuf};

fn bar(n: usize, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(n as u64)
    }
}

/// Runs `fill` on a temporary folder, then puts it at `out`.
fn into_place(out: &Path, force: bool, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if out.exists() && !force {
        bail!("{} exists; pass --force to replace it", out.display());
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    if let Err(e) = fill(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if out.exists() {
        let old = out.with_file_name(format!(".{name}.old-{}", std::process::id()));
        std::fs::rename(out, &old)?;
        std::fs::rename(&tmp, out)?;
        std::fs::remove_dir_all(&old)?;
    } else {
        if let Some(p) = out.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::rename(&tmp, out)?;
    }
    Ok(())
}

fn stem_png(p: &Path) -> String {
    format!(
        "{}.png",
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    )
}

fn side_by_side(a: &RgbImage, b: &RgbImage) -> RgbImage {
    let b = image_io::resize_exact(b.clone(), a.width(), a.height());
    let mut ab = RgbImage::new(a.width() * 2, a.height());
    image::imageops::replace(&mut ab, a, 0, 0);
    image::imageops::replace(&mut ab, &b, a.width() as i64, 0);
    ab
}

/// The reference's combine_A_and_B: files of the same name in A and B, side by side (A left);
/// split subfolders (train/, val/, test/) are kept.
pub fn combine(a: &Path, b: &Path, out: &Path, force: bool, quiet: bool) -> Result<usize> {
    let splits: Vec<String> = ["train", "val", "test"]
        .iter()
        .filter(|s| a.join(s).is_dir())
        .map(|s| s.to_string())
        .collect();
    let splits = if splits.is_empty() {
        vec![String::new()]
    } else {
        splits
    };
    let mut jobs: Vec<(PathBuf, PathBuf, String)> = vec![];
    for s in &splits {
        for fa in list_images(&a.join(s)) {
            let rel = fa.strip_prefix(a.join(s)).unwrap_or(&fa).to_path_buf();
            let fb = b.join(s).join(&rel);
            if fb.is_file() {
                jobs.push((fa, fb, s.clone()));
            }
        }
    }
    if jobs.is_empty() {
        bail!(
            "{} and {}: no files with the same name to pair",
            a.display(),
            b.display()
        );
    }
    let n = jobs.len();
    let pb = bar(n, quiet);
    into_place(out, force, |tmp| {
        for (fa, fb, s) in &jobs {
            let (ia, _) = image_io::load_rgb(fa)?;
            let (ib, _) = image_io::load_rgb(fb)?;
            std::fs::create_dir_all(tmp.join(s))?;
            side_by_side(&ia, &ib).save(tmp.join(s).join(stem_png(fa)))?;
            pb.inc(1);
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    Ok(n)
}

/// edges → photo pairs for pix2pix: A = Canny edges (black on white), B = the photo, in out/train/.
pub fn edges(photos: &Path, out: &Path, force: bool, quiet: bool) -> Result<usize> {
    let files = list_images(photos);
    if files.is_empty() {
        bail!("{}: holds no images", photos.display());
    }
    let pb = bar(files.len(), quiet);
    let mut n = 0;
    into_place(out, force, |tmp| {
        std::fs::create_dir_all(tmp.join("train"))?;
        for f in &files {
            match image_io::load_rgb(f) {
                Ok((img, _)) => {
                    let e = image::DynamicImage::ImageLuma8(canny(&img, 1.4, 0.08, 0.2)).to_rgb8();
                    side_by_side(&e, &img).save(tmp.join("train").join(stem_png(f)))?;
                    n += 1;
                }
                Err(e) => eprintln!("warning: skipping {e}"),
            }
            pb.inc(1);
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    Ok(n)
}

/// Moves a fraction of the training images to the test split (train/→test/, trainA/→testA/ …;
/// a flat folder of images becomes train/ and test/).
pub fn split(dir: &Path, test: f64, seed: u64, quiet: bool) -> Result<usize> {
    if !(0.0..1.0).contains(&test) {
        bail!("--test must be in [0, 1), got {test}");
    }
    let layout = super::inspect::layout_of(dir);
    let pairs: Vec<(PathBuf, &str, &str)> = match layout {
        super::inspect::Layout::Aligned => vec![(dir.join("train"), "train", "test")],
        super::inspect::Layout::Unaligned => vec![
            (dir.join("trainA"), "trainA", "testA"),
            (dir.join("trainB"), "trainB", "testB"),
        ],
        super::inspect::Layout::Images => vec![(dir.to_path_buf(), "train", "test")],
        super::inspect::Layout::Unknown => bail!("{}: no images to split", dir.display()),
    };
    let mut rng = SeededRng::new(seed);
    let mut moved = 0;
    let staging = dir.join(format!(".split.tmp-{}", std::process::id()));
    std::fs::create_dir_all(&staging)?;
    let mut plan: Vec<(PathBuf, PathBuf)> = vec![];
    for (src, train, testname) in &pairs {
        let mut files = list_images(src);
        files.retain(|f| f.parent() == Some(src.as_path()));
        for i in (1..files.len()).rev() {
            files.swap(i, rng.below(i + 1));
        }
        let k = ((files.len() as f64) * test).round() as usize;
        for (i, f) in files.iter().enumerate() {
            let to = if i < k { testname } else { train };
            plan.push((
                f.clone(),
                staging.join(to).join(f.file_name().expect("a file")),
            ));
        }
    }
    let pb = bar(plan.len(), quiet);
    for (from, to) in &plan {
        std::fs::create_dir_all(to.parent().expect("in a split"))?;
        std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(|_| ()))?;
        pb.inc(1);
    }
    // the new layout is complete: swap it in
    for (from, to) in &plan {
        let split_dir = to
            .parent()
            .expect("in a split")
            .file_name()
            .expect("named")
            .to_owned();
        std::fs::create_dir_all(dir.join(&split_dir))?;
        let dest = dir.join(&split_dir).join(to.file_name().expect("a file"));
        if *from != dest {
            std::fs::rename(to, &dest)?;
            std::fs::remove_file(from)?;
        }
        if split_dir.to_string_lossy().starts_with("test") {
            moved += 1;
        }
    }
    std::fs::remove_dir_all(&staging)?;
    pb.finish_and_clear();
    Ok(moved)
}

/// Every image resized so that its longest side is `size` (A|B pairs: each half).
pub fn resize(
    dir: &Path,
    size: u32,
    out: Option<&Path>,
    force: bool,
    quiet: bool,
) -> Result<usize> {
    let files = list_images(dir);
    if files.is_empty() {
        bail!("{}: holds no images", dir.display());
    }
    let aligned = super::inspect::layout_of(dir) == super::inspect::Layout::Aligned;
    let target = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.to_path_buf());
    let in_place = out.is_none();
    let pb = bar(files.len(), quiet);
    into_place(&target, force || in_place, |tmp| {
        for f in &files {
            let rel = f.strip_prefix(dir).context("inside the folder")?;
            let dst = tmp.join(rel).with_extension("png");
            std::fs::create_dir_all(dst.parent().expect("a file"))?;
            let (img, _) = image_io::load_rgb(f)?;
            let is_pair = aligned && img.width() == 2 * img.height();
            let outimg = if is_pair {
                let h = img.height();
                let a = image::imageops::crop_imm(&img, 0, 0, h, h).to_image();
                let b = image::imageops::crop_imm(&img, h, 0, h, h).to_image();
                side_by_side(
                    &image_io::resize_longest(a, size),
                    &image_io::resize_longest(b, size),
                )
            } else {
                image_io::resize_longest(img, size)
            };
            outimg.save(&dst)?;
            pb.inc(1);
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("aiart-prep-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn combine_edges_split_resize() {
        let d = tmp("all");
        for (sub, v) in [("A/train", 10u8), ("B/train", 200u8)] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            for i in 0..4 {
                RgbImage::from_pixel(16, 16, image::Rgb([v, v, v]))
                    .save(d.join(sub).join(format!("{i}.png")))
                    .unwrap();
            }
        }
        assert_eq!(
            combine(&d.join("A"), &d.join("B"), &d.join("AB"), false, true).unwrap(),
            4
        );
        let ab = image::open(d.join("AB/train/0.png")).unwrap().to_rgb8();
        assert_eq!(ab.dimensions(), (32, 16));
        assert_eq!((ab.get_pixel(0, 0)[0], ab.get_pixel(31, 0)[0]), (10, 200));
        assert!(
            combine(&d.join("A"), &d.join("B"), &d.join("AB"), false, true)
                .unwrap_err()
                .to_string()
                .contains("--force")
        );

        let photos = d.join("photos");
        std::fs::create_dir_all(&photos).unwrap();
        for i in 0..10 {
            RgbImage::from_fn(24, 24, |x, _| {
                image::Rgb(if x < 12 + i % 3 {
                    [0, 0, 0]
                } else {
                    [250, 250, 250]
                })
            })
            .save(photos.join(format!("p{i}.png")))
            .unwrap();
        }
        assert_eq!(edges(&photos, &d.join("e2p"), false, true).unwrap(), 10);
        let pair = image::open(d.join("e2p/train/p0.png")).unwrap().to_rgb8();
        assert_eq!(pair.dimensions(), (48, 24));
        assert!(
            pair.get_pixel(12, 12)[0] < 128 || pair.get_pixel(11, 12)[0] < 128,
            "an edge at the step"
        );
        assert_eq!(split(&d.join("e2p"), 0.2, 1, true).unwrap(), 2);
        assert_eq!(list_images(&d.join("e2p/test")).len(), 2);
        assert_eq!(list_images(&d.join("e2p/train")).len(), 8);
        assert_eq!(resize(&d.join("e2p"), 12, None, false, true).unwrap(), 10);
        assert_eq!(
            image::open(d.join("e2p/train/p1.png")).unwrap().width(),
            24,
            "each half resized"
        );
        assert!(!std::fs::read_dir(&d).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp-")));
    }
}
