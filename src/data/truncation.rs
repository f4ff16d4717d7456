//! Whether an image file's data ends early, for the formats whose decoders do not say so.
//!
//! JPEG: the `image` crate's decoder (zune-jpeg, non-strict) fills whatever is missing with grey
//! and reports nothing, where PIL (the reference's reader) raises "image file is truncated"; so
//! the file's marker structure is walked here (ITU T.81 B.1): every segment must fit in the file,
//! and every scan's entropy-coded data must be followed by a marker, up to the end-of-image marker
//! (EOI, 0xFFD9). Bytes after EOI (what some cameras and editors append) are not looked at; fill
//! bytes (0xFF runs), stuffed bytes (0xFF00) and restart markers (RSTn) inside a scan are data,
//! not ends; a progressive file is a run of scans, each walked the same way. Thumbnails inside
//! APPn segments are skipped whole by their length.
//!
//! WebP: the decoder calls a cut file a "corrupt bitstream"; its RIFF header says how long the file
//! is, so a file shorter than that is named truncated.

use std::io::Read;
use std::path::Path;

/// Where the file at `path`, of the format its first bytes say, ends early; None where it does not
/// or where its decoder says so itself.
pub fn check(format: Option<image::ImageFormat>, path: &Path) -> std::io::Result<Option<String>> {
    Ok(match format {
        // the JPEG decoder reads the whole file anyway, so this costs one more read from the cache
        Some(image::ImageFormat::Jpeg) => jpeg(&std::fs::read(path)?),
        Some(image::ImageFormat::WebP) => {
            let f = std::fs::File::open(path)?;
            let len = f.metadata()?.len();
            let mut head = Vec::with_capacity(12);
            f.take(12).read_to_end(&mut head)?;
            webp(&head, len)
        }
        _ => None,
    })
}

/// Where the data of `bytes` (a file that starts as a JPEG: 0xFFD8) ends early, in words; None
/// when the file reaches its end-of-image marker, or when it is not a JPEG at all (the decoder
/// names that).
pub fn jpeg(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let len = bytes.len();
    let ends = |where_: &str| {
        Some(format!(
            "the JPEG data ends at byte {len} {where_}, before its end-of-image marker"
        ))
    };
    let mut i = 2;
    loop {
        // The next marker: 0xFF, any number of 0xFF fill bytes, then the marker's code. Bytes
        // that are no marker (junk between segments) are stepped over, as decoders do.
        let Some(ff) = bytes[i..].iter().position(|&b| b == 0xFF) else {
            return ends("between segments");
        };
        i += ff;
        while i < len && bytes[i] == 0xFF {
            i += 1;
        }
        if i >= len {
            return ends("inside a marker");
        }
        let code = bytes[i];
        i += 1;
        match code {
            0xD9 => return None,
            // markers without a length: SOI, TEM, RSTn, and a stray stuffed 0x00
            0xD8 | 0x01 | 0xD0..=0xD7 | 0x00 => continue,
            _ => {}
        }
        if i + 2 > len {
            return ends(&format!("inside the length of segment 0xFF{code:02X}"));
        }
        let seg = u16::from_be_bytes([bytes[i], bytes[i + 1]]) as usize;
        if i + seg > len {
            return ends(&format!(
                "inside segment 0xFF{code:02X} of {seg} bytes at byte {}",
                i - 2
            ));
        }
        // a length below 2 is a damaged file, not a short one: the decoder says so
        i += seg.max(2);
        if code == 0xDA {
            match scan_end(bytes, i) {
                Some(end) => i = end,
                None => return ends("in the middle of the compressed image data"),
            }
        }
    }
}

/// Whether a WebP file of `len` bytes, whose first bytes are `head`, is shorter than its RIFF
/// header says; None when it is not, or when `head` is no RIFF WebP header (the decoder names that).
pub fn webp(head: &[u8], len: u64) -> Option<String> {
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WEBP" {
        return None;
    }
    // the RIFF size counts the bytes after the 8-byte "RIFF" + size; chunks are padded to even
    let want = 8 + u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
    (len < want)
        .then(|| format!("the WebP file has {len} of the {want} bytes its header announces"))
}

