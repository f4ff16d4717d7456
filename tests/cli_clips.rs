//! Clips through `aiart stylize --model` and `aiart translate` (issue 33), with the real ffmpeg:
//! a clip made here with a sound track comes back with its frame count, rate, size and sound; an
//! interrupted run (killed mid-clip) goes on and its frames equal an uninterrupted run's; the
//! refusals. Skipped, saying why, without ffmpeg (CI installs it).

mod common;
use aiart::data::video;
use aiart::nn::transformer_net::TransformerNet;
use candle_core::{Device, Tensor};
use common::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn have_ffmpeg() -> bool {
    let ok = video::ffmpeg_available();
    if !ok {
        eprintln!("skipped: ffmpeg/ffprobe not on PATH (CI installs Debian's ffmpeg)");
    }
    ok
}

/// A clip of `frames` frames of w×h at 10 fps (ffmpeg's moving test pattern) with a sine sound.
fn make_clip(path: &Path, (w, h): (u32, u32), frames: u32) {
    let secs = frames as f64 / 10.0;
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={w}x{h}:rate=10:duration={secs}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={secs}"))
        .args(["-pix_fmt", "yuv420p", "-shortest"])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg could not make the test clip");
}

/// A seeded TransformerNet whose output spreads over 0–255, saved as safetensors.
fn model(path: &Path) -> TransformerNet {
    let net = TransformerNet::seeded(5, &Device::Cpu).unwrap();
    let mut sd = net.state_dict();
    let w = (&sd["deconv3.conv2d.weight"] * 40.0).unwrap();
    sd.insert("deconv3.conv2d.weight".into(), w);
    let b = Tensor::full(128f32, 3, &Device::Cpu).unwrap();
    sd.insert("deconv3.conv2d.bias".into(), b);
    candle_core::safetensors::save(&sd, path).unwrap();
    TransformerNet::for_inference(sd, "test", &Device::Cpu).unwrap()
}

fn frames(path: &Path) -> Vec<image::RgbImage> {
    let info = video::probe(path).unwrap();
    video::decode(path, &info, None)
        .unwrap()
        .collect::<video::Result<Vec<_>>>()
        .unwrap()
}

fn mean_abs(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let s: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&p, &q)| p.abs_diff(q) as u64)
        .sum();
    s as f64 / a.as_raw().len() as f64
}

