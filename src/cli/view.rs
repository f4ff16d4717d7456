//! `aiart view IMAGE`: viuer, with kitty / iTerm2 graphics only where the environment says the
//! terminal speaks them (viuer's own kitty probe can wait forever on a silent terminal), else
//! Unicode half-blocks, which work over SSH and in tmux.

use aiart::data::image_io;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ViewArgs {
    /// The image file
    pub image: PathBuf,
    /// Width in terminal columns [default: fit the terminal]
    #[arg(long)]
    pub width: Option<u32>,
    /// Height in terminal rows [default: fit the terminal]
    #[arg(long)]
    pub height: Option<u32>,
}

fn env_is(key: &str, pred: impl Fn(&str) -> bool) -> bool {
    std::env::var(key).is_ok_and(|v| pred(&v))
}

pub fn run(a: ViewArgs) -> Result<i32> {
    let (img, note) = image_io::load_rgb(&a.image)?;
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    let in_tmux = std::env::var_os("TMUX").is_some();
    let kitty = !in_tmux
        && (std::env::var_os("KITTY_WINDOW_ID").is_some()
            || env_is("TERM", |t| t == "xterm-kitty"));
    let iterm = !in_tmux && env_is("TERM_PROGRAM", |t| t == "iTerm.app" || t == "WezTerm");
    let conf = viuer::Config {
        absolute_offset: false,
        width: a.width,
        height: a.height,
        use_kitty: kitty,
        use_iterm: iterm,
        ..Default::default()
    };
    viuer::print(&image::DynamicImage::ImageRgb8(img), &conf)?;
    Ok(0)
}
