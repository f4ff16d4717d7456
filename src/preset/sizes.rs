//! The size rules of pix2pix and CycleGAN, in one place: what each `preprocess` mode makes of an
//! image (the reference's data/base_dataset.py: get_transform, __scale_width, __crop,
//! __make_power_2) and which sizes the generators and discriminators take. `preset check` asks what
//! the preset alone decides ([`preset_problems`]); `dataset validate --preset` and `train` ask about
//! each image ([`preprocessed`], [`network_problem`], through `data::sizes`).

use super::gan::{GanData, GanPreset, Preprocess};
use super::nst::Problem;
use crate::nn::gan::{DiscArch, GenArch};

/// `__make_power_2(img, base=4)`: a side rounded to the nearest multiple of `base` (Python's
/// `round`, halves to even), and at least `base` (where the reference would make it 0).
pub fn make_power_2(side: u32, base: u32) -> u32 {
    (((side as f64 / base as f64).round_ties_even() as u32) * base).max(base)
}

/// `__scale_width`: the width becomes `target`, the height keeps the aspect ratio (rounded down)
/// but is at least `crop`; an image already `target` wide and at least `crop` high is kept.
pub fn scale_width(size: (u32, u32), target: u32, crop: u32) -> (u32, u32) {
    let (w, h) = size;
    if w == target && h >= crop {
        return size;
    }
    let scaled = (target as f64 * h as f64 / w.max(1) as f64) as u32;
    (target, scaled.max(crop))
}

/// `__crop`: an image larger than `crop` on either side becomes `crop`×`crop` (PIL fills what lies
/// outside a smaller side with black); one within `crop` on both sides is kept.
pub fn crop(size: (u32, u32), crop: u32) -> (u32, u32) {
    let (w, h) = size;
    if w > crop || h > crop {
        (crop, crop)
    } else {
        size
    }
}

/// What preprocessing makes of an image: its size (whatever the random crop and flip), and where
/// the size was made to fit as the reference does, a note saying so.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocessed {
    pub size: (u32, u32),
    pub note: Option<String>,
}

fn wxh((w, h): (u32, u32)) -> String {
    format!("{w}×{h}")
}

/// The size of an image of `size` after `get_transform` with the preset's data options.
pub fn preprocessed(d: &GanData, size: (u32, u32)) -> Preprocessed {
    let c = d.crop_size;
    let crop_note = |before: (u32, u32)| {
        let (w, h) = before;
        ((w > c || h > c) && (w < c || h < c)).then(|| {
            format!(
                "{} is smaller than crop_size {c} on one side: the crop is filled out with black \
                 to {c}×{c}, as the reference's crop does",
                wxh(before)
            )
        })
    };
    match d.preprocess {
        Preprocess::ResizeAndCrop => Preprocessed {
            size: crop((d.load_size, d.load_size), c),
            note: None,
        },
        Preprocess::Crop => Preprocessed {
            size: crop(size, c),
            note: crop_note(size),
        },
        Preprocess::ScaleWidth => {
            let out = scale_width(size, d.load_size, c);
            let raised =
                out != size && out.1 > (out.0 as f64 * size.1 as f64 / size.0.max(1) as f64) as u32;
            Preprocessed {
                size: out,
                note: raised.then(|| {
                    format!(
                        "{} scaled to width {} is stretched to height {c} (crop_size), as the \
                         reference's scale_width does",
                        wxh(size),
                        d.load_size
                    )
                }),
            }
        }
        Preprocess::ScaleWidthAndCrop => {
            let scaled = scale_width(size, d.load_size, c);
            Preprocessed {
                size: crop(scaled, c),
                note: crop_note(scaled),
            }
        }
        Preprocess::None => {
            let out = (make_power_2(size.0, 4), make_power_2(size.1, 4));
            Preprocessed {
                size: out,
                note: (out != size).then(|| {
                    format!(
                        "{} is resized to {} (each side to the nearest multiple of 4), as the \
                         reference's preprocess none does",
                        wxh(size),
                        wxh(out)
                    )
                }),
            }
        }
    }
}

