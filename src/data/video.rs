//! Clips through the `ffmpeg` and `ffprobe` programs on `PATH`: probing a clip, decoding its frames
//! to RGB images one at a time, and the resumable frame-by-frame run that `stylize --model` and
//! `translate` use for a clip (issue 33).
//!
//! Why the programs and not a library: the default build then needs no system library (libav* and
//! their headers differ between distributions and break `ffmpeg-sys` builds), every container and
//! codec ffmpeg reads works, and a user who lacks it gets one command to install it. Frames cross a
//! pipe as raw `rgb24` (`-f rawvideo`), so nothing is decoded twice and no frame is held longer than
//! its own step.
//!
//! A run keeps each finished frame as a PNG in a work folder beside the output
//! (`.<output name>.frames/`, with `clip.json` naming the input and the settings), then encodes
//! them with the input's audio into `.<output name>.part.<ext>` and renames that to the output:
//! an interrupted run (Ctrl-C, a lost SSH session) goes on at its first missing frame when the
//! same command is run again, and the output's name never holds a half-written clip.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// Extensions taken as clips (compared without case); everything else is an image or a folder.
pub const CLIP_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "mts", "flv", "wmv", "ogv",
    "gif",
];

/// What installs ffmpeg, for the error that says it is missing.
pub const INSTALL_FFMPEG: &str =
    "install it (Debian/Ubuntu: `sudo apt-get install ffmpeg`; Fedora: `sudo dnf install ffmpeg`; \
     macOS: `brew install ffmpeg`) or put `ffmpeg` and `ffprobe` on PATH";

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error("`{program}` was not found on PATH, and clips need it: {INSTALL_FFMPEG}")]
    NoFfmpeg { program: &'static str },
    #[error("{}: cannot read it as a clip: {reason}", path.display())]
    Probe { path: PathBuf, reason: String },
    #[error("{}: has no video stream", path.display())]
    NoVideo { path: PathBuf },
    #[error("{}: decoding frame {frame} failed: {reason}", path.display())]
    Decode {
        path: PathBuf,
        frame: u64,
        reason: String,
    },
    #[error("{}: encoding failed: {reason}", path.display())]
    Encode { path: PathBuf, reason: String },
    #[error(
        "{}: holds the frames of another clip or other settings ({what}); remove that folder to \
         start this clip afresh",
        dir.display()
    )]
    OtherWork { dir: PathBuf, what: String },
    #[error("frame {frame} of {}: {source:#}", path.display())]
    Frame {
        path: PathBuf,
        frame: u64,
        source: anyhow::Error,
    },
    #[error(
        "frame {frame} came out {got_w}×{got_h}, but the clip's earlier frames are {w}×{h}: every \
         frame of a clip must have one size"
    )]
    FrameSize {
        frame: u64,
        got_w: u32,
        got_h: u32,
        w: u32,
        h: u32,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Image(#[from] super::image_io::ImageError),
}

pub type Result<T, E = VideoError> = std::result::Result<T, E>;

/// Whether `path` names a clip (by its extension, [`CLIP_EXTENSIONS`]).
pub fn is_clip(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| CLIP_EXTENSIONS.iter().any(|c| c.eq_ignore_ascii_case(e)))
}

/// The newest clip in `dir` (by modification time, then name; only files named by
/// [`CLIP_EXTENSIONS`], not below `dir`, no hidden ones: a run's `.NAME.part.mp4` is no clip
/// yet): None when `dir` is missing or holds none.
pub fn newest_clip(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| is_clip(p))
        .filter_map(|p| {
            let md = std::fs::metadata(&p).ok().filter(|m| m.is_file())?;
            Some((md.modified().ok()?, p))
        })
        .max()
        .map(|(_, p)| p)
}

/// A clip's first video stream, as ffprobe reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipInfo {
    pub width: u32,
    pub height: u32,
    /// Frames per second as a fraction (numerator, denominator): the stream's average rate, or its
    /// base rate when the average is unknown.
    pub fps: (u32, u32),
    /// The frame count the container states, if it states one (decoding is the truth).
    pub frames: Option<u64>,
    /// Seconds, if known.
    pub duration: Option<f64>,
    pub has_audio: bool,
}

impl ClipInfo {
    pub fn fps_f64(&self) -> f64 {
        self.fps.0 as f64 / self.fps.1.max(1) as f64
    }

    /// The frame count: the stated one, else duration × rate rounded (an estimate for the
    /// progress bar).
    pub fn frames_estimate(&self) -> Option<u64> {
        self.frames
            .or_else(|| self.duration.map(|d| (d * self.fps_f64()).round() as u64))
    }
}

