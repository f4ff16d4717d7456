//! `aiart dataset prepare …`: build or reshape datasets. Every command writes into a temporary
//! folder beside the target and renames it into place at the end, so an interrupted run leaves
//! nothing half-made; an existing target is replaced only with `force`.

use super::dataset::list_images;
use super::edges::canny;
use super::image_io;
use super::naming;
use super::outputs;
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

/// Runs `fill` on a temporary folder, then puts it at `out`. The output rule (outputs.rs) first:
/// `out` is not one of the `inputs` nor holds one (it is replaced whole), an existing `out` needs
/// `force`, and its place is tried before any work.
fn into_place(
    out: &Path,
    inputs: &[&Path],
    force: bool,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    outputs::refuse_input_folder("--out", out, inputs, true)?;
    let rule = outputs::Rule {
        flag: "--out",
        existing: outputs::Existing::from_flags(force, false),
        can_skip: false,
    };
    // existing or not, and its place tried (the folder checks are refuse_input_folder's)
    outputs::check(rule, &[out.to_path_buf()], &[])?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
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

/// What a helper did: files written, inputs it could not read (each named in a warning; kept
/// unchanged where the helper works in place), and inputs left out for want of a partner.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub written: usize,
    pub unreadable: usize,
    pub unpaired: usize,
}

fn warn(pb: &indicatif::ProgressBar, msg: String) {
    pb.suspend(|| eprintln!("warning: {msg}"));
}

/// A and B side by side (A left); B is resized to A's size where they differ.
fn side_by_side(a: &RgbImage, b: &RgbImage) -> RgbImage {
    let b = image_io::resize_exact(b.clone(), a.width(), a.height());
    let mut ab = RgbImage::new(a.width() * 2, a.height());
    image::imageops::replace(&mut ab, a, 0, 0);
    image::imageops::replace(&mut ab, &b, a.width() as i64, 0);
    ab
}

