//! The reference implementations' published models, by the names their download scripts take:
//! pytorch-CycleGAN-and-pix2pix's `scripts/download_cyclegan_model.sh` (18 CycleGAN generators)
//! and `scripts/download_pix2pix_model.sh` (5 pix2pix generators), and pytorch/examples
//! `fast_neural_style/download_saved_models.py` (4 styles in one zip). Each with what it is (kind,
//! architecture, normalisation, the dataset and direction it was trained on), where `aiart model
//! fetch` puts it (`models/` in the workspace, the reference's own layout inside), and `find`, which
//! every command that takes a model by name asks, so no flag is needed.

pub mod fetch;

use crate::nn::gan::GenConfig;
use crate::nn::layers::NormKind;
use crate::preset::gan::Direction;
use crate::preset::Kind;
use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

/// One published model.
#[derive(Debug, PartialEq, Eq)]
pub struct Published {
    /// The name the reference's download script takes (`horse2zebra`, `candy`).
    pub name: &'static str,
    pub kind: Kind,
    /// What it turns into what (`horse → zebra`), or the style.
    pub what: &'static str,
    /// The reference's dataset it was trained on (as `aiart dataset fetch` names it where it
    /// fetches it).
    pub dataset: &'static str,
    /// Which way across `dataset` it translates; None for fast style.
    pub direction: Option<Direction>,
}

const fn cyclegan(
    name: &'static str,
    what: &'static str,
    dataset: &'static str,
    d: Direction,
) -> Published {
    Published {
        name,
        kind: Kind::CycleGan,
        what,
        dataset,
        direction: Some(d),
    }
}

const fn pix2pix(
    name: &'static str,
    what: &'static str,
    dataset: &'static str,
    d: Direction,
) -> Published {
    Published {
        name,
        kind: Kind::Pix2Pix,
        what,
        dataset,
        direction: Some(d),
    }
}

const fn style(name: &'static str, what: &'static str) -> Published {
    Published {
        name,
        kind: Kind::FastStyle,
        what,
        dataset: "coco-train2014",
        direction: None,
    }
}

use Direction::{AtoB, BtoA};

/// Every published model: the reference's scripts' names in their order (pytorch-CycleGAN-and-
/// pix2pix master 2a7afba; pytorch/examples 77f55b9). Directions: a CycleGAN generator `x2y`
/// trained on dataset `x2y` is its G_A (A→B); `style_*` are G_B of `*2photo` (photo → painting);
/// pix2pix's facades and maps hold photo | label and aerial | map, night2day night | day, so
/// `facades_label2photo`, `map2sat` and `day2night` translate B→A (the reference's docs/datasets.md:
/// "To train a day2night pix2pix model, you need to add --direction BtoA").
pub const ALL: [Published; 27] = [
    cyclegan("apple2orange", "apple → orange", "apple2orange", AtoB),
    cyclegan("orange2apple", "orange → apple", "apple2orange", BtoA),
    cyclegan(
        "summer2winter_yosemite",
        "summer → winter (Yosemite)",
        "summer2winter_yosemite",
        AtoB,
    ),
    cyclegan(
        "winter2summer_yosemite",
        "winter → summer (Yosemite)",
        "summer2winter_yosemite",
        BtoA,
    ),
    cyclegan("horse2zebra", "horse → zebra", "horse2zebra", AtoB),
    cyclegan("zebra2horse", "zebra → horse", "horse2zebra", BtoA),
    cyclegan("monet2photo", "Monet painting → photo", "monet2photo", AtoB),
    cyclegan("style_monet", "photo → Monet painting", "monet2photo", BtoA),
    cyclegan(
        "style_cezanne",
        "photo → Cézanne painting",
        "cezanne2photo",
        BtoA,
    ),
    cyclegan(
        "style_ukiyoe",
        "photo → ukiyo-e print",
        "ukiyoe2photo",
        BtoA,
    ),
    cyclegan(
        "style_vangogh",
        "photo → Van Gogh painting",
        "vangogh2photo",
        BtoA,
    ),
    cyclegan("sat2map", "aerial photo → map", "maps", AtoB),
    cyclegan("map2sat", "map → aerial photo", "maps", BtoA),
    cyclegan(
        "cityscapes_photo2label",
        "street photo → label map",
        "cityscapes",
        AtoB,
    ),
    cyclegan(
        "cityscapes_label2photo",
        "label map → street photo",
        "cityscapes",
        BtoA,
    ),
    cyclegan(
        "facades_photo2label",
        "facade photo → label map",
        "facades",
        AtoB,
    ),
    cyclegan(
        "facades_label2photo",
        "label map → facade photo",
        "facades",
        BtoA,
    ),
    cyclegan(
        "iphone2dslr_flower",
        "iPhone flower photo → DSLR (shallow depth of field)",
        "iphone2dslr_flower",
        AtoB,
    ),
    pix2pix("edges2shoes", "edges → shoe photo", "edges2shoes", AtoB),
    pix2pix("sat2map", "aerial photo → map", "maps", AtoB),
    pix2pix("map2sat", "map → aerial photo", "maps", BtoA),
    pix2pix(
        "facades_label2photo",
        "label map → facade photo",
        "facades",
        BtoA,
    ),
    pix2pix("day2night", "day → night", "night2day", BtoA),
    style("candy", "Candy"),
    style("mosaic", "Mosaic"),
    style("rain_princess", "Rain Princess (Leonid Afremov)"),
    style("udnie", "Udnie (Francis Picabia)"),
];

