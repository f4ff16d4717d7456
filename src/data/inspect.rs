//! What a dataset folder holds and what is wrong with it: its layout (aligned, unaligned, images),
//! counts per split, size range, and every problem that training would trip on or silently fix.

use super::dataset::{is_image_file, list_images};
use super::image_io;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// pix2pix: train/ val/ test/ of A|B images
    Aligned,
    /// CycleGAN: trainA/ trainB/ testA/ testB/
    Unaligned,
    /// a folder of images, or of folders of images (style transfer; fast style transfer reads it
    /// recursively, as the reference's ImageFolder: COCO's `datasets/coco-val2017/val2017/`)
    Images,
    /// nothing usable
    Unknown,
}

#[derive(Clone, Debug, Serialize)]
pub struct Split {
    pub name: String,
    pub count: usize,
    /// (min w, min h, max w, max h)
    pub sizes: Option<(u32, u32, u32, u32)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    pub what: String,
    /// training cannot go on with it
    pub fatal: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub path: PathBuf,
    pub layout: Layout,
    pub splits: Vec<Split>,
    pub problems: Vec<Problem>,
}

pub fn layout_of(dir: &Path) -> Layout {
    if dir.join("trainA").is_dir() || dir.join("trainB").is_dir() {
        Layout::Unaligned
    } else if ["train", "val", "test"]
        .iter()
        .any(|s| dir.join(s).is_dir())
    {
        Layout::Aligned
    } else if holds_images(dir, 2) {
        Layout::Images
    } else {
        Layout::Unknown
    }
}

/// Whether `dir` or its subfolders, `depth` levels down, hold an image file.
fn holds_images(dir: &Path, depth: usize) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            let p = e.path();
            is_image_file(&p) || (depth > 0 && p.is_dir() && holds_images(&p, depth - 1))
        })
    })
}

pub fn splits_of(layout: Layout) -> &'static [&'static str] {
    match layout {
        Layout::Aligned => &["train", "val", "test"],
        Layout::Unaligned => &["trainA", "trainB", "testA", "testB"],
        _ => &[""],
    }
}

/// A quick look: layout, counts and sizes from the files' headers only.
pub fn summary(dir: &Path) -> Report {
    inspect_with(dir, false)
}

/// Every file decoded: problems included.
pub fn inspect(dir: &Path) -> Report {
    inspect_with(dir, true)
}

fn inspect_with(dir: &Path, deep: bool) -> Report {
    let layout = layout_of(dir);
    let mut splits = vec![];
    let mut problems = vec![];
    if layout == Layout::Unknown {
        problems.push(Problem {
            file: dir.into(),
            what: "no images, and neither train/ (pix2pix) nor trainA/ + trainB/ (CycleGAN)".into(),
            fatal: true,
        });
    }
    for name in splits_of(layout) {
        let sdir = if name.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(name)
        };
        if !sdir.is_dir() {
            if *name == "train" || *name == "trainA" || *name == "trainB" {
                problems.push(Problem {
                    file: sdir.clone(),
                    what: "missing: training needs this split".into(),
                    fatal: true,
                });
            }
            continue;
        }
        let files = list_images(&sdir);
        if deep {
            for e in std::fs::read_dir(&sdir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_file()
                    && !is_image_file(&p)
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    problems.push(Problem {
                        file: p,
                        what: "not an image (skipped)".into(),
                        fatal: false,
                    });
                }
            }
        }
        let mut sizes: Option<(u32, u32, u32, u32)> = None;
        let mut readable = 0;
        for f in &files {
            let dims = if deep {
                match image_io::load_rgb(f) {
                    Ok((img, note)) => {
                        if let Some(n) = note {
                            problems.push(Problem {
                                file: f.clone(),
                                what: n.rsplit(": ").next().unwrap_or(&n).to_string(),
                                fatal: false,
                            });
                        }
                        Some(img.dimensions())
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        problems.push(Problem {
                            file: f.clone(),
                            what: format!(
                                "unreadable (skipped in training): {}",
                                msg.rsplit(": ").next().unwrap_or(&msg)
                            ),
                            fatal: false,
                        });
                        None
                    }
                }
            } else {
                image_io::dimensions(f).ok()
            };
            let Some((w, h)) = dims else { continue };
            readable += 1;
            if deep && layout == Layout::Aligned && w != 2 * h {
                problems.push(Problem {
                    file: f.clone(),
                    what: format!("{w}×{h}: an A|B pair should be twice as wide as high"),
                    fatal: false,
                });
            }
            sizes = Some(match sizes {
                None => (w, h, w, h),
                Some((a, b, c, d)) => (a.min(w), b.min(h), c.max(w), d.max(h)),
            });
        }
        if let Some((a, b, c, d)) = sizes {
            if deep && (c as u64 * d as u64) > 16 * (a as u64 * b as u64) {
                problems.push(Problem {
                    file: sdir.clone(),
                    what: format!("very different sizes: {a}×{b} to {c}×{d}"),
                    fatal: false,
                });
            }
        }
        let training = matches!(*name, "train" | "trainA" | "trainB" | "");
        if files.is_empty() || (deep && readable == 0) {
            let what = if files.is_empty() {
                "empty split"
            } else {
                "no readable image"
            };
            problems.push(Problem {
                file: sdir.clone(),
                what: what.into(),
                fatal: training,
            });
        }
        splits.push(Split {
            name: name.to_string(),
            count: files.len(),
            sizes,
        });
    }
    if layout == Layout::Unaligned {
        let count = |n: &str| splits.iter().find(|s| s.name == n).map_or(0, |s| s.count);
        if count("trainA") != count("trainB") && count("trainA") > 0 && count("trainB") > 0 {
            problems.push(Problem {
                file: dir.into(),
                what: format!(
                    "trainA has {} images, trainB {} (fine: B is drawn at random)",
                    count("trainA"),
                    count("trainB")
                ),
                fatal: false,
            });
        }
    }
    Report {
        path: dir.into(),
        layout,
        splits,
        problems,
    }
}