/// The offset of the marker that ends the entropy-coded data starting at `from`, or None when the
/// file ends first. Inside a scan 0xFF is followed by 0x00 (a stuffed byte), 0xD0–0xD7 (a restart
/// marker) or more 0xFF (fill); any other code is the next marker.
fn scan_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let ff = i + bytes.get(i..)?.iter().position(|&b| b == 0xFF)?;
        let mut j = ff + 1;
        while *bytes.get(j)? == 0xFF {
            j += 1;
        }
        match bytes[j] {
            0x00 | 0xD0..=0xD7 => i = j + 1,
            _ => return Some(ff),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;
    use image::RgbImage;

    /// A picture with detail everywhere, so that its scan holds many 0xFF00 stuffed bytes.
    pub(crate) fn busy(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = (x * 37 + y * 91 + (x * y) % 53) as u8;
            image::Rgb([v, v.wrapping_mul(3), 255 - v])
        })
    }

    pub(crate) fn baseline(img: &RgbImage) -> Vec<u8> {
        let mut out = vec![];
        JpegEncoder::new_with_quality(&mut out, 95)
            .encode_image(img)
            .unwrap();
        out
    }

    /// Segment starts (offset of their 0xFF) by marker code, found by the walk's own rules.
    fn marker_offsets(bytes: &[u8], code: u8) -> Vec<usize> {
        (0..bytes.len() - 1)
            .filter(|&i| bytes[i] == 0xFF && bytes[i + 1] == code)
            .collect()
    }

    #[test]
    fn complete_files_pass() {
        let jpg = baseline(&busy(67, 45));
        assert_eq!(jpeg(&jpg), None);
        assert!(jpg.windows(2).any(|w| w == [0xFF, 0x00]), "stuffed bytes");
        // what cameras and editors write after EOI: padding, a second image, junk
        for tail in [
            &[0u8; 300][..],
            &[0xFF; 17],
            b"\xff\xd8\xff\xe0 trailing junk",
        ] {
            let mut t = jpg.clone();
            t.extend_from_slice(tail);
            assert_eq!(jpeg(&t), None, "tail {:?}", &tail[..4]);
        }
        // fill bytes before EOI
        let mut filled = jpg[..jpg.len() - 2].to_vec();
        filled.extend([0xFF, 0xFF, 0xFF, 0xD9]);
        assert_eq!(jpeg(&filled), None);
        // not a JPEG: the decoder's business
        assert_eq!(jpeg(b"\x89PNG\r\n"), None);
    }

    #[test]
    fn restart_markers_inside_a_scan_are_data() {
        // a scan cut into restart intervals: splice RST0..RST7 at a few points between MCUs is not
        // decodable, but the walk must not end a scan at them, so build the stream by hand
        let mut jpg = vec![0xFF, 0xD8];
        jpg.extend([0xFF, 0xDD, 0, 4, 0, 1]); // DRI: restart every MCU
        jpg.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]); // SOS (one component)
        for k in 0..8u8 {
            jpg.extend([0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0 + k]);
        }
        jpg.extend([0x56, 0xFF, 0xD9]);
        assert_eq!(jpeg(&jpg), None);
        let cut = &jpg[..jpg.len() - 2];
        assert!(jpeg(cut).unwrap().contains("compressed image data"));
        let cut_after_rst = &jpg[..jpg.len() - 3];
        assert!(jpeg(cut_after_rst).is_some());
    }

    #[test]
    fn every_cut_is_found() {
        let jpg = baseline(&busy(40, 24));
        let sos = marker_offsets(&jpg, 0xDA)[0];
        // every proper prefix is truncated: in a header, mid-scan, just before EOI, between
        // the 0xFF and 0xD9 of EOI
        for n in 2..jpg.len() {
            let why = jpeg(&jpg[..n]);
            assert!(why.is_some(), "a cut at byte {n} of {} passes", jpg.len());
        }
        let why = jpeg(&jpg[..20]).unwrap();
        assert!(why.contains("segment"), "{why}");
        let why = jpeg(&jpg[..sos + 40]).unwrap();
        assert!(why.contains("compressed image data"), "{why}");
        assert!(jpeg(&jpg[..jpg.len() - 2]).is_some());
        assert!(jpeg(&jpg[..jpg.len() - 1]).is_some());
    }

    #[test]
    fn progressive_files_pass_and_their_cuts_are_found() {
        let jpg = std::fs::read(crate::test_fixture("progressive.jpg")).unwrap();
        let scans = marker_offsets(&jpg, 0xDA);
        assert!(scans.len() > 1, "a progressive file holds several scans");
        assert_eq!(jpeg(&jpg), None);
        // cut inside each scan, and right after each scan's data (before the next marker)
        for (k, &s) in scans.iter().enumerate() {
            assert!(jpeg(&jpg[..s + 20]).is_some(), "inside scan {k}");
        }
        for n in (2..jpg.len()).step_by(7) {
            assert!(jpeg(&jpg[..n]).is_some(), "a cut at byte {n}");
        }
        let decoded = image::load_from_memory(&jpg).unwrap();
        assert!(decoded.width() > 0);
    }

    #[test]
    fn a_webp_shorter_than_its_header_says_is_found() {
        let mut out = std::io::Cursor::new(vec![]);
        busy(20, 10)
            .write_to(&mut out, image::ImageFormat::WebP)
            .unwrap();
        let whole = out.into_inner();
        let n = whole.len() as u64;
        assert_eq!(webp(&whole, n), None);
        assert_eq!(webp(&whole, n + 100), None, "bytes after the RIFF chunk");
        assert!(webp(&whole, n - 1).unwrap().contains("header announces"));
        assert!(webp(&whole[..12], 12).is_some());
        assert_eq!(webp(b"RIFF\0\0\0\0WAVE", 12), None, "not a WebP");
    }
}