/// Where the reference's scripts download from (efrosgans for both GANs, Dropbox for fast style).
pub const EFROS_URL: &str = "http://efrosgans.eecs.berkeley.edu";
pub const DROPBOX_URL: &str = "https://www.dropbox.com";
/// Replaces both publishers' host for every model (a mirror, or a test's local server); the paths
/// stay the publishers'.
pub const BASE_URL_ENV: &str = "AIART_MODELS_URL";
/// pytorch/examples' one zip of its four styles, unpacked as `saved_models/<style>.pth`.
pub const STYLE_ZIP_PATH: &str = "/s/lrvwfehqdcxoza8/saved_models.zip?dl=1";
pub const STYLE_ZIP_FOLDER: &str = "saved_models";

/// The reference's folder suffix: its scripts save `checkpoints/NAME_pretrained/latest_net_G.pth`,
/// and its test.py takes `--name NAME_pretrained`; both spellings name the model here.
pub const PRETRAINED: &str = "_pretrained";

/// Parameters of each architecture as published (float32, 4 bytes each): resnet_9blocks and
/// unet_256 at ngf 64, 3 → 3 channels, and TransformerNet 32/64/128 with 5 residual blocks.
/// `tests` builds each network and counts.
pub const RESNET_9BLOCKS_PARAMS: u64 = 11_378_179;
pub const UNET_256_PARAMS: u64 = 54_413_955;
pub const TRANSFORMER_NET_PARAMS: u64 = 1_679_235;

/// Why a model name cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model `{name}`{near}; `aiart model list` shows all {n}", n = ALL.len())]
    Unknown { name: String, near: String },
    #[error(
        "`{name}` is published both as {}: name one of them",
        .candidates.join(" and ")
    )]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    #[error(
        "{name} ({what}) is a published {kind} model not fetched yet: get it with `aiart model \
         fetch {name}`, or put the file at {}",
        .file.display()
    )]
    NotFetched {
        name: String,
        what: String,
        kind: Kind,
        file: PathBuf,
    },
    #[error(
        "--direction {asked:?}: {name} translates {what} only ({dataset}'s {trained:?}){other}"
    )]
    OtherWay {
        name: String,
        what: &'static str,
        dataset: &'static str,
        trained: Direction,
        asked: Direction,
        other: String,
    },
}