/// The reference's combine_A_and_B: files of the same name in A and B, side by side (A left).
/// Split subfolders of A (train/, val/, test/) are kept; flat A and B folders become OUT/train/,
/// so that OUT is an aligned dataset either way. Files without a partner are named in a warning;
/// where the two halves differ in size, B is resized to A's and a warning names both.
pub fn combine(a: &Path, b: &Path, out: &Path, force: bool, quiet: bool) -> Result<Outcome> {
    let mut splits: Vec<(String, String)> = ["train", "val", "test"]
        .iter()
        .filter(|s| a.join(s).is_dir())
        .map(|s| (s.to_string(), s.to_string()))
        .collect();
    if splits.is_empty() {
        splits.push((String::new(), "train".into()));
    }
    let mut jobs: Vec<(PathBuf, PathBuf, PathBuf)> = vec![];
    let mut unpaired: Vec<String> = vec![];
    for (from, to) in &splits {
        let (da, db) = (a.join(from), b.join(from));
        let files_a = list_images(&da);
        let mut paired = vec![];
        for fa in &files_a {
            let rel = fa.strip_prefix(&da).unwrap_or(fa);
            if db.join(rel).is_file() {
                paired.push(fa.clone());
            } else {
                unpaired.push(format!(
                    "{}: no {} to pair it with; left out",
                    fa.display(),
                    db.join(rel).display()
                ));
            }
        }
        for fb in list_images(&db) {
            let rel = fb.strip_prefix(&db).unwrap_or(&fb);
            if !da.join(rel).is_file() {
                unpaired.push(format!(
                    "{}: no {} to pair it with; left out",
                    fb.display(),
                    da.join(rel).display()
                ));
            }
        }
        let names = naming::png_names(&da, &paired);
        for (fa, name) in paired.into_iter().zip(names) {
            let rel = fa.strip_prefix(&da).unwrap_or(&fa).to_path_buf();
            jobs.push((fa, db.join(rel), Path::new(to).join(name)));
        }
    }
    let pb = bar(jobs.len(), quiet);
    for u in &unpaired {
        warn(&pb, u.clone());
    }
    if jobs.is_empty() {
        bail!(
            "{} and {}: no files with the same name to pair",
            a.display(),
            b.display()
        );
    }
    let mut done = Outcome {
        unpaired: unpaired.len(),
        ..Outcome::default()
    };
    into_place(out, &[a, b], force, |tmp| {
        for (fa, fb, rel) in &jobs {
            pb.inc(1);
            let (ia, ib) = match (image_io::load_rgb(fa), image_io::load_rgb(fb)) {
                (Ok((ia, _)), Ok((ib, _))) => (ia, ib),
                (Err(e), _) | (_, Err(e)) => {
                    warn(&pb, format!("skipping the pair: {e}"));
                    done.unreadable += 1;
                    continue;
                }
            };
            if ia.dimensions() != ib.dimensions() {
                warn(
                    &pb,
                    format!(
                        "{} is {}×{} but {} is {}×{}: B resized to A's size in the pair",
                        fa.display(),
                        ia.width(),
                        ia.height(),
                        fb.display(),
                        ib.width(),
                        ib.height()
                    ),
                );
            }
            let dst = tmp.join(rel);
            std::fs::create_dir_all(dst.parent().expect("a file"))?;
            save(&side_by_side(&ia, &ib), &dst)?;
            done.written += 1;
        }
        if done.written == 0 {
            bail!("none of the {} pairs could be read", jobs.len());
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    Ok(done)
}

fn save(img: &RgbImage, path: &Path) -> Result<()> {
    image_io::save_image(img, path)?;
    Ok(())
}

/// The largest centred square of an image.
fn centre_square(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let s = w.min(h);
    image::imageops::crop_imm(img, (w - s) / 2, (h - s) / 2, s, s).to_image()
}

/// edges → photo pairs for pix2pix: A = Canny edges (black on white), B = the photo, in
/// out/train/. A photo that is not square is cut to its largest centred square first, so every
/// pair is twice as wide as high (A and B halves of equal, square size), as the reference's
/// edges2* datasets are.
pub fn edges(photos: &Path, out: &Path, force: bool, quiet: bool) -> Result<Outcome> {
    let files = list_images(photos);
    if files.is_empty() {
        bail!("{}: holds no images", photos.display());
    }
    let names = naming::png_names(photos, &files);
    let pb = bar(files.len(), quiet);
    let mut done = Outcome::default();
    into_place(out, &[photos], force, |tmp| {
        for (f, name) in files.iter().zip(&names) {
            pb.inc(1);
            match image_io::load_rgb(f) {
                Ok((img, _)) => {
                    let img = centre_square(&img);
                    let e = image::DynamicImage::ImageLuma8(canny(&img, 1.4, 0.08, 0.2)).to_rgb8();
                    let dst = tmp.join("train").join(name);
                    std::fs::create_dir_all(dst.parent().expect("a file"))?;
                    save(&side_by_side(&e, &img), &dst)?;
                    done.written += 1;
                }
                Err(e) => {
                    warn(&pb, format!("skipping {e}"));
                    done.unreadable += 1;
                }
            }
        }
        if done.written == 0 {
            bail!(
                "{}: none of its {} images could be read",
                photos.display(),
                files.len()
            );
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    Ok(done)
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

/// Where `resize` writes without `--out`: a new folder beside the dataset, `DIR-Npx`, so that the
/// originals are never replaced by their smaller copies.
pub fn resized_folder(dir: &Path, size: u32) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into());
    dir.with_file_name(format!("{name}-{size}px"))
}

/// Every image resized so that its longest side is `size`, into `out` (a new folder: never the
/// dataset itself, nor a folder holding it). In an aligned dataset each image is an A|B pair: it
/// is cut in two halves (as training cuts it), each half is resized, and the halves are put back
/// side by side. Files that are not images, and images that cannot be read, are copied as they
/// are (the latter with a warning).
pub fn resize(dir: &Path, size: u32, out: &Path, force: bool, quiet: bool) -> Result<Outcome> {
    if size == 0 {
        bail!("--size must be at least 1");
    }
    let files = list_images(dir);
    if files.is_empty() {
        bail!("{}: holds no images", dir.display());
    }
    let aligned = super::inspect::layout_of(dir) == super::inspect::Layout::Aligned;
    let names = naming::png_names(dir, &files);
    let pb = bar(files.len(), quiet);
    let mut done = Outcome::default();
    into_place(out, &[dir], force, |tmp| {
        copy_others(dir, dir, tmp)?;
        for (f, name) in files.iter().zip(&names) {
            pb.inc(1);
            let dst = tmp.join(name);
            std::fs::create_dir_all(dst.parent().expect("a file"))?;
            let img = match image_io::load_rgb(f) {
                Ok((img, _)) => img,
                Err(e) => {
                    warn(&pb, format!("{e}; copied unchanged"));
                    let rel = f.strip_prefix(dir).context("inside the folder")?;
                    std::fs::copy(f, tmp.join(rel))?;
                    done.unreadable += 1;
                    continue;
                }
            };
            let outimg = if aligned {
                let (a, b) = super::dataset::split_aligned(&img);
                side_by_side(
                    &image_io::resize_longest(a, size),
                    &image_io::resize_longest(b, size),
                )
            } else {
                image_io::resize_longest(img, size)
            };
            save(&outimg, &dst)?;
            done.written += 1;
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    Ok(done)
}

/// Copies every file under `from` that is not an image (notes, licences) to the same place in `to`.
fn copy_others(root: &Path, from: &Path, to: &Path) -> Result<()> {
    for e in std::fs::read_dir(from)?.flatten() {
        let p = e.path();
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        if p.is_dir() && !hidden {
            copy_others(root, &p, to)?;
        } else if p.is_file() && !super::dataset::is_image_file(&p) {
            let dst = to.join(p.strip_prefix(root).context("inside the folder")?);
            std::fs::create_dir_all(dst.parent().expect("a file"))?;
            std::fs::copy(&p, &dst)?;
        }
    }
    Ok(())
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
            combine(&d.join("A"), &d.join("B"), &d.join("AB"), false, true)
                .unwrap()
                .written,
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
        assert_eq!(
            edges(&photos, &d.join("e2p"), false, true).unwrap().written,
            10
        );
        let pair = image::open(d.join("e2p/train/p0.png")).unwrap().to_rgb8();
        assert_eq!(pair.dimensions(), (48, 24));
        assert!(
            pair.get_pixel(12, 12)[0] < 128 || pair.get_pixel(11, 12)[0] < 128,
            "an edge at the step"
        );
        assert_eq!(split(&d.join("e2p"), 0.2, 1, true).unwrap(), 2);
        assert_eq!(list_images(&d.join("e2p/test")).len(), 2);
        assert_eq!(list_images(&d.join("e2p/train")).len(), 8);
        let before = std::fs::read(d.join("e2p/train/p1.png")).unwrap();
        let small = resized_folder(&d.join("e2p"), 12);
        assert_eq!(small, d.join("e2p-12px"));
        assert_eq!(
            resize(&d.join("e2p"), 12, &small, false, true)
                .unwrap()
                .written,
            10
        );
        assert_eq!(
            image::open(small.join("train/p1.png")).unwrap().width(),
            24,
            "each half resized"
        );
        assert_eq!(
            std::fs::read(d.join("e2p/train/p1.png")).unwrap(),
            before,
            "the originals are kept"
        );
        let e = resize(&d.join("e2p"), 12, &small, false, true).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert!(!std::fs::read_dir(&d).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp-")));
    }
}
