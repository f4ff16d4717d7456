//! `aiart dataset fetch` against a real HTTP server on 127.0.0.1 started by the test, serving small
//! archives in the reference's two formats (pix2pix: NAME.tar.gz, CycleGAN: NAME.zip): a complete
//! download, one cut off and resumed with a Range request, a server that ignores Range, a 404, a
//! corrupt and a truncated archive, and a second fetch of a dataset that is there.

mod common;
mod http_server;
use common::*;
use http_server::{serve, Server};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// A ustar entry header (regular file or folder).
fn tar_header(name: &str, size: usize, dir: bool) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |h: &mut [u8; 512], at: usize, width: usize, v: u64| {
        let s = format!("{v:0w$o}\0", w = width - 1);
        h[at..at + width].copy_from_slice(s.as_bytes());
    };
    octal(&mut h, 100, 8, if dir { 0o755 } else { 0o644 });
    octal(&mut h, 108, 8, 0);
    octal(&mut h, 116, 8, 0);
    octal(&mut h, 124, 12, size as u64);
    octal(&mut h, 136, 12, 0);
    h[156] = if dir { b'5' } else { b'0' };
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

/// The files of a dataset: (path inside the archive, bytes).
type Files = Vec<(String, Vec<u8>)>;

/// The files of a small dataset, made in memory.
fn files(name: &str, splits: &[&str]) -> Files {
    let mut out = vec![];
    for (k, split) in splits.iter().enumerate() {
        for i in 0..3u32 {
            // noise, so the archive is large enough to span many reads and does not compress away
            let mut state = 0x9e37_79b9u32 ^ (k as u32 * 31 + i);
            let img = image::RgbImage::from_fn(96, 96, |_, _| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let b = state.to_le_bytes();
                image::Rgb([b[1], b[2], b[3]])
            });
            let mut bytes = std::io::Cursor::new(vec![]);
            img.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
            out.push((format!("{name}/{split}/{i}.png"), bytes.into_inner()));
        }
    }
    out
}