impl Published {
    /// `kind/name`, the spelling that tells apart the three names both GAN scripts publish.
    pub fn qualified(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// The address the reference's script downloads from, on `base` in place of the
    /// publisher's host when given (no trailing slash).
    pub fn url(&self, base: Option<&str>) -> String {
        let (host, path) = match self.kind {
            Kind::CycleGan => (
                EFROS_URL,
                format!("/cyclegan/pretrained_models/{}.pth", self.name),
            ),
            Kind::Pix2Pix => (
                EFROS_URL,
                format!("/pix2pix/models-pytorch/{}.pth", self.name),
            ),
            _ => (DROPBOX_URL, STYLE_ZIP_PATH.to_string()),
        };
        format!("{}{path}", base.unwrap_or(host).trim_end_matches('/'))
    }

    /// Its file under the workspace's `models/`: `cyclegan/NAME_pretrained/latest_net_G.pth`,
    /// `pix2pix/NAME_pretrained/latest_net_G.pth` (the reference's `checkpoints/` layout, so its
    /// folders can be copied in as they are), `fast_neural_style/saved_models/NAME.pth` (its zip
    /// as unpacked).
    pub fn file(&self, models: &Path) -> PathBuf {
        let root = models.join(self.kind.as_str());
        if self.kind == Kind::FastStyle {
            root.join(STYLE_ZIP_FOLDER)
                .join(format!("{}.pth", self.name))
        } else {
            root.join(format!("{}{PRETRAINED}", self.name))
                .join("latest_net_G.pth")
        }
    }

    /// The generator as the reference builds it for these files (`--model test` with the
    /// script's options): CycleGAN resnet_9blocks, instance norm, no dropout; pix2pix unet_256,
    /// batch norm, dropout; both ngf 64, 3 → 3 channels. None for a fast style network.
    pub fn gen_config(&self) -> Option<GenConfig> {
        let (arch, norm, dropout) = match self.kind {
            Kind::CycleGan => ("resnet_9blocks", NormKind::Instance, false),
            Kind::Pix2Pix => ("unet_256", NormKind::Batch, true),
            _ => return None,
        };
        Some(GenConfig {
            arch: arch.into(),
            input_nc: 3,
            output_nc: 3,
            ngf: 64,
            norm,
            dropout,
        })
    }

    /// The network, as `model list` says it.
    pub fn network(&self) -> &'static str {
        match self.kind {
            Kind::CycleGan => "resnet_9blocks, instance norm",
            Kind::Pix2Pix => "unet_256, batch norm",
            _ => "TransformerNet",
        }
    }

    /// The size of its weights in bytes (parameters × 4), about the file's size.
    pub fn approx_bytes(&self) -> u64 {
        4 * match self.kind {
            Kind::CycleGan => RESNET_9BLOCKS_PARAMS,
            Kind::Pix2Pix => UNET_256_PARAMS,
            _ => TRANSFORMER_NET_PARAMS,
        }
    }

    /// The direction a pix2pix generator's aligned A|B inputs are read in (as a pix2pix run's
    /// checkpoint); None for a CycleGAN generator, which takes whole images.
    pub fn aligned(&self) -> Option<Direction> {
        self.direction.filter(|_| self.kind == Kind::Pix2Pix)
    }

    /// The published model that translates the other way across the same dataset, if any.
    pub fn reverse(&self) -> Option<&'static Published> {
        ALL.iter().find(|m| {
            m.kind == self.kind
                && m.dataset == self.dataset
                && m.direction.is_some()
                && m.direction != self.direction
        })
    }

    /// `--direction asked` for this generator: a published generator translates one way only,
    /// its own; another is refused, naming the model that translates that way where one is
    /// published.
    pub fn check_direction(&self, asked: Direction) -> Result<(), ModelError> {
        let Some(trained) = self.direction.filter(|d| *d != asked) else {
            return Ok(());
        };
        let other = match self.reverse() {
            Some(r) => format!("; for {asked:?} use {} ({})", r.name, r.what),
            None => format!("; no published {} model translates {asked:?}", self.kind),
        };
        Err(ModelError::OtherWay {
            name: self.name.into(),
            what: self.what,
            dataset: self.dataset,
            trained,
            asked,
            other,
        })
    }
}

/// The model a name means: `NAME`, `NAME_pretrained` or `kind/NAME`. A bare name both GAN scripts
/// publish is refused with the two spellings; an unknown one lists the names nearest to it.
pub fn lookup(given: &str) -> Result<&'static Published, ModelError> {
    let (kind, bare) = match given.split_once('/') {
        Some((k, n)) => (Some(k), n),
        None => (None, given),
    };
    let bare = bare.strip_suffix(PRETRAINED).unwrap_or(bare);
    let found: Vec<&'static Published> = ALL
        .iter()
        .filter(|m| m.name == bare && kind.is_none_or(|k| m.kind.as_str() == k))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(ModelError::Unknown {
            name: given.into(),
            near: near(given),
        }),
        many => Err(ModelError::Ambiguous {
            name: given.into(),
            candidates: many.iter().map(|m| m.qualified()).collect(),
        }),
    }
}

