//! `aiart model …`: the reference implementations' published models (`list`, `fetch`), by the
//! names their download scripts take (`data::models`), and `export` (model_export.rs).

use aiart::data::models::{self, fetch, Published};
use aiart::workspace::Workspace;
use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Every published model: name, whether it is fetched (with its size, else about how large it
    /// is), what it is and what it translates
    List,
    /// Download a published model into the workspace's models/ (resumable): then
    /// `translate --checkpoint NAME`, `stylize --model NAME` and a preset's `init_from = "NAME"`
    /// find it by name
    Fetch {
        /// CycleGAN (the reference's download_cyclegan_model.sh): apple2orange, orange2apple,
        /// summer2winter_yosemite, winter2summer_yosemite, horse2zebra, zebra2horse, monet2photo,
        /// style_monet, style_cezanne, style_ukiyoe, style_vangogh, sat2map, map2sat,
        /// cityscapes_photo2label, cityscapes_label2photo, facades_photo2label,
        /// facades_label2photo, iphone2dslr_flower; pix2pix (download_pix2pix_model.sh):
        /// edges2shoes, sat2map, map2sat, facades_label2photo, day2night; fast style
        /// (pytorch/examples' saved_models.zip, all four at once): candy, mosaic, rain_princess,
        /// udnie. NAME_pretrained (the reference's folder name) works too; a name both GAN
        /// scripts publish takes its kind: cyclegan/sat2map, pix2pix/sat2map
        name: String,
        /// Download and replace a model that is already there
        #[arg(long)]
        force: bool,
        /// Host to download from instead of the publisher's (a mirror keeping its paths); default
        /// $AIART_MODELS_URL, else http://efrosgans.eecs.berkeley.edu (CycleGAN, pix2pix),
        /// https://www.dropbox.com (fast style)
        #[arg(long)]
        base_url: Option<String>,
    },
    /// How much a fast style network's clips flicker: its temporal error on two clips cut from a
    /// photo whose motion is known exactly (a pan by whole pixels, a still with fresh sensor
    /// noise), each beside the input clip's own, in levels of 255
    Flicker(super::model_flicker::FlickerArgs),
    /// A fast style network's content and style losses on a fixed set of photos (by default its
    /// run's held-out ones), weighted as its preset trains them: the style measure of a finished
    /// network, to compare two runs of one preset by
    Losses(super::model_losses::LossesArgs),
    /// Export a fast style network or a pix2pix / CycleGAN generator as a PyTorch .pth state dict
    /// (what the reference's code loads) and / or an ONNX graph (onnxruntime and other runtimes)
    Export(super::model_export::ExportArgs),
}

/// `--base-url`, else `$AIART_MODELS_URL`, else None (the publisher's).
fn base_url(flag: Option<String>) -> Option<String> {
    flag.or_else(|| std::env::var(models::BASE_URL_ENV).ok())
        .filter(|s| !s.is_empty())
}

/// What `model list` says a model is.
fn describe(m: &Published) -> String {
    match m.direction {
        Some(d) => format!(
            "{} ({}): {}; trained {d:?} on {}",
            m.kind,
            m.network(),
            m.what,
            m.dataset
        ),
        None => format!("{} ({}): {}", m.kind, m.network(), m.what),
    }
}

pub fn run(ws: &Workspace, a: ModelArgs) -> Result<i32> {
    match a.command {
        ModelCommand::Export(e) => super::model_export::run(ws, e),
        ModelCommand::Flicker(f) => super::model_flicker::run(ws, f),
        ModelCommand::Losses(l) => super::model_losses::run(ws, l),
        ModelCommand::List => {
            let dir = ws.models();
            // a name both GAN scripts publish is listed with its kind, as it must be given
            let name = |m: &Published| {
                if models::lookup(m.name).is_ok() {
                    m.name.to_string()
                } else {
                    m.qualified()
                }
            };
            let w = models::ALL.iter().map(|m| name(m).len()).max().unwrap_or(0);
            println!(
                "{:<w$} {:<20} what (in {})",
                "name",
                "fetched",
                dir.display()
            );
            for m in &models::ALL {
                let name = name(m);
                let file = m.file(&dir);
                let there = match std::fs::metadata(&file) {
                    Ok(md) if md.is_file() => format!("yes {}", indicatif::HumanBytes(md.len())),
                    _ => format!("no (~{})", indicatif::HumanBytes(m.approx_bytes())),
                };
                println!("{name:<w$} {there:<20} {}", describe(m));
            }
            Ok(0)
        }
        ModelCommand::Fetch {
            name,
            force,
            base_url: flag,
        } => {
            let m = models::lookup(&name)?;
            let base = base_url(flag);
            match fetch::fetch(m, &ws.models(), force, base.as_deref())? {
                fetch::Fetched::Downloaded(files) => {
                    if files.len() > 1 {
                        eprintln!(
                            "{}: the published zip holds every style; all {} are in {}",
                            m.name,
                            files.len(),
                            files[0].parent().unwrap_or(&ws.models()).display()
                        );
                    }
                    println!("{}", m.file(&ws.models()).display());
                }
                fetch::Fetched::AlreadyThere(file) => println!(
                    "{} is already there; pass --force to download it again",
                    file.display()
                ),
            }
            Ok(0)
        }
    }
}