/// Whether the image's size depends on the image (so images of one dataset may differ).
pub fn size_depends_on_image(p: Preprocess) -> bool {
    matches!(
        p,
        Preprocess::Crop | Preprocess::ScaleWidth | Preprocess::None
    )
}

/// A rule on each side of a network's input: a multiple of `multiple`, at least `min`.
#[derive(Clone, Debug, PartialEq)]
pub struct SideRule {
    pub multiple: u32,
    pub min: u32,
    /// The network and why, for messages.
    pub why: String,
}

impl SideRule {
    pub fn fits(&self, side: u32) -> bool {
        side >= self.min && side.is_multiple_of(self.multiple)
    }
}

/// The generator's rule. A U-Net of d levels halves the image d times (4×4 stride-2 convolutions
/// floor odd sides) and joins each level to its mirror, so a side must be a multiple of 2^d. The
/// ResNet generator halves twice and doubles back (91 → 46 → 23 → 46 → 92), so a multiple of 4,
/// and its residual blocks reflect-pad the quarter-size plane by 1, so at least 8.
pub fn generator_rule(arch: GenArch) -> SideRule {
    match arch {
        GenArch::Unet { downs } => SideRule {
            multiple: 1 << downs,
            min: 1 << downs,
            why: format!(
                "{} halves the image {downs} times and joins each level to its mirror",
                arch.name()
            ),
        },
        GenArch::Resnet { .. } => SideRule {
            multiple: 4,
            min: 8,
            why: format!(
                "{} halves the image twice and doubles it back, and pads its quarter-size plane",
                arch.name()
            ),
        },
    }
}

/// The discriminator's rule. A PatchGAN of n layers has n stride-2 4×4 convolutions (each needs 2
/// px, and floors) and two stride-1 ones (each takes 1 px), so a side needs at least 3·2^n px.
/// The pixel discriminator takes any size.
pub fn discriminator_rule(arch: DiscArch, n_layers_d: usize) -> SideRule {
    let n = match arch {
        DiscArch::Basic => 3,
        DiscArch::NLayers => n_layers_d,
        DiscArch::Pixel => {
            return SideRule {
                multiple: 1,
                min: 1,
                why: "netD pixel".into(),
            }
        }
    };
    let min = 3u32.saturating_mul(1u32.checked_shl(n as u32).unwrap_or(u32::MAX));
    let name = match arch {
        DiscArch::Basic => "netD basic (a PatchGAN of 3 layers)".to_string(),
        _ => format!("netD n_layers with n_layers_D = {n}"),
    };
    SideRule {
        multiple: 1,
        min,
        why: format!("{name} halves the image {n} times before its last two 4×4 convolutions"),
    }
}

/// The rules of the preset's networks (none for a generator name that does not parse: that is
/// its own problem).
pub fn rules(p: &GanPreset) -> Vec<SideRule> {
    let mut out = vec![];
    if let Some(arch) = GenArch::parse(&p.net_g()) {
        out.push(generator_rule(arch));
    }
    out.push(discriminator_rule(p.model.net_d, p.model.n_layers_d));
    out
}

/// The smallest side at least `side` that every rule takes, and the largest at most `side` (if any).
pub fn nearest_sides(rules: &[SideRule], side: u32) -> (Option<u32>, u32) {
    // every multiple is a power of two (or 1), so the largest one is their least common multiple
    let step = rules.iter().map(|r| r.multiple).max().unwrap_or(1).max(1);
    let min = rules.iter().map(|r| r.min).max().unwrap_or(1);
    let down = side - side % step;
    let up = side.max(min).div_ceil(step).saturating_mul(step);
    ((down >= min && down > 0).then_some(down), up)
}

/// What one side breaks: the rule, said in words.
pub fn side_problem(rules: &[SideRule], side: u32) -> Option<String> {
    let r = rules.iter().find(|r| !r.fits(side))?;
    let need = if r.multiple > 1 && r.min > r.multiple {
        format!("a multiple of {} and at least {}", r.multiple, r.min)
    } else if r.multiple > 1 {
        format!("a multiple of {}", r.multiple)
    } else {
        format!("at least {} px", r.min)
    };
    Some(format!("{}, so each side must be {need}", r.why))
}

