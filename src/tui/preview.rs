//! Image previews inside the layout: ratatui-image with the protocol the terminal speaks (kitty,
//! sixel, iTerm2) or Unicode half-blocks, which work over plain SSH and in tmux. Decoded images are
//! cached by file and modification time.

use ratatui::layout::Rect;
use ratatui::Frame;
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::{Resize, StatefulImage};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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

pub struct Previews {
    picker: Option<Picker>,
    cache: HashMap<PathBuf, (SystemTime, StatefulProtocol)>,
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
        }
    }

    /// Draws `path` fitted into `area`; says why when it cannot.
    pub fn draw(&mut self, f: &mut Frame, area: Rect, path: &Path) -> Result<(), String> {
        let Some(picker) = &self.picker else {
            return Err("previews are off (--image-protocol off)".into());
        };
        let mtime = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let fresh = self.cache.get(path).is_some_and(|(t, _)| *t == mtime);
        if !fresh {
            let img = image::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            self.cache
                .insert(path.to_path_buf(), (mtime, picker.new_resize_protocol(img)));
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
