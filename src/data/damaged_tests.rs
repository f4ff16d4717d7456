//! Reading damaged and less common image files through `image_io`: a file cut short is
//! `Truncated` in every format we read (the JPEG one checked by `truncation`, since its decoder
//! would fill the gap), complete files with bytes after their end read as before, and the Netpbm
//! family (the reference's `.ppm`) is read and listed.

use super::dataset::{is_image_file, list_images};
use super::image_io::{dimensions, load_rgb, ImageError};
use image::{ImageFormat, RgbImage};
use std::path::{Path, PathBuf};

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "aiart-damaged-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn busy(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = (x * 37 + y * 91 + (x * y) % 53) as u8;
        image::Rgb([v, v.wrapping_mul(3), 255 - v])
    })
}

fn encoded(img: &RgbImage, fmt: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(vec![]);
    img.write_to(&mut out, fmt).unwrap();
    out.into_inner()
}

fn assert_truncated(path: &Path) {
    let e = load_rgb(path).unwrap_err();
    assert!(
        matches!(e, ImageError::Truncated { .. }),
        "{}: {e}",
        path.display()
    );
    let text = e.to_string();
    assert!(
        text.contains("truncated") && text.contains(&*path.to_string_lossy()),
        "{text}"
    );
}

#[test]
fn a_file_cut_short_is_truncated_in_every_format() {
    let dir = tempdir("formats");
    let img = busy(64, 48);
    for (ext, fmt) in [
        ("png", ImageFormat::Png),
        ("jpg", ImageFormat::Jpeg),
        ("bmp", ImageFormat::Bmp),
        ("tif", ImageFormat::Tiff),
        ("webp", ImageFormat::WebP),
        ("ppm", ImageFormat::Pnm),
    ] {
        let whole = encoded(&img, fmt);
        let ok = dir.join(format!("whole.{ext}"));
        std::fs::write(&ok, &whole).unwrap();
        assert_eq!(load_rgb(&ok).unwrap().0.dimensions(), (64, 48), "{ext}");
        let cut = dir.join(format!("cut.{ext}"));
        std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
        assert_truncated(&cut);
    }
}