/// Why an input of `size` cannot go through the preset's networks (None when it can).
pub fn network_problem(p: &GanPreset, size: (u32, u32)) -> Option<String> {
    let rules = rules(p);
    let (w, h) = size;
    let bad = side_problem(&rules, w).or_else(|| side_problem(&rules, h))?;
    Some(format!("{} does not fit: {bad}", wxh(size)))
}

/// A side that suits the rules, as advice: `128` or `128 or 256`.
pub fn suggest(rules: &[SideRule], side: u32) -> String {
    match nearest_sides(rules, side) {
        (Some(d), u) if d != u => format!("{d} or {u}"),
        (_, u) => u.to_string(),
    }
}

/// The problems the preset alone decides: where every image comes out crop_size × crop_size
/// (resize_and_crop, scale_width_and_crop, and crop of images larger than it) the crop size, and
/// with scale_width the width (load_size).
pub fn preset_problems(p: &GanPreset) -> Vec<Problem> {
    let d = &p.data;
    let rules = rules(p);
    let mut out = vec![];
    let (field, side, what) = match d.preprocess {
        Preprocess::ResizeAndCrop | Preprocess::ScaleWidthAndCrop | Preprocess::Crop => (
            "data.crop_size",
            d.crop_size,
            "every image is cropped to it",
        ),
        Preprocess::ScaleWidth => (
            "data.load_size",
            d.load_size,
            "scale_width makes every image this wide",
        ),
        Preprocess::None => return out,
    };
    if side == 0 {
        return out;
    }
    if let Some(why) = side_problem(&rules, side) {
        out.push((
            field.to_string(),
            format!(
                "{side} does not suit the networks ({what}): {why}; use {} = {}",
                field.trim_start_matches("data."),
                suggest(&rules, side)
            ),
        ));
    }
    out
}

