//! Image previews inside the layout: ratatui-image with the protocol the terminal speaks (kitty,
//! sixel, iTerm2) or Unicode half-blocks, which work over plain SSH and in tmux. Decoded images are
//! decoded on a worker thread and cached by file and modification time.

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

type Decoded = (PathBuf, SystemTime, Result<image::DynamicImage, String>);

/// Decodes images on a thread of its own and nudges the event loop when one is ready.
struct Worker {
    requests: Sender<(PathBuf, SystemTime)>,
    done: Receiver<Decoded>,
    pending: HashSet<PathBuf>,
}

pub struct Previews {
    picker: Option<Picker>,
    cache: HashMap<PathBuf, (SystemTime, StatefulProtocol)>,
    failed: HashMap<PathBuf, (SystemTime, String)>,
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
        let (req_tx, req_rx) = channel::<(PathBuf, SystemTime)>();
        let (done_tx, done_rx) = channel::<Decoded>();
        std::thread::spawn(move || {
            for (path, mtime) in req_rx {
                let img = crate::data::image_io::open_image(&path).map_err(|e| e.to_string());
                if done_tx.send((path, mtime, img)).is_err() {
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
        while let Ok((path, mtime, img)) = w.done.try_recv() {
            w.pending.remove(&path);
            match img {
                Ok(img) => {
                    self.cache
                        .insert(path, (mtime, picker.new_resize_protocol(img)));
                }
                Err(e) => {
                    self.failed.insert(path, (mtime, e));
                }
            }
        }
    }

    /// Draws `path` fitted into `area`; says why when it cannot.
    pub fn draw(&mut self, f: &mut Frame, area: Rect, path: &Path) -> Result<(), String> {
        if self.picker.is_none() {
            return Err("previews are off (--image-protocol off)".into());
        }
        let mtime = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        self.collect();
        if let Some((t, e)) = self.failed.get(path) {
            if *t == mtime {
                return Err(e.clone());
            }
        }
        let fresh = self.cache.get(path).is_some_and(|(t, _)| *t == mtime);
        if !fresh {
            match &mut self.worker {
                Some(w) => {
                    if w.pending.insert(path.to_path_buf()) {
                        let _ = w.requests.send((path.to_path_buf(), mtime));
                    }
                    // the previous version, if any, stays on screen until the new one is decoded
                    if !self.cache.contains_key(path) {
                        return Err("loading …".into());
                    }
                }
                None => {
                    let picker = self.picker.as_ref().expect("checked");
                    let img = crate::data::image_io::open_image(path).map_err(|e| e.to_string())?;
                    self.cache
                        .insert(path.to_path_buf(), (mtime, picker.new_resize_protocol(img)));
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