/// "; did you mean a, b?" with the published names closest to `given` (Jaro-Winkler ≥ 0.8, or
/// one containing the other), the closest first; "" when none is close.
fn near(given: &str) -> String {
    let bare = given.rsplit('/').next().unwrap_or(given).to_lowercase();
    let mut scored: Vec<(f64, &str)> = ALL
        .iter()
        .map(|m| {
            let s = strsim::jaro_winkler(&bare, m.name);
            let contains = bare.len() >= 3 && (m.name.contains(&bare) || bare.contains(m.name));
            (if contains { s.max(0.9) } else { s }, m.name)
        })
        .filter(|(s, _)| *s >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let mut names: Vec<&str> = scored.into_iter().map(|(_, n)| n).collect();
    names.dedup();
    names.truncate(4);
    if names.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", names.join(", "))
    }
}

/// A published model whose file is in the workspace.
#[derive(Debug)]
pub struct Local {
    pub model: &'static Published,
    pub file: PathBuf,
}

/// The published model a command was given by name, when `given` is not a path that exists (as
/// written, under the workspace or under its runs/: a path or run always wins) and names one: Ok(Some) with its file when
/// fetched; an error saying how to fetch it when not, or naming both models for an ambiguous name;
/// Ok(None) for anything else (the caller's own "not found" follows).
pub fn find(ws: &Workspace, given: &Path) -> Result<Option<Local>, ModelError> {
    // a run of that name (`stylize --model ID`) is the user's own, and wins too
    if ws.path(given).exists() || ws.runs().join(given).exists() || given.components().count() > 2 {
        return Ok(None);
    }
    let Some(text) = given.to_str() else {
        return Ok(None);
    };
    let model = match lookup(text) {
        Ok(m) => m,
        Err(ModelError::Unknown { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let file = model.file(&ws.models());
    if !file.is_file() {
        return Err(ModelError::NotFetched {
            name: text.into(),
            what: model.what.into(),
            kind: model.kind,
            file,
        });
    }
    Ok(Some(Local { model, file }))
}

/// A preset's `init_from` (paths relative to `workspace`): the path when it exists; else, for a
/// published pix2pix or CycleGAN model's name, its folder (`models/<kind>/NAME_pretrained/`, the
/// reference's, holding `latest_net_G.pth`); else the path as given, for the caller's error.
pub fn init_from(workspace: &Path, given: &Path) -> PathBuf {
    let path = crate::workspace::resolve_path(workspace, given);
    if path.exists() || given.components().count() > 2 {
        return path;
    }
    let ws = Workspace {
        root: workspace.to_path_buf(),
    };
    match given.to_str().map(lookup) {
        Some(Ok(m)) if m.kind.is_gan() => m
            .file(&ws.models())
            .parent()
            .map_or(path, Path::to_path_buf),
        _ => path,
    }
}

/// The file of network `name` (`G_A`, `G_B`) in a published CycleGAN model's folder, which holds
/// one generator: G_A is the model of the pair that translates A→B across its dataset, G_B the
/// one that translates B→A (`horse2zebra` and `zebra2horse`), each from its own folder once
/// fetched. None for any other folder or name.
pub fn init_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let folder = dir.file_name()?.to_str()?.strip_suffix(PRETRAINED)?;
    let kind_dir = dir.parent()?;
    if kind_dir.file_name()? != Kind::CycleGan.as_str() {
        return None;
    }
    let m = lookup(&format!("{}/{folder}", Kind::CycleGan)).ok()?;
    let want = match name {
        "G_A" => Direction::AtoB,
        "G_B" => Direction::BtoA,
        _ => return None,
    };
    let pick = if m.direction == Some(want) {
        m
    } else {
        m.reverse()?
    };
    let file = pick.file(kind_dir.parent()?);
    file.is_file().then_some(file)
}

#[cfg(test)]
mod tests;