fn program(name: &'static str) -> Result<Command> {
    // a spawn that fails with NotFound is the test; `Command::new` never fails
    let probe = Command::new(name)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Ok(_) => {
            let mut c = Command::new(name);
            c.stdin(Stdio::null());
            Ok(c)
        }
        Err(_) => Err(VideoError::NoFfmpeg { program: name }),
    }
}

/// Whether both `ffmpeg` and `ffprobe` can be started (tests skip with a reason without them).
pub fn ffmpeg_available() -> bool {
    program("ffmpeg").is_ok() && program("ffprobe").is_ok()
}

fn parse_rate(s: &str) -> Option<(u32, u32)> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d) = (n.trim().parse::<u32>().ok()?, d.trim().parse::<u32>().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}

/// Reads `path`'s first video stream (size, rate, frame count) and whether it has audio.
///
/// Errors: [`VideoError::NoFfmpeg`], [`VideoError::Probe`] for a file ffprobe cannot read (its
/// message kept), [`VideoError::NoVideo`].
pub fn probe(path: &Path) -> Result<ClipInfo> {
    if !path.is_file() {
        return Err(VideoError::Probe {
            path: path.to_path_buf(),
            reason: "no such file".into(),
        });
    }
    let out = program("ffprobe")?
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(path)
        .output()
        .map_err(|e| VideoError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    if !out.status.success() {
        return Err(VideoError::Probe {
            path: path.to_path_buf(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| VideoError::Probe {
            path: path.to_path_buf(),
            reason: format!("ffprobe's answer is not JSON: {e}"),
        })?;
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    let kind = |s: &serde_json::Value, k: &str| s["codec_type"].as_str() == Some(k);
    let video = streams
        .iter()
        .find(|s| kind(s, "video") && s["disposition"]["attached_pic"].as_i64() != Some(1))
        .ok_or_else(|| VideoError::NoVideo {
            path: path.to_path_buf(),
        })?;
    let num = |x: &serde_json::Value| -> Option<f64> {
        x.as_f64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    };
    let width = video["width"].as_u64().unwrap_or(0) as u32;
    let height = video["height"].as_u64().unwrap_or(0) as u32;
    if width == 0 || height == 0 {
        return Err(VideoError::Probe {
            path: path.to_path_buf(),
            reason: "its video stream has no size".into(),
        });
    }
    let fps = video["avg_frame_rate"]
        .as_str()
        .and_then(parse_rate)
        .or_else(|| video["r_frame_rate"].as_str().and_then(parse_rate))
        .ok_or_else(|| VideoError::Probe {
            path: path.to_path_buf(),
            reason: "its video stream has no frame rate".into(),
        })?;
    let frames = num(&video["nb_frames"])
        .map(|f| f as u64)
        .filter(|&f| f > 0);
    let duration = num(&video["duration"]).or_else(|| num(&v["format"]["duration"]));
    Ok(ClipInfo {
        width,
        height,
        fps,
        frames,
        duration,
        has_audio: streams.iter().any(|s| kind(s, "audio")),
    })
}

/// A clip's frames in order as RGB images, decoded by an `ffmpeg` child into a pipe: one frame in
/// memory at a time. Dropping it stops the child.
pub struct Frames {
    path: PathBuf,
    child: Child,
    out: ChildStdout,
    width: u32,
    height: u32,
    next: u64,
    done: bool,
}

/// Decodes `path`'s first video stream, scaled to `size` (width, height; Lanczos) when given.
///
/// Errors: those of [`probe`]; a frame that cannot be decoded ends the iteration with
/// [`VideoError::Decode`] carrying ffmpeg's message.
pub fn decode(path: &Path, info: &ClipInfo, size: Option<(u32, u32)>) -> Result<Frames> {
    let (width, height) = size.unwrap_or((info.width, info.height));
    let mut cmd = program("ffmpeg")?;
    cmd.args(["-nostdin", "-v", "error", "-i"]).arg(path).args([
        "-map",
        "0:v:0",
        "-vsync",
        "passthrough",
    ]);
    if size.is_some() {
        cmd.args(["-vf", &format!("scale={width}:{height}:flags=lanczos")]);
    }
    cmd.args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| VideoError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let out = child.stdout.take().expect("piped");
    Ok(Frames {
        path: path.to_path_buf(),
        child,
        out,
        width,
        height,
        next: 0,
        done: false,
    })
}

impl Frames {
    /// The frames' size (width, height).
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn fail(&mut self, reason: String) -> VideoError {
        self.done = true;
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let _ = self.child.wait();
        let reason = match err.trim() {
            "" => reason,
            e => format!("{reason}: {e}"),
        };
        VideoError::Decode {
            path: self.path.clone(),
            frame: self.next,
            reason,
        }
    }
}

impl Iterator for Frames {
    type Item = Result<RgbImage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let len = self.width as usize * self.height as usize * 3;
        let mut buf = vec![0u8; len];
        let mut got = 0;
        while got < len {
            match self.out.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(self.fail(e.to_string()))),
            }
        }
        if got == 0 {
            self.done = true;
            let mut err = String::new();
            if let Some(mut e) = self.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return match self.child.wait() {
                Ok(s) if s.success() => None,
                Ok(s) => Some(Err(VideoError::Decode {
                    path: self.path.clone(),
                    frame: self.next,
                    reason: format!("ffmpeg exited with {s}: {}", err.trim()),
                })),
                Err(e) => Some(Err(VideoError::Io {
                    path: self.path.clone(),
                    source: e,
                })),
            };
        }
        if got < len {
            return Some(Err(self.fail(format!(
                "the pipe ended inside a frame ({got} of {len} bytes)"
            ))));
        }
        self.next += 1;
        Some(Ok(
            RgbImage::from_raw(self.width, self.height, buf).expect("sized buffer")
        ))
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a clip run's work folder holds besides frames: what the frames were made from, so a
/// second run reuses them only for the same input and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    input: PathBuf,
    input_bytes: u64,
    /// The caller's description of everything that changes a frame (model, its file's size and
    /// time, options).
    settings: String,
}

/// One clip run: `input` decoded frame by frame (scaled to `size` when given), each frame through
/// the caller's function, encoded to `output` with the input's audio and frame rate.
pub struct ClipJob<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub size: Option<(u32, u32)>,
    /// Everything that changes a frame's result: a work folder made under other settings is
    /// refused, not mixed in ([`VideoError::OtherWork`]).
    pub settings: String,
}

/// Where a clip run stands, for the progress bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipProgress {
    /// Frames finished (kept from an earlier run included).
    pub done: u64,
    /// Frames finished by an earlier run and kept.
    pub kept: u64,
    /// The frame count, if known in advance.
    pub total: Option<u64>,
    /// Encoding has begun (all frames are done).
    pub encoding: bool,
}

