//! Image previews inside the layout: ratatui-image with the protocol the terminal speaks (kitty,
//! sixel, iTerm2) or Unicode half-blocks, which work over plain SSH and in tmux. Images are read
//! and decoded on a worker thread and cached by file and the modification time the reader saw.

use ratatui::layout::Rect;
use ratatui::Frame;
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::{Resize, StatefulImage};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::SystemTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageProtocol {
    Auto,
    Halfblocks,
    Kitty,
    Sixel,
    Iterm2,
    Off,
}

/// An image to show, with what the reader knows of it: its modification time (None: unknown, so
/// whatever version was decoded will do), so that drawing never asks the disk.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub path: PathBuf,
    pub stamp: Option<SystemTime>,
}

type Stamp = Option<SystemTime>;
type Decoded = (PathBuf, Stamp, Result<image::DynamicImage, String>);

/// Decodes images on a thread of its own and nudges the event loop when one is ready.
struct Worker {
    requests: Sender<(PathBuf, Stamp)>,
    done: Receiver<Decoded>,
    pending: HashSet<PathBuf>,
}

/// Reads and decodes an image (on the worker's thread where there is one).
fn decode(path: &Path) -> Result<image::DynamicImage, String> {
    if !path.is_file() {
        return Err("no image yet".into());
    }
    crate::data::image_io::open_image(path).map_err(|e| e.to_string())
}

pub struct Previews {
    picker: Option<Picker>,
    /// decoded images, by file, with the stamp they were asked for
    cache: HashMap<PathBuf, (Stamp, StatefulProtocol)>,
    failed: HashMap<PathBuf, (Stamp, String)>,
    worker: Option<Worker>,
}

impl Previews {
    /// Chooses how to draw images. `auto` asks the terminal once (ratatui-image gives up after 2 s)
    /// unless tmux is in the way or stdout is not a terminal, where half-blocks are the safe choice.
    pub fn new(choice: ImageProtocol) -> Self {
        use std::io::IsTerminal;
        let picker = match choice {
            ImageProtocol::Off => None,
            ImageProtocol::Halfblocks => Some(Picker::halfblocks()),
            ImageProtocol::Auto => {
                if std::env::var_os("TMUX").is_some() || !std::io::stdout().is_terminal() {
                    Some(Picker::halfblocks())
                } else {
                    Some(Picker::from_query_stdio().unwrap_or_else(|_| Picker::halfblocks()))
                }
            }
            forced => {
                let mut p = Picker::from_query_stdio().unwrap_or_else(|_| Picker::halfblocks());
                p.set_protocol_type(match forced {
                    ImageProtocol::Kitty => ProtocolType::Kitty,
                    ImageProtocol::Sixel => ProtocolType::Sixel,
                    _ => ProtocolType::Iterm2,
                });
                Some(p)
            }
        };
        Self {
            picker,
            cache: HashMap::new(),
            failed: HashMap::new(),
            worker: None,
        }
    }

    /// Decoding moves off the UI thread; `wake` is called when an image is ready to be drawn.
    pub fn with_worker(mut self, wake: impl Fn() + Send + 'static) -> Self {
        let (req_tx, req_rx) = channel::<(PathBuf, Stamp)>();
        let (done_tx, done_rx) = channel::<Decoded>();
        std::thread::spawn(move || {
            for (path, stamp) in req_rx {
                let img = decode(&path);
                if done_tx.send((path, stamp, img)).is_err() {
                    return;
                }
                wake();
            }
        });
        self.worker = Some(Worker {
            requests: req_tx,
            done: done_rx,
            pending: HashSet::new(),
        });
        self
    }

    /// Takes the images the worker has decoded since the last draw.
    fn collect(&mut self) {
        let (Some(w), Some(picker)) = (&mut self.worker, &self.picker) else {
            return;
        };
        while let Ok((path, stamp, img)) = w.done.try_recv() {
            w.pending.remove(&path);
            match img {
                Ok(img) => {
                    self.failed.remove(&path);
                    self.cache
                        .insert(path, (stamp, picker.new_resize_protocol(img)));
                }
                Err(e) => {
                    self.failed.insert(path, (stamp, e));
                }
            }
        }
    }

    /// Draws `path` fitted into `area`, whatever version of it was decoded; says why when it
    /// cannot.
    pub fn draw(&mut self, f: &mut Frame, area: Rect, path: &Path) -> Result<(), String> {
        self.show(
            f,
            area,
            &Picture {
                path: path.to_path_buf(),
                stamp: None,
            },
        )
    }

    /// Draws a picture fitted into `area`; says why when it cannot. With a worker it never reads
    /// the disk: a picture not decoded yet (or whose stamp changed) is asked of the worker, and
    /// the previous version, if any, stays on screen meanwhile.
    pub fn show(&mut self, f: &mut Frame, area: Rect, picture: &Picture) -> Result<(), String> {
        if self.picker.is_none() {
            return Err("previews are off (--image-protocol off)".into());
        }
        let (path, stamp) = (picture.path.as_path(), picture.stamp);
        // None: the reader knows no time, any version will do
        let current = |t: &Stamp| stamp.is_none() || *t == stamp;
        self.collect();
        if let Some((t, e)) = self.failed.get(path) {
            if current(t) {
                return Err(e.clone());
            }
        }
        let fresh = self.cache.get(path).is_some_and(|(t, _)| current(t));
        if !fresh {
            match &mut self.worker {
                Some(w) => {
                    if w.pending.insert(path.to_path_buf()) {
                        let _ = w.requests.send((path.to_path_buf(), stamp));
                    }
                    if !self.cache.contains_key(path) {
                        return Err("loading …".into());
                    }
                }
                None => {
                    let picker = self.picker.as_ref().expect("checked");
                    match decode(path) {
                        Ok(img) => {
                            self.failed.remove(path);
                            self.cache.insert(
                                path.to_path_buf(),
                                (stamp, picker.new_resize_protocol(img)),
                            );
                        }
                        Err(e) => {
                            self.failed.insert(path.to_path_buf(), (stamp, e.clone()));
                            return Err(e);
                        }
                    }
                }
            }
        }
        let (_, state) = self.cache.get_mut(path).expect("inserted");
        f.render_stateful_widget(
            StatefulImage::default().resize(Resize::Scale(None)),
            area,
            state,
        );
        Ok(())
    }
}