struct Ws(PathBuf);
impl Drop for Ws {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn stylize(ws: &Path, args: &[&str]) -> std::process::Output {
    run(bin()
        .current_dir(ws)
        .args(["stylize", "--model", "m.safetensors", "--device", "cpu"])
        .args(args))
}

#[test]
fn a_clip_is_stylised_with_its_frame_count_rate_size_and_sound() {
    if !have_ffmpeg() {
        return;
    }
    let ws = Ws(temp_workspace("clip-stylize"));
    let ws = &ws.0;
    make_clip(&ws.join("in.mp4"), (64, 48), 12);
    let net = model(&ws.join("m.safetensors"));
    let out = stylize(ws, &["--input", "in.mp4", "--output", "out.mp4"]);
    assert!(out.status.success(), "{}", text(&out));
    let last = last_line(&out);
    assert!(
        last.contains("stylized 12 frames") && last.contains("sound kept"),
        "{last}"
    );
    let info = video::probe(&ws.join("out.mp4")).unwrap();
    assert_eq!((info.width, info.height, info.fps), (64, 48, (10, 1)));
    assert!(info.has_audio, "the sound track was lost");
    let (input, output) = (frames(&ws.join("in.mp4")), frames(&ws.join("out.mp4")));
    assert_eq!(output.len(), 12);
    // each frame is the network's picture of the input frame (within the codec's loss), far
    // from the input itself
    for (i, (x, y)) in input.iter().zip(&output).enumerate() {
        let t = (aiart::data::image_io::to_tensor(x, &Device::Cpu).unwrap() * 255.0).unwrap();
        let want = net
            .forward(&t)
            .unwrap()
            .clamp(0f32, 255f32)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .permute((1, 2, 0))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want =
            image::RgbImage::from_raw(64, 48, want.iter().map(|&v| v as u8).collect()).unwrap();
        let (to_net, to_input) = (mean_abs(y, &want), mean_abs(y, x));
        assert!(
            to_net < 8.0 && to_input > 3.0 * to_net,
            "frame {i}: {to_net} / {to_input}"
        );
    }
    assert!(!video::work_dir(&ws.join("out.mp4")).exists());
}

#[test]
fn an_interrupted_clip_goes_on_and_its_frames_equal_an_uninterrupted_run() {
    if !have_ffmpeg() {
        return;
    }
    let ws = Ws(temp_workspace("clip-resume"));
    let ws = &ws.0;
    // frames large enough that the run is still going when a few are done
    make_clip(&ws.join("in.mkv"), (320, 240), 24);
    model(&ws.join("m.safetensors"));
    let whole = stylize(ws, &["--input", "in.mkv", "--output", "whole.mkv"]);
    assert!(whole.status.success(), "{}", text(&whole));

    let mut cmd = bin();
    cmd.current_dir(ws)
        .args(["stylize", "--model", "m.safetensors", "--device", "cpu"])
        .args(["--input", "in.mkv", "--output", "cut.mkv"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Ctrl-C's default action in the child, whatever this process inherited: a shell without job
    // control starts background jobs (a CI script's `… &`) with SIGINT ignored, and children
    // inherit that
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let work = video::work_dir(&ws.join("cut.mkv"));
    let third = work.join("00000002.png");
    let started = wait_for(300, || {
        third.is_file() || child.try_wait().unwrap().is_some()
    });
    assert!(started, "no frames in 300 s");
    // Ctrl-C: the process stops where it is
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the run finished before it could be interrupted"
    );
    assert!(
        !ws.join("cut.mkv").exists(),
        "a half-made clip under the output's name"
    );
    let kept = std::fs::read_dir(&work)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert!((3..24).contains(&kept), "{kept} frames kept");

    let again = stylize(ws, &["--input", "in.mkv", "--output", "cut.mkv"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("going on after the"),
        "{}",
        text(&again)
    );
    assert!(last_line(&again).contains("kept from an interrupted run"));
    let (a, b) = (frames(&ws.join("whole.mkv")), frames(&ws.join("cut.mkv")));
    assert_eq!(a.len(), 24);
    assert!(
        a == b,
        "the resumed clip's frames differ from the uninterrupted run's"
    );
    assert!(video::probe(&ws.join("cut.mkv")).unwrap().has_audio);
}

#[test]
fn clip_outputs_follow_the_output_rule_and_ffmpeg_is_named_when_missing() {
    if !have_ffmpeg() {
        return;
    }
    let ws = Ws(temp_workspace("clip-refuse"));
    let ws = &ws.0;
    make_clip(&ws.join("in.mp4"), (32, 32), 3);
    model(&ws.join("m.safetensors"));
    std::fs::write(ws.join("taken.mp4"), b"keep me").unwrap();
    let out = stylize(ws, &["--input", "in.mp4", "--output", "taken.mp4"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("taken.mp4") && text(&out).contains("--force"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(ws.join("taken.mp4")).unwrap(), b"keep me");

    let out = stylize(ws, &["--input", "in.mp4", "--output", "in.mp4", "--force"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("in.mp4"), "{}", text(&out));
    assert!(
        video::probe(&ws.join("in.mp4")).is_ok(),
        "the input was touched"
    );

    let out = stylize(ws, &["--input", "in.mp4", "--output", "out.png"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("video extension"), "{}", text(&out));

    let out = stylize(
        ws,
        &["--input", "in.mp4", "--output", "o.mp4", "--skip-existing"],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("--skip-existing"), "{}", text(&out));

    // no ffmpeg on PATH: the error says how to install it, before any work
    let empty = ws.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(bin()
        .current_dir(ws)
        .env("PATH", &empty)
        .args(["stylize", "--model", "m.safetensors", "--device", "cpu"])
        .args(["--input", "in.mp4", "--output", "o.mp4"]));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ffprobe") && text(&out).contains("apt-get install ffmpeg"),
        "{}",
        text(&out)
    );
    assert!(!ws.join("o.mp4").exists());
}

#[test]
fn a_clip_is_translated_frame_by_frame() {
    if !have_ffmpeg() {
        return;
    }
    let ws = Ws(temp_workspace("clip-translate"));
    let ws = &ws.0;
    make_clip(&ws.join("in.webm"), (40, 32), 6);
    let pth = repo().join("tests/fixtures/resnet_legacy_net_G.pth");
    let out = run(bin().current_dir(ws).args([
        "translate",
        "--checkpoint",
        pth.to_str().unwrap(),
        "--input",
        "in.webm",
        "--output",
        "out/",
        "--eval",
        "--device",
        "cpu",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let made = ws.join("out/in.webm");
    assert!(
        last_line(&out).contains("translated 6 frames"),
        "{}",
        text(&out)
    );
    let info = video::probe(&made).unwrap();
    assert_eq!((info.width, info.height, info.fps), (40, 32, (10, 1)));
    assert!(info.has_audio);
    assert_eq!(frames(&made).len(), 6);
}