/// Where the images decide the size (the preset cannot): what the networks need, and how to check.
pub fn images_decide(p: &GanPreset) -> Option<String> {
    let d = &p.data;
    let what = match d.preprocess {
        Preprocess::None => "preprocess none keeps each image's size (each side rounded to a \
                             multiple of 4, as the reference does)"
            .to_string(),
        Preprocess::ScaleWidth => format!(
            "scale_width makes each image {} wide and as high as its aspect ratio gives (at \
             least crop_size {})",
            d.load_size, d.crop_size
        ),
        Preprocess::Crop => format!(
            "crop keeps the size of images no larger than crop_size {}",
            d.crop_size
        ),
        _ => return None,
    };
    let rules = rules(p);
    let step = rules.iter().map(|r| r.multiple).max().unwrap_or(1);
    let min = rules.iter().map(|r| r.min).max().unwrap_or(1);
    let batch = if d.batch_size > 1 {
        format!(
            ", and batch_size {} needs every image to come out one size",
            d.batch_size
        )
    } else {
        String::new()
    };
    Some(format!(
        "{what}; the networks need each side a multiple of {step} and at least {min}{batch}: \
         `aiart dataset validate DATASET --preset PRESET` checks the images"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gan(kind: &str, net_g: &str, preprocess: Preprocess, load: u32, crop: u32) -> GanPreset {
        let mut p = GanPreset {
            kind: kind.into(),
            ..Default::default()
        };
        p.model.net_g = Some(net_g.into());
        p.data.preprocess = preprocess;
        p.data.load_size = load;
        p.data.crop_size = crop;
        p
    }

    #[test]
    fn make_power_2_rounds_as_python() {
        // Python: int(round(70 / 4) * 4) = 72, round(18.5) = 18 (halves to even), round(25.25) = 25
        assert_eq!(make_power_2(70, 4), 72);
        assert_eq!(make_power_2(74, 4), 72);
        assert_eq!(make_power_2(101, 4), 100);
        assert_eq!(make_power_2(100, 4), 100);
        assert_eq!(make_power_2(1, 4), 4);
    }

    #[test]
    fn each_preprocess_mode_as_the_reference() {
        let p = |mode, load, crop| gan("cyclegan", "resnet_9blocks", mode, load, crop).data;
        // the example: a 70×100 portrait scaled to width 64 is 91 high
        let sw = preprocessed(&p(Preprocess::ScaleWidth, 64, 64), (70, 100));
        assert_eq!(sw.size, (64, 91));
        // scale_width keeps a height of at least crop_size
        let tall = preprocessed(&p(Preprocess::ScaleWidth, 64, 64), (200, 100));
        assert_eq!(tall.size, (64, 64));
        assert!(tall.note.unwrap().contains("stretched"));
        assert_eq!(
            preprocessed(&p(Preprocess::ScaleWidth, 64, 32), (64, 40)).size,
            (64, 40),
            "already the width: kept"
        );
        assert_eq!(
            preprocessed(&p(Preprocess::ResizeAndCrop, 286, 256), (600, 400)).size,
            (256, 256)
        );
        assert_eq!(
            preprocessed(&p(Preprocess::ScaleWidthAndCrop, 80, 64), (70, 100)).size,
            (64, 64)
        );
        let small = preprocessed(&p(Preprocess::Crop, 64, 64), (40, 30));
        assert_eq!(
            small,
            Preprocessed {
                size: (40, 30),
                note: None
            }
        );
        let one_side = preprocessed(&p(Preprocess::Crop, 64, 64), (100, 30));
        assert_eq!(one_side.size, (64, 64));
        assert!(one_side.note.unwrap().contains("black"));
        let none = preprocessed(&p(Preprocess::None, 0, 0), (100, 70));
        assert_eq!(none.size, (100, 72));
        assert!(none.note.unwrap().contains("multiple of 4"));
    }

    #[test]
    fn network_rules() {
        let unet = gan("pix2pix", "unet_128", Preprocess::None, 0, 0);
        let e = network_problem(&unet, (100, 72)).unwrap();
        assert!(
            e.contains("unet_128") && e.contains("multiple of 128"),
            "{e}"
        );
        assert!(network_problem(&unet, (128, 256)).is_none());
        let resnet = gan("cyclegan", "resnet_9blocks", Preprocess::None, 0, 0);
        let e = network_problem(&resnet, (64, 91)).unwrap();
        assert!(e.contains("multiple of 4"), "{e}");
        // PatchGAN basic: 3 halvings, then two 4×4 convs: 24 is the smallest side
        assert!(network_problem(&resnet, (24, 24)).is_none());
        let e = network_problem(&resnet, (20, 24)).unwrap();
        assert!(e.contains("at least 24") && e.contains("netD basic"), "{e}");
        let mut pixel = resnet.clone();
        pixel.model.net_d = DiscArch::Pixel;
        assert!(network_problem(&pixel, (8, 8)).is_none());
        assert!(network_problem(&pixel, (4, 8))
            .unwrap()
            .contains("at least 8"));
        let mut n5 = resnet.clone();
        n5.model.net_d = DiscArch::NLayers;
        n5.model.n_layers_d = 5;
        assert_eq!(discriminator_rule(DiscArch::NLayers, 5).min, 96);
        assert!(network_problem(&n5, (92, 96))
            .unwrap()
            .contains("n_layers_D = 5"));
        assert_eq!(suggest(&rules(&unet), 100), "128");
        assert_eq!(suggest(&rules(&unet), 200), "128 or 256");
    }

    #[test]
    fn what_the_preset_alone_decides() {
        let p = gan("pix2pix", "unet_256", Preprocess::ResizeAndCrop, 286, 200);
        let probs = preset_problems(&p);
        assert_eq!(probs.len(), 1);
        assert_eq!(probs[0].0, "data.crop_size");
        assert!(probs[0].1.contains("use crop_size = 256"), "{:?}", probs);
        let sw = gan("cyclegan", "resnet_9blocks", Preprocess::ScaleWidth, 66, 64);
        let probs = preset_problems(&sw);
        assert_eq!(probs[0].0, "data.load_size", "{probs:?}");
        assert!(probs[0].1.contains("64 or 68"), "{probs:?}");
        // the CycleGAN: the width suits; the height is the images' business
        assert!(preset_problems(&gan(
            "cyclegan",
            "resnet_9blocks",
            Preprocess::ScaleWidth,
            64,
            64
        ))
        .is_empty());
        assert!(
            preset_problems(&gan("pix2pix", "unet_128", Preprocess::None, 286, 256)).is_empty()
        );
    }
}