/// The dataset folders of a workspace.
pub fn list(datasets: &Path) -> Vec<Report> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(datasets)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| summary(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("aiart-inspect-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_folder_of_image_folders_is_images() {
        // COCO as fetched: datasets/coco-val2017/val2017/*.jpg
        let d = tmp("image-folder");
        std::fs::create_dir_all(d.join("val2017/sub")).unwrap();
        for f in ["val2017/1.png", "val2017/2.png", "val2017/sub/3.png"] {
            image::RgbImage::new(8, 6).save(d.join(f)).unwrap();
        }
        let r = inspect(&d);
        assert_eq!(r.layout, Layout::Images);
        assert_eq!(r.splits[0].count, 3);
        assert!(!r.problems.iter().any(|p| p.fatal), "{:?}", r.problems);
        let empty = tmp("empty-folders");
        std::fs::create_dir_all(empty.join("a/b")).unwrap();
        assert_eq!(inspect(&empty).layout, Layout::Unknown);
    }

    #[test]
    fn finds_each_kind_of_problem() {
        let d = tmp("aligned");
        std::fs::create_dir_all(d.join("train")).unwrap();
        std::fs::create_dir_all(d.join("test")).unwrap();
        image::RgbImage::new(64, 32)
            .save(d.join("train/ok.png"))
            .unwrap();
        image::RgbImage::new(40, 40)
            .save(d.join("train/square.png"))
            .unwrap();
        image::GrayImage::new(64, 32)
            .save(d.join("train/gray.png"))
            .unwrap();
        image::RgbaImage::new(64, 32)
            .save(d.join("train/rgba.png"))
            .unwrap();
        std::fs::write(d.join("train/cut.jpg"), b"\xff\xd8\xff\xe0\x00\x10JFIF").unwrap();
        std::fs::write(d.join("train/notes.txt"), b"hello").unwrap();
        let r = inspect(&d);
        assert_eq!(r.layout, Layout::Aligned);
        let train = r.splits.iter().find(|s| s.name == "train").unwrap();
        assert_eq!(train.count, 5);
        let says = |f: &str, w: &str| {
            r.problems
                .iter()
                .any(|p| p.file.ends_with(f) && p.what.contains(w))
        };
        assert!(says("cut.jpg", "unreadable"), "{:?}", r.problems);
        assert!(says("notes.txt", "not an image"));
        assert!(says("gray.png", "grayscale"));
        assert!(says("rgba.png", "alpha"));
        assert!(says("square.png", "twice as wide"));
        assert!(says("test", "empty split"));
        assert!(
            !r.problems.iter().any(|p| p.fatal),
            "nothing stops training: {:?}",
            r.problems
        );

        let u = tmp("unaligned");
        std::fs::create_dir_all(u.join("trainA")).unwrap();
        image::RgbImage::new(8, 8)
            .save(u.join("trainA/a.png"))
            .unwrap();
        let r = inspect(&u);
        assert_eq!(r.layout, Layout::Unaligned);
        assert!(
            r.problems
                .iter()
                .any(|p| p.fatal && p.file.ends_with("trainB")),
            "{:?}",
            r.problems
        );
    }
}
