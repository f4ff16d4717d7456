//! Writing the Netpbm kinds by their extension (`.ppm` P6, `.pgm` P5, `.pbm` P4, `.pam` P7): the
//! `image` crate writes P7 whatever the extension, which P6 readers (Pillow among them) refuse.

use image::RgbImage;
use std::path::Path;

/// `img` as the Netpbm kind of `path`'s extension, encoded into `out`.
pub(super) fn write(
    img: &RgbImage,
    path: &Path,
    out: &mut std::io::Cursor<Vec<u8>>,
) -> image::ImageResult<()> {
    use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
    use image::ExtendedColorType;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (w, h) = img.dimensions();
    let luma = || image::DynamicImage::ImageRgb8(img.clone()).into_luma8();
    let (subtype, data, color) = match ext.as_str() {
        "pgm" => (
            PnmSubtype::Graymap(SampleEncoding::Binary),
            luma().into_raw(),
            ExtendedColorType::L8,
        ),
        "pbm" => {
            // the encoder's samples: 0 black, 1 white
            let bits = luma().pixels().map(|p| u8::from(p.0[0] >= 128)).collect();
            (
                PnmSubtype::Bitmap(SampleEncoding::Binary),
                bits,
                ExtendedColorType::L1,
            )
        }
        "pam" => (
            PnmSubtype::ArbitraryMap,
            img.as_raw().clone(),
            ExtendedColorType::Rgb8,
        ),
        _ => (
            PnmSubtype::Pixmap(SampleEncoding::Binary),
            img.as_raw().clone(),
            ExtendedColorType::Rgb8,
        ),
    };
    PnmEncoder::new(out)
        .with_subtype(subtype)
        .encode(&data[..], w, h, color)
}

#[cfg(test)]
mod tests {
    use super::super::image_io::{open_image, save_image};
    use image::RgbImage;

    /// Each Netpbm extension is written as its own kind (what other programs read it as) and
    /// reads back: P6 colour, P5 and P4 from the luma, P7 for .pam.
    #[test]
    fn each_netpbm_extension_gets_its_own_kind() {
        let dir = std::env::temp_dir().join(format!(
            "aiart-netpbm-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let img = RgbImage::from_fn(9, 4, |x, _| {
            if x < 4 {
                image::Rgb([250, 240, 230])
            } else {
                image::Rgb([10, 20, 200])
            }
        });
        for (ext, magic) in [
            ("ppm", "P6"),
            ("pnm", "P6"),
            ("PGM", "P5"),
            ("pbm", "P4"),
            ("pam", "P7"),
        ] {
            let path = dir.join(format!("x.{ext}"));
            save_image(&img, &path).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(&bytes[..2], magic.as_bytes(), "{ext}");
            let back = open_image(&path).unwrap().to_rgb8();
            assert_eq!(back.dimensions(), (9, 4), "{ext}");
            let (light, dark) = (back.get_pixel(0, 0).0, back.get_pixel(8, 3).0);
            assert!(light[0] > 200 && dark[0] < 100, "{ext}: {light:?} {dark:?}");
        }
        let ppm = std::fs::read(dir.join("x.ppm")).unwrap();
        assert!(ppm.ends_with(&[10, 20, 200]), "P6 keeps the colour");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