fn tar_gz(name: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = vec![];
    tar.extend(tar_header(&format!("{name}/"), 0, true));
    for (path, bytes) in files {
        tar.extend(tar_header(path, bytes.len(), false));
        tar.extend(bytes);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.extend([0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(vec![], flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(vec![]));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        w.start_file(path.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn fetch(ws: &Path, base: &str, name: &str, extra: &[&str]) -> std::process::Output {
    run(bin()
        .current_dir(ws)
        .env("AIART_DATASETS_URL", base)
        .args(["dataset", "fetch", name])
        .args(extra))
}

/// Nothing but finished datasets under datasets/: no partial download, no unpacking folder.
fn leftovers(ws: &Path) -> Vec<String> {
    std::fs::read_dir(ws.join("datasets"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

fn assert_dataset(ws: &Path, files: &[(String, Vec<u8>)]) {
    for (path, bytes) in files {
        let got =
            std::fs::read(ws.join("datasets").join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(got == *bytes, "{path}: different bytes");
    }
}

fn archives() -> (Files, Files, Server) {
    let facades = files("facades", &["train", "test"]);
    let h2z = files("horse2zebra", &["trainA", "trainB", "testA", "testB"]);
    let mut served = HashMap::new();
    served.insert(
        "/pix2pix/datasets/facades.tar.gz".to_string(),
        tar_gz("facades", &facades),
    );
    served.insert("/cyclegan/datasets/horse2zebra.zip".to_string(), zip(&h2z));
    (facades, h2z, serve(served))
}

#[test]
fn complete_downloads_in_both_formats_and_a_second_fetch_is_a_no_op() {
    let (facades, h2z, server) = archives();
    let ws = temp_workspace("fetch-ok");
    let base = format!("{}/ok", server.base);
    for name in ["facades", "horse2zebra"] {
        let out = fetch(&ws, &base, name, &[]);
        assert!(out.status.success(), "{name}: {}", text(&out));
    }
    assert_dataset(&ws, &facades);
    assert_dataset(&ws, &h2z);
    assert!(leftovers(&ws).is_empty(), "{:?}", leftovers(&ws));
    let n = server.log.lock().unwrap().requests.len();
    let out = fetch(&ws, &base, "facades", &[]);
    assert!(
        out.status.success() && text(&out).contains("already there"),
        "{}",
        text(&out)
    );
    assert_eq!(server.log.lock().unwrap().requests.len(), n, "no download");
    // --force downloads again and replaces it
    std::fs::write(ws.join("datasets/facades/train/0.png"), b"edited").unwrap();
    let out = fetch(&ws, &base, "facades", &["--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.log.lock().unwrap().requests.len(), n + 1);
    assert_dataset(&ws, &facades);
    // the flag overrides the environment
    let out = run(bin()
        .current_dir(&ws)
        .env("AIART_DATASETS_URL", "http://127.0.0.1:9/x")
        .args([
            "dataset",
            "fetch",
            "horse2zebra",
            "--force",
            "--base-url",
            &base,
        ]));
    assert!(out.status.success(), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn coco_unpacks_as_the_references_image_folder_and_resumes() {
    // COCO's zip holds val2017/<id>.jpg; the dataset is datasets/coco-val2017/val2017/…
    let photos = files("val2017", &[""]);
    let photos: Files = photos
        .into_iter()
        .map(|(p, b)| (p.replace("//", "/"), b))
        .collect();
    let mut served = HashMap::new();
    served.insert("/zips/val2017.zip".to_string(), zip(&photos));
    let server = serve(served);
    let ws = temp_workspace("fetch-coco");
    let base = format!("{}/cut", server.base);
    let out = fetch(&ws, &base, "coco-val2017", &[]);
    assert!(!out.status.success(), "the first try is cut off");
    assert!(text(&out).contains("COCO val2017"), "{}", text(&out));
    let out = fetch(&ws, &base, "coco-val2017", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let inside: Files = photos
        .iter()
        .map(|(p, b)| (format!("coco-val2017/{p}"), b.clone()))
        .collect();
    assert_dataset(&ws, &inside);
    assert!(leftovers(&ws).is_empty(), "{:?}", leftovers(&ws));
    // the workspace's listing sees a folder of images, all three counted
    let out = run(bin()
        .current_dir(&ws)
        .args(["dataset", "inspect", "coco-val2017"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Images") || text(&out).contains("images"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains('3'), "{}", text(&out));
    // the help names the COCO sets
    let out = run(bin().args(["dataset", "fetch", "--help"]));
    assert!(text(&out).contains("coco-train2014"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_download_cut_off_resumes_with_a_range_request() {
    let (facades, h2z, server) = archives();
    let ws = temp_workspace("fetch-cut");
    let base = format!("{}/cut", server.base);
    for (name, files, file) in [
        ("facades", &facades, "facades.tar.gz"),
        ("horse2zebra", &h2z, "horse2zebra.zip"),
    ] {
        let out = fetch(&ws, &base, name, &[]);
        assert!(!out.status.success(), "the first try is cut off");
        assert!(
            text(&out).contains("run the command again to resume"),
            "{}",
            text(&out)
        );
        assert!(!ws.join("datasets").join(name).exists());
        let part = ws.join(format!("datasets/.{name}.{}.part", &file[name.len() + 1..]));
        let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        assert!(have > 0, "the partial file is kept");
        let out = fetch(&ws, &base, name, &[]);
        assert!(out.status.success(), "{}", text(&out));
        let log = server.log.lock().unwrap();
        let (path, range) = log.requests.last().unwrap();
        assert!(path.ends_with(file));
        assert_eq!(range.as_deref(), Some(format!("bytes={have}-").as_str()));
        drop(log);
        assert_dataset(&ws, files);
    }
    assert!(leftovers(&ws).is_empty(), "{:?}", leftovers(&ws));
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_server_that_ignores_range_gives_the_whole_file_again() {
    let (facades, _, server) = archives();
    let ws = temp_workspace("fetch-norange");
    // a partial download from a mirror that cut it off …
    let out = fetch(&ws, &format!("{}/cut", server.base), "facades", &[]);
    assert!(!out.status.success());
    assert!(ws.join("datasets/.facades.tar.gz.part").is_file());
    // … continued from one that answers 200 with the whole file: it replaces the partial one
    let out = fetch(&ws, &format!("{}/norange", server.base), "facades", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let log = server.log.lock().unwrap();
    assert!(
        log.requests.last().unwrap().1.is_some(),
        "a Range was asked"
    );
    drop(log);
    assert_dataset(&ws, &facades);
    assert!(leftovers(&ws).is_empty(), "{:?}", leftovers(&ws));
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn not_found_corrupt_and_truncated_archives_are_clear_errors_and_leave_nothing() {
    let (_, _, server) = archives();
    let ws = temp_workspace("fetch-bad");
    let out = fetch(&ws, &format!("{}/missing", server.base), "facades", &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("404"), "{}", text(&out));
    assert!(text(&out).contains("facades.tar.gz"), "{}", text(&out));
    for mode in ["corrupt", "truncated"] {
        for name in ["facades", "horse2zebra"] {
            let out = fetch(&ws, &format!("{}/{mode}", server.base), name, &[]);
            assert!(!out.status.success(), "{mode} {name}: {}", text(&out));
            assert!(
                text(&out).contains("corrupt or truncated"),
                "{mode} {name}: {}",
                text(&out)
            );
            assert!(!ws.join("datasets").join(name).exists(), "{mode} {name}");
            assert!(
                leftovers(&ws).is_empty(),
                "{mode} {name}: {:?}",
                leftovers(&ws)
            );
        }
    }
    let out = fetch(&ws, &server.base, "nosuchset", &[]);
    assert!(!out.status.success() && text(&out).contains("unknown dataset"));
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn reference_presets_say_how_to_get_their_data() {
    let ws = temp_workspace("fetch-hint");
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::copy(
        repo().join("presets/cyclegan.toml"),
        ws.join("presets/cyclegan.toml"),
    )
    .unwrap();
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "presets/cyclegan.toml", "--max-steps", "1"]));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("aiart dataset fetch horse2zebra"),
        "{}",
        text(&out)
    );
    assert!(!ws.join("runs").exists() || std::fs::read_dir(ws.join("runs")).unwrap().count() == 0);
    let out = run(bin().current_dir(&ws).args(["preset", "list"]));
    assert!(
        text(&out).contains("needs dataset")
            && text(&out).contains("aiart dataset fetch horse2zebra"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(&ws);
}