#[test]
fn a_jpeg_cut_anywhere_is_refused_and_a_complete_one_is_not() {
    let dir = tempdir("jpeg");
    let img = busy(80, 56);
    let jpg = encoded(&img, ImageFormat::Jpeg);
    let ok = dir.join("ok.jpg");
    std::fs::write(&ok, &jpg).unwrap();
    let (want, _) = load_rgb(&ok).unwrap();
    // in the header, at the start of the scan, mid-scan, just before EOI, between 0xFF and 0xD9
    let sos = jpg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    for n in [30, sos + 14, jpg.len() / 2, jpg.len() - 2, jpg.len() - 1] {
        let cut = dir.join(format!("cut-{n}.jpg"));
        std::fs::write(&cut, &jpg[..n]).unwrap();
        assert_truncated(&cut);
        // the header-only look says so too: inspect's quick pass, sizes and the style check
        assert!(
            matches!(dimensions(&cut), Err(ImageError::Truncated { .. })),
            "dimensions of a cut at {n}"
        );
    }
    // bytes after EOI (camera padding, junk) change nothing
    let mut tail = jpg.clone();
    tail.extend([0u8; 64]);
    tail.extend(b"junk after the image");
    let padded = dir.join("padded.JPG");
    std::fs::write(&padded, &tail).unwrap();
    assert_eq!(load_rgb(&padded).unwrap().0, want);
    // a progressive JPEG (made by tools/fixtures_progressive_jpeg.py) reads as it is
    let prog = crate::test_fixture("progressive.jpg");
    assert_eq!(load_rgb(&prog).unwrap().0.dimensions(), (48, 32));
    let bytes = std::fs::read(&prog).unwrap();
    let cut = dir.join("progressive-cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    assert_truncated(&cut);
}

#[test]
fn netpbm_files_are_read_and_listed() {
    let dir = tempdir("pnm");
    let img = busy(12, 8);
    std::fs::write(dir.join("a.ppm"), encoded(&img, ImageFormat::Pnm)).unwrap();
    let gray = image::DynamicImage::ImageRgb8(img.clone()).to_luma8();
    let mut pgm = std::io::Cursor::new(vec![]);
    gray.write_to(&mut pgm, ImageFormat::Pnm).unwrap();
    std::fs::write(dir.join("b.PGM"), pgm.into_inner()).unwrap();
    // an ASCII P3 file, as hand-written or exported by old tools
    std::fs::write(dir.join("c.PPM"), b"P3\n2 1\n255\n255 0 0  0 0 255\n").unwrap();
    std::fs::write(dir.join("notes.txt"), b"no image").unwrap();
    let listed = list_images(&dir);
    let names: Vec<_> = listed
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.ppm", "b.PGM", "c.PPM"]);
    assert_eq!(load_rgb(&dir.join("a.ppm")).unwrap().0, img);
    let (g, note) = load_rgb(&dir.join("b.PGM")).unwrap();
    assert_eq!(g.dimensions(), (12, 8));
    assert!(note.unwrap().contains("grayscale"));
    let (c, _) = load_rgb(&dir.join("c.PPM")).unwrap();
    assert_eq!(c.get_pixel(0, 0).0, [255, 0, 0]);
    assert_eq!(c.get_pixel(1, 0).0, [0, 0, 255]);
    assert_eq!(dimensions(&dir.join("c.PPM")).unwrap(), (2, 1));
    for ext in ["pbm", "pnm", "pam", "tiff", "TIF"] {
        assert!(is_image_file(Path::new(&format!("x.{ext}"))), "{ext}");
    }
}

/// Training reads through the same decode cache for every kind (aligned, unaligned, fast style's
/// photos): a truncated JPEG is skipped with a warning that says so, never trained on grey.
#[test]
fn training_skips_a_truncated_jpeg_and_names_it() {
    use super::dataset::PairDataset;
    use super::transform::Options;
    use crate::preset::gan::Preprocess;
    let root = tempdir("train");
    for d in ["trainA", "trainB"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let jpg = encoded(&busy(16, 16), ImageFormat::Jpeg);
    std::fs::write(root.join("trainA/0-cut.jpg"), &jpg[..jpg.len() / 2]).unwrap();
    let white = RgbImage::from_pixel(16, 16, image::Rgb([255, 255, 255]));
    white.save(root.join("trainA/1.png")).unwrap();
    std::fs::write(root.join("trainB/b.ppm"), encoded(&white, ImageFormat::Pnm)).unwrap();
    let opts = Options {
        preprocess: Preprocess::Crop,
        load_size: 16,
        crop_size: 16,
        no_flip: true,
    };
    let mut ds = PairDataset::unaligned(&root, "train", true, false, opts).unwrap();
    let mut rng = crate::rng::SeededRng::new(0);
    for i in 0..2 {
        let (a, b) = ds.get(i, &mut rng, &candle_core::Device::Cpu).unwrap();
        for t in [a, b] {
            let min = t.flatten_all().unwrap().min(0).unwrap();
            assert_eq!(min.to_scalar::<f32>().unwrap(), 1.0, "item {i}: only white");
        }
    }
    assert_eq!(ds.warnings.len(), 1, "{:?}", ds.warnings);
    assert!(
        ds.warnings[0].contains("0-cut.jpg") && ds.warnings[0].contains("truncated"),
        "{:?}",
        ds.warnings
    );
    // a domain of nothing but truncated files is an error that says why
    std::fs::remove_file(root.join("trainA/1.png")).unwrap();
    let mut ds = PairDataset::unaligned(&root, "train", true, false, opts).unwrap();
    let e = ds
        .get(0, &mut rng, &candle_core::Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("0-cut.jpg (truncated"), "{e}");
}