/// What a finished clip run did.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipReport {
    pub frames: u64,
    /// Frames an interrupted earlier run had finished, not made again.
    pub kept: u64,
    pub width: u32,
    pub height: u32,
    pub fps: (u32, u32),
    pub audio: bool,
}

/// The work folder of a clip run writing `output`: `.<name>.frames/` beside it.
pub fn work_dir(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!(".{name}.frames"))
}

fn part_path(output: &Path) -> PathBuf {
    let name = output
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = output
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mp4".into());
    output.with_file_name(format!(".{name}.part.{ext}"))
}

fn frame_path(dir: &Path, i: u64) -> PathBuf {
    dir.join(format!("{i:08}.png"))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VideoError + '_ {
    move |source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs `job`: frames already in the work folder from an interrupted run of the same job are kept
/// (checked to decode, a damaged one is made again), the rest go through `frame` (called with the
/// frame's index from 0 and the decoded frame; it returns the frame to keep, all of one size), then
/// all are encoded with the input's audio (copied, else re-encoded when the output's container
/// cannot hold it) to a part file renamed to `job.output`; the work folder is removed.
///
/// The caller has applied the output rule (an existing output needs `--force`, an output that is
/// the input is refused) before calling. `progress` is called after each frame and once when
/// encoding begins.
///
/// Errors: those of [`probe`] and [`decode`]; [`VideoError::OtherWork`] when the work folder holds
/// another job's frames; [`VideoError::Frame`] naming the frame `frame` failed on;
/// [`VideoError::Encode`] with ffmpeg's message; [`VideoError::Io`] naming the path.
pub fn run_clip(
    job: &ClipJob,
    mut frame: impl FnMut(u64, RgbImage) -> anyhow::Result<RgbImage>,
    mut progress: impl FnMut(ClipProgress),
) -> Result<ClipReport> {
    let info = probe(job.input)?;
    let dir = work_dir(job.output);
    let manifest = Manifest {
        input: crate::data::outputs::resolved(job.input),
        input_bytes: std::fs::metadata(job.input).map_err(io(job.input))?.len(),
        settings: job.settings.clone(),
    };
    let manifest_path = dir.join("clip.json");
    if dir.is_dir() {
        let old: Option<Manifest> = std::fs::read(&manifest_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        match old {
            Some(old) if old == manifest => {}
            Some(old) => {
                let what = if old.input != manifest.input || old.input_bytes != manifest.input_bytes
                {
                    format!("input {}", old.input.display())
                } else {
                    format!("settings {}", old.settings)
                };
                return Err(VideoError::OtherWork { dir, what });
            }
            None => {
                return Err(VideoError::OtherWork {
                    dir,
                    what: "it has no readable clip.json".into(),
                })
            }
        }
    } else {
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let text = serde_json::to_vec_pretty(&manifest).expect("plain data");
        crate::atomic::write_atomic(&manifest_path, &text).map_err(io(&manifest_path))?;
    }

    let total = info.frames_estimate();
    let mut frames = decode(job.input, &info, job.size)?;
    let (mut done, mut kept) = (0u64, 0u64);
    let mut out_size: Option<(u32, u32)> = None;
    for (i, decoded) in (0u64..).zip(&mut frames) {
        let decoded = decoded?;
        let path = frame_path(&dir, i);
        let existing = path
            .is_file()
            .then(|| super::image_io::load_rgb(&path).ok().map(|(img, _)| img))
            .flatten();
        let img = match existing {
            Some(img) => {
                kept += 1;
                img
            }
            None => {
                let img = frame(i, decoded).map_err(|source| VideoError::Frame {
                    path: job.input.to_path_buf(),
                    frame: i,
                    source,
                })?;
                super::image_io::save_image(&img, &path)?;
                img
            }
        };
        let (w, h) = img.dimensions();
        match out_size {
            None => out_size = Some((w, h)),
            Some((ow, oh)) if (ow, oh) != (w, h) => {
                return Err(VideoError::FrameSize {
                    frame: i,
                    got_w: w,
                    got_h: h,
                    w: ow,
                    h: oh,
                })
            }
            Some(_) => {}
        }
        done += 1;
        progress(ClipProgress {
            done,
            kept,
            total,
            encoding: false,
        });
    }
    drop(frames);
    let Some((width, height)) = out_size else {
        return Err(VideoError::Decode {
            path: job.input.to_path_buf(),
            frame: 0,
            reason: "the clip has no frames".into(),
        });
    };
    // frames past the end (a longer clip of the same name earlier) are not this clip's
    let stale = frame_path(&dir, done);
    if stale.exists() {
        return Err(VideoError::OtherWork {
            dir,
            what: format!("more frames than the clip's {done}"),
        });
    }
    progress(ClipProgress {
        done,
        kept,
        total,
        encoding: true,
    });
    encode(job, &info, &dir, (width, height))?;
    std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    Ok(ClipReport {
        frames: done,
        kept,
        width,
        height,
        fps: info.fps,
        audio: info.has_audio,
    })
}

/// Encodes the work folder's PNGs at the input's rate with its audio into the part file, then
/// renames it to the output. The audio is copied; when the output's container refuses the input's
/// codec, it is encoded with the container's default.
fn encode(job: &ClipJob, info: &ClipInfo, dir: &Path, (w, h): (u32, u32)) -> Result<()> {
    let part = part_path(job.output);
    let attempt = |copy_audio: bool| -> Result<std::process::Output> {
        let mut cmd = program("ffmpeg")?;
        cmd.args(["-nostdin", "-v", "error", "-y", "-framerate"])
            .arg(format!("{}/{}", info.fps.0, info.fps.1))
            .arg("-i")
            .arg(dir.join("%08d.png"))
            .arg("-i")
            .arg(job.input)
            .args(["-map", "0:v:0", "-map", "1:a?"]);
        if copy_audio {
            cmd.args(["-c:a", "copy"]);
        }
        let gif = job
            .output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gif"));
        if !gif {
            // 4:2:0 is what players expect of H.264/VP9; its chroma needs even sizes
            let fmt = if w % 2 == 0 && h % 2 == 0 {
                "yuv420p"
            } else {
                "yuv444p"
            };
            cmd.args(["-pix_fmt", fmt]);
        }
        cmd.arg(&part);
        cmd.output().map_err(io(&part))
    };
    let mut out = attempt(true)?;
    if !out.status.success() && info.has_audio {
        out = attempt(false)?;
    }
    if !out.status.success() {
        let _ = std::fs::remove_file(&part);
        return Err(VideoError::Encode {
            path: job.output.to_path_buf(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    std::fs::rename(&part, job.output).map_err(io(job.output))
}

#[cfg(test)]
mod tests;
