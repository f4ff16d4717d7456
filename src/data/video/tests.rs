//! Clips made by ffmpeg in the test (a test pattern with a sine sound track), through the real
//! programs. Skipped, saying why, where ffmpeg is not installed (CI installs it).

use super::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let d =
            std::env::temp_dir().join(format!("aiart-video-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn have_ffmpeg() -> bool {
    let ok = ffmpeg_available();
    if !ok {
        eprintln!("skipped: ffmpeg/ffprobe not on PATH (CI installs Debian's ffmpeg)");
    }
    ok
}

/// A 64×48 clip of 12 frames at 10 fps with a 440 Hz sound track.
fn make_clip(path: &Path) {
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=size=64x48:rate=10:duration=1.2")
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=1.2"])
        .args(["-pix_fmt", "yuv420p", "-shortest"])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg could not make the test clip");
}

fn invert(_: u64, mut img: RgbImage) -> anyhow::Result<RgbImage> {
    img.pixels_mut().for_each(|p| p.0 = p.0.map(|v| 255 - v));
    Ok(img)
}

fn all_frames(path: &Path) -> Vec<RgbImage> {
    let info = probe(path).unwrap();
    decode(path, &info, None)
        .unwrap()
        .collect::<Result<Vec<_>>>()
        .unwrap()
}

#[test]
fn clip_extensions_are_recognised_without_case() {
    assert!(is_clip(Path::new("a/b.MP4")));
    assert!(is_clip(Path::new("x.webm")));
    assert!(!is_clip(Path::new("x.png")));
    assert!(!is_clip(Path::new("folder")));
}

#[test]
fn probe_and_decode_read_what_ffmpeg_wrote() {
    if !have_ffmpeg() {
        return;
    }
    let t = TempDir::new("probe");
    let clip = t.0.join("in.mp4");
    make_clip(&clip);
    let info = probe(&clip).unwrap();
    assert_eq!((info.width, info.height, info.fps), (64, 48, (10, 1)));
    assert!(info.has_audio);
    assert_eq!(info.frames_estimate(), Some(12));
    let frames = all_frames(&clip);
    assert_eq!(frames.len(), 12);
    assert!(frames.iter().all(|f| f.dimensions() == (64, 48)));
    // the pattern moves: not one frame repeated
    assert_ne!(frames[0], frames[11]);
    let scaled: Vec<_> = decode(&clip, &info, Some((32, 24)))
        .unwrap()
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(scaled.len(), 12);
    assert_eq!(scaled[0].dimensions(), (32, 24));
}

#[test]
fn a_file_that_is_no_clip_is_named_in_the_error() {
    if !have_ffmpeg() {
        return;
    }
    let t = TempDir::new("bad");
    let bad = t.0.join("bad.mp4");
    std::fs::write(&bad, b"not a clip at all").unwrap();
    let e = probe(&bad).unwrap_err().to_string();
    assert!(
        e.contains("bad.mp4") && e.contains("cannot read it as a clip"),
        "{e}"
    );
    let e = probe(&t.0.join("missing.mp4")).unwrap_err().to_string();
    assert!(
        e.contains("missing.mp4") && e.contains("no such file"),
        "{e}"
    );
}

#[test]
fn a_clip_run_keeps_count_rate_size_and_sound_and_removes_its_work() {
    if !have_ffmpeg() {
        return;
    }
    let t = TempDir::new("run");
    let clip = t.0.join("in.mp4");
    make_clip(&clip);
    let out = t.0.join("out.mp4");
    let job = ClipJob {
        input: &clip,
        output: &out,
        size: None,
        settings: "invert".into(),
    };
    let mut seen = Vec::new();
    let report = run_clip(&job, invert, |p| seen.push(p)).unwrap();
    assert_eq!((report.frames, report.kept), (12, 0));
    assert!(seen.last().unwrap().encoding);
    assert_eq!(seen.iter().filter(|p| !p.encoding).count(), 12);
    let info = probe(&out).unwrap();
    assert_eq!((info.width, info.height, info.fps), (64, 48, (10, 1)));
    assert!(info.has_audio, "the sound track was lost");
    let (a, b) = (all_frames(&clip), all_frames(&out));
    assert_eq!(b.len(), 12);
    // inverted (within the codec's loss): the mean of in + out is mid-grey
    for (x, y) in a.iter().zip(&b) {
        let sum: f64 = x
            .as_raw()
            .iter()
            .zip(y.as_raw())
            .map(|(&p, &q)| p as f64 + q as f64)
            .sum();
        let mean = sum / x.as_raw().len() as f64;
        assert!((mean - 255.0).abs() < 12.0, "mean of in + out {mean}");
    }
    assert!(!work_dir(&out).exists(), "the work folder was left behind");
    assert!(!part_path(&out).exists());
}

#[test]
fn an_interrupted_clip_goes_on_where_it_stopped_and_equals_an_uninterrupted_run() {
    if !have_ffmpeg() {
        return;
    }
    let t = TempDir::new("resume");
    let clip = t.0.join("in.mp4");
    make_clip(&clip);
    let whole = t.0.join("whole.mp4");
    let job = |out| ClipJob {
        input: &clip,
        output: out,
        size: Some((32, 24)),
        settings: "invert 32x24".into(),
    };
    run_clip(&job(&whole), invert, |_| {}).unwrap();

    let cut = t.0.join("cut.mp4");
    let e = run_clip(
        &job(&cut),
        |i, img| {
            anyhow::ensure!(i < 5, "interrupted");
            invert(i, img)
        },
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, VideoError::Frame { frame: 5, .. }), "{e}");
    assert!(!cut.exists(), "a half-made clip under the output's name");
    assert!(frame_path(&work_dir(&cut), 4).is_file());

    // other settings do not mix with these frames
    let other = ClipJob {
        settings: "something else".into(),
        ..job(&cut)
    };
    let e = run_clip(&other, invert, |_| {}).unwrap_err();
    assert!(matches!(e, VideoError::OtherWork { .. }), "{e}");

    let mut calls = Vec::new();
    let report = run_clip(
        &job(&cut),
        |i, img| {
            calls.push(i);
            invert(i, img)
        },
        |_| {},
    )
    .unwrap();
    assert_eq!((report.frames, report.kept), (12, 5));
    assert_eq!(calls, (5..12).collect::<Vec<_>>());
    assert_eq!(all_frames(&cut), all_frames(&whole));
}

#[test]
fn frames_of_two_sizes_are_refused() {
    if !have_ffmpeg() {
        return;
    }
    let t = TempDir::new("sizes");
    let clip = t.0.join("in.mp4");
    make_clip(&clip);
    let out = t.0.join("out.mp4");
    let job = ClipJob {
        input: &clip,
        output: &out,
        size: None,
        settings: String::new(),
    };
    let e = run_clip(
        &job,
        |i, img| Ok(if i == 3 { RgbImage::new(8, 8) } else { img }),
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, VideoError::FrameSize { frame: 3, .. }), "{e}");
}
