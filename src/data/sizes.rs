//! The size rules of `preset/sizes.rs` applied to a dataset's training images, from their headers
//! (EXIF orientation applied): every image the preset's preprocessing, networks or batches cannot
//! take is named with its size, the rule and what to change, before any work starts. Used by
//! `dataset validate --preset`, `preset check` and `train`.

use super::dataset::list_images;
use crate::preset::gan::{GanPreset, Preprocess};
use crate::preset::sizes::{self, Preprocessed};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the images at hand make of a preset's size rules.
#[derive(Clone, Debug, Default)]
pub struct SizeReport {
    /// (the file or folder, what is wrong and what to change): training cannot start
    pub problems: Vec<(PathBuf, String)>,
    /// Sizes made to fit as the reference makes them (one line per size)
    pub notes: Vec<String>,
}

impl SizeReport {
    /// Every problem on its own line, `file: what`.
    pub fn problem_lines(&self) -> String {
        self.problems
            .iter()
            .map(|(f, w)| format!("{}: {w}", f.display()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn mode_name(p: Preprocess) -> &'static str {
    match p {
        Preprocess::ResizeAndCrop => "resize_and_crop",
        Preprocess::Crop => "crop",
        Preprocess::ScaleWidth => "scale_width",
        Preprocess::ScaleWidthAndCrop => "scale_width_and_crop",
        Preprocess::None => "none",
    }
}

/// The most groups of same-sized images reported per folder.
const MAX_GROUPS: usize = 8;

fn wxh((w, h): (u32, u32)) -> String {
    format!("{w}×{h}")
}

/// What to change when an image comes out at a size the networks do not take.
fn advice(p: &GanPreset, out: (u32, u32)) -> String {
    let rules = sizes::rules(p);
    let (_, w) = sizes::nearest_sides(&rules, out.0);
    let (_, h) = sizes::nearest_sides(&rules, out.1);
    let crop = sizes::suggest(&rules, p.data.crop_size.max(1));
    format!(
        "resize the images so that they come out {w}×{h}, or set data.preprocess = \
         \"resize_and_crop\" (or \"scale_width_and_crop\") with data.crop_size = {crop}"
    )
}

/// The training images of the preset's layout: one folder (pix2pix's `train/`, A|B side by
/// side; colorization's photos) or two (CycleGAN's `trainA/`, `trainB/`).
fn folders(p: &GanPreset, root: &Path) -> Vec<PathBuf> {
    if p.is_cyclegan() {
        vec![root.join("trainA"), root.join("trainB")]
    } else if p.is_colorization() {
        vec![super::dataset::PairDataset::colorization_folder(
            root, "train",
        )]
    } else {
        vec![root.join("train")]
    }
}

/// The size rules checked against every training image under `root` (folders that are missing or
/// empty are the dataset loader's to report).
pub fn check(p: &GanPreset, root: &Path) -> SizeReport {
    let p = p.effective();
    let mut report = SizeReport::default();
    for dir in folders(&p, root) {
        check_folder(&p, &dir, &mut report);
    }
    report
}

fn check_folder(p: &GanPreset, dir: &Path, report: &mut SizeReport) {
    let files = list_images(dir);
    let aligned = !p.is_cyclegan() && !p.is_colorization();
    // images of one size behave alike: one line per size, naming its first file
    let mut groups: BTreeMap<(u32, u32), Vec<PathBuf>> = BTreeMap::new();
    let mut unreadable = vec![];
    for f in files {
        match super::image_io::dimensions(&f).ok() {
            Some(size) => groups.entry(size).or_default().push(f),
            None => unreadable.push(f),
        }
    }
    if groups.is_empty() && !unreadable.is_empty() {
        let names = unreadable
            .iter()
            .take(5)
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        report.problems.push((
            dir.to_path_buf(),
            format!(
                "none of its {} images can be read ({names}{}); training needs at least one",
                unreadable.len(),
                if unreadable.len() > 5 { ", …" } else { "" }
            ),
        ));
        return;
    }
    let mode = mode_name(p.data.preprocess);
    let mut out_sizes: BTreeMap<(u32, u32), PathBuf> = BTreeMap::new();
    let (mut bad_groups, mut bad_files, mut reported) = (0, 0, 0);
    let mut notes: Vec<String> = vec![];
    for (size, files) in &groups {
        let first = &files[0];
        let more = match files.len() {
            1 => String::new(),
            n => format!(" (and {} more of this size)", n - 1),
        };
        let item = if aligned {
            let (a, b) = ((size.0 / 2, size.1), (size.0 - size.0 / 2, size.1));
            let (pa, pb) = (
                sizes::preprocessed(&p.data, a),
                sizes::preprocessed(&p.data, b),
            );
            if pa.size != pb.size {
                bad_files += files.len();
                bad_groups += 1;
                if bad_groups <= MAX_GROUPS {
                    reported += files.len();
                    report.problems.push((
                        first.clone(),
                        format!(
                            "{}{more}: its halves A {} and B {} come out {} and {} with \
                             preprocess = \"{mode}\", but pix2pix compares A and B pixel by pixel: \
                             make the image's width even (two halves of one size)",
                            wxh(*size),
                            wxh(a),
                            wxh(b),
                            wxh(pa.size),
                            wxh(pb.size)
                        ),
                    ));
                }
                continue;
            }
            pa
        } else {
            sizes::preprocessed(&p.data, *size)
        };
        let Preprocessed { size: out, note } = item;
        match sizes::network_problem(p, out) {
            Some(why) => {
                bad_files += files.len();
                bad_groups += 1;
                if bad_groups <= MAX_GROUPS {
                    reported += files.len();
                    let what = if aligned { "each half of " } else { "" };
                    report.problems.push((
                        first.clone(),
                        format!(
                            "{what}{}{more} comes out {} with preprocess = \"{mode}\" \
                             (load_size {}, crop_size {}); {why}; {}",
                            wxh(if aligned { (size.0 / 2, size.1) } else { *size }),
                            wxh(out),
                            p.data.load_size,
                            p.data.crop_size,
                            advice(p, out)
                        ),
                    ));
                }
            }
            None => {
                out_sizes.entry(out).or_insert_with(|| first.clone());
                if let Some(n) = note {
                    notes.push(format!("{}{more}: {n}", first.display()));
                }
            }
        }
    }
    // as the reference, the adjustment is said once (per folder), not for every size
    if let Some(first) = notes.first() {
        report.notes.push(match notes.len() {
            1 => first.clone(),
            n => format!("{first}; images of {} other sizes likewise", n - 1),
        });
    }
    if bad_groups > MAX_GROUPS {
        report.problems.push((
            dir.to_path_buf(),
            format!(
                "{} more images of {} other sizes do not fit either",
                bad_files - reported,
                bad_groups - MAX_GROUPS
            ),
        ));
    }
    if p.data.batch_size > 1 && out_sizes.len() > 1 {
        let examples = out_sizes
            .iter()
            .take(3)
            .map(|(s, f)| format!("{} ({})", wxh(*s), f.display()))
            .collect::<Vec<_>>()
            .join(", ");
        report.problems.push((
            dir.to_path_buf(),
            format!(
                "data.batch_size = {} stacks images of one size, but preprocess = \"{mode}\" makes \
                 {} sizes of these images: {examples}; use batch_size = 1, or preprocess = \
                 \"resize_and_crop\" or \"scale_width_and_crop\", which make every image \
                 crop_size × crop_size",
                p.data.batch_size,
                out_sizes.len()
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gan::DiscArch;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("aiart-sizes-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn save(path: PathBuf, w: u32, h: u32) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::RgbImage::new(w, h).save(path).unwrap();
    }

    fn preset(kind: &str, net_g: &str, mode: Preprocess, load: u32, crop: u32) -> GanPreset {
        let mut p = GanPreset {
            kind: kind.into(),
            ..Default::default()
        };
        p.model.net_g = Some(net_g.into());
        p.data.preprocess = mode;
        p.data.load_size = load;
        p.data.crop_size = crop;
        p
    }

    #[test]
    fn pix2pix_none_with_unet_128_names_the_image_and_the_rule() {
        let root = tmp("p2p-none");
        save(root.join("train/1.png"), 200, 70);
        let p = preset("pix2pix", "unet_128", Preprocess::None, 286, 256);
        let r = check(&p, &root);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        let (f, what) = &r.problems[0];
        assert!(f.ends_with("train/1.png"), "{f:?}");
        for want in ["100×70", "100×72", "unet_128", "multiple of 128", "128×128"] {
            assert!(what.contains(want), "`{want}` missing: {what}");
        }
        let ok = preset("pix2pix", "unet_128", Preprocess::None, 286, 256);
        let fine = tmp("p2p-none-ok");
        save(fine.join("train/1.png"), 256, 127);
        let r = check(&ok, &fine);
        assert!(r.problems.is_empty(), "{r:?}");
        assert!(
            r.notes[0].contains("128×128"),
            "127 rounds to 128: {:?}",
            r.notes
        );
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_dir_all(&fine).unwrap();
    }

    /// Colorization's photos are whole images (no halves), in `train/` or directly in the folder.
    #[test]
    fn colorization_photos_are_checked_whole() {
        let root = tmp("col-none");
        save(root.join("photo.png"), 200, 70);
        let mut p = preset("pix2pix", "unet_128", Preprocess::None, 286, 256);
        p.data.dataset_mode = Some(crate::preset::gan::DatasetMode::Colorization);
        let r = check(&p, &root);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        let (f, what) = &r.problems[0];
        assert!(f.ends_with("photo.png"), "{f:?}");
        assert!(
            what.contains("200×70") && !what.contains("half"),
            "the whole photo: {what}"
        );
        save(root.join("train/ok.png"), 256, 128);
        let r = check(&p, &root);
        assert!(
            r.problems.is_empty(),
            "train/ is read, not the folder: {r:?}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn cyclegan_scale_width_portrait_height_91() {
        let root = tmp("cyc-sw");
        save(root.join("trainA/p.png"), 70, 100);
        save(root.join("trainB/q.png"), 64, 64);
        let p = preset("cyclegan", "resnet_9blocks", Preprocess::ScaleWidth, 64, 64);
        let r = check(&p, &root);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        assert!(r.problems[0].0.ends_with("trainA/p.png"));
        let what = &r.problems[0].1;
        for want in ["70×100", "64×91", "scale_width", "multiple of 4", "64×92"] {
            assert!(what.contains(want), "`{want}` missing: {what}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn batches_need_one_size_and_halves_must_match() {
        let root = tmp("batch");
        save(root.join("trainA/a.png"), 64, 64);
        save(root.join("trainA/b.png"), 64, 128);
        save(root.join("trainB/c.png"), 64, 64);
        let mut p = preset("cyclegan", "resnet_6blocks", Preprocess::None, 64, 64);
        assert!(check(&p, &root).problems.is_empty());
        p.data.batch_size = 2;
        let r = check(&p, &root);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        assert!(r.problems[0].0.ends_with("trainA"));
        assert!(r.problems[0].1.contains("batch_size = 2"), "{r:?}");
        let odd = tmp("odd");
        save(odd.join("train/x.png"), 41, 32);
        let mut p = preset("pix2pix", "unet_32", Preprocess::Crop, 64, 64);
        p.model.net_d = DiscArch::Pixel;
        let r = check(&p, &odd);
        assert!(r.problems[0].1.contains("width even"), "{r:?}");
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_dir_all(&odd).unwrap();
    }
}
