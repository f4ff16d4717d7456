//! Which preset fields may change while a run is live, and the difference between two effective
//! presets. Learning rates and their schedule lengths, loss weights, existing style layers' weights
//! and the `[log]` intervals are live; everything else (architecture, norm, data, sizes, device,
//! optimiser kind, kind) is frozen for the run's life.

use super::kind::Kind;
use super::nst::{Iterations, LogConfig};
use super::{FastStylePreset, GanPreset, NstPreset};
use std::collections::BTreeMap;

/// A changed leaf: dotted field, old and new value as TOML text ("—" when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// The `[log]` intervals, live in every kind.
const LOG_LIVE: [&str; 4] = [
    "log.print_every",
    "log.sample_every",
    "log.checkpoint_every",
    "log.keep_checkpoints",
];

/// pix2pix's and CycleGAN's live fields: [`GanLive`]'s, as the preset spells them.
pub const GAN_LIVE: [&str; 7] = [
    "train.lr",
    "train.n_epochs",
    "train.n_epochs_decay",
    "train.lambda_L1",
    "train.lambda_A",
    "train.lambda_B",
    "train.lambda_identity",
];

/// Fast style transfer's live fields: [`FastLive`]'s.
pub const FAST_LIVE: [&str; 5] = [
    "train.lr",
    "train.lr_decay_epochs",
    // the schedule's length
    "train.epochs",
    "train.content_weight",
    "train.style_weight",
];

/// Style transfer's live fields: [`NstLive`]'s (and each existing style layer's weight, see
/// [`is_live`]).
pub const NST_LIVE: [&str; 5] = [
    "train.lr",
    "train.iterations",
    "train.content_weight",
    "train.style_weight",
    "train.tv_weight",
];

/// The live fields of `kind`'s presets, `[log]` included: what a live edit may change.
pub fn admitted(kind: Kind) -> Vec<&'static str> {
    let own: &[&str] = match kind {
        Kind::Pix2Pix | Kind::CycleGan => &GAN_LIVE,
        Kind::FastStyle => &FAST_LIVE,
        Kind::Nst => &NST_LIVE,
    };
    own.iter().chain(LOG_LIVE.iter()).copied().collect()
}

/// What a live edit may change in a pix2pix or CycleGAN run, taken whole by the trainer's
/// `apply_live` (a field added here and not taken there does not compile).
#[derive(Clone, Debug, PartialEq)]
pub struct GanLive {
    /// the initial learning rate of the linear policy (`train.lr`)
    pub lr: f64,
    pub n_epochs: u64,
    pub n_epochs_decay: u64,
    /// λ_L1 (pix2pix)
    pub lambda_l1: f64,
    /// λ_A, λ_B, λ_identity (CycleGAN)
    pub lambda_a: f64,
    pub lambda_b: f64,
    pub lambda_identity: f64,
    pub log: LogConfig,
}

impl GanLive {
    pub fn of(p: &GanPreset) -> Self {
        let t = &p.train;
        Self {
            lr: t.lr,
            n_epochs: t.n_epochs,
            n_epochs_decay: t.n_epochs_decay,
            lambda_l1: t.lambda_l1,
            lambda_a: t.lambda_a,
            lambda_b: t.lambda_b,
            lambda_identity: t.lambda_identity,
            log: p.log.clone(),
        }
    }
}

/// What a live edit may change in a fast style transfer run (see [`GanLive`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FastLive {
    pub lr: f64,
    /// the linear decay's length in epochs (`train.lr_decay_epochs`)
    pub lr_decay_epochs: u64,
    pub epochs: u64,
    pub content_weight: f64,
    pub style_weight: f64,
    pub log: LogConfig,
}

impl FastLive {
    pub fn of(p: &FastStylePreset) -> Self {
        let t = &p.train;
        Self {
            lr: t.lr,
            lr_decay_epochs: t.lr_decay_epochs,
            epochs: t.epochs,
            content_weight: t.content_weight,
            style_weight: t.style_weight,
            log: p.log.clone(),
        }
    }
}

/// What a live edit may change in a style transfer (see [`GanLive`]).
#[derive(Clone, Debug, PartialEq)]
pub struct NstLive {
    /// the optimiser's learning rate in force (`train.lr`, else the optimiser's default)
    pub lr: f64,
    pub iterations: Iterations,
    pub content_weight: f64,
    pub style_weight: f64,
    pub tv_weight: f64,
    /// each style layer's weight, in layer order (the layers themselves are frozen)
    pub style_layers: Vec<f64>,
    pub log: LogConfig,
}

impl NstLive {
    pub fn of(p: &NstPreset) -> Self {
        let t = &p.train;
        Self {
            lr: t.lr(),
            iterations: t.iterations.clone(),
            content_weight: t.content_weight,
            style_weight: t.style_weight,
            tv_weight: t.tv_weight,
            style_layers: p.model.style_layers.values().copied().collect(),
            log: p.log.clone(),
        }
    }
}

/// The leaves of a TOML document by dotted path (arrays are leaves).
pub fn leaves(v: &toml::Value) -> BTreeMap<String, toml::Value> {
    fn walk(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, toml::Value>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", v, &mut out);
    out
}

fn flatten(v: &toml::Value) -> BTreeMap<String, String> {
    leaves(v)
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
}

/// `base` with the leaves that changed from `old` to `new` changed the same way: a file edit applied
/// on top of the preset in force, which may hold `runs set` changes to other fields.
pub fn merge(base: &toml::Value, old: &toml::Value, new: &toml::Value) -> toml::Value {
    let (a, b) = (leaves(old), leaves(new));
    let mut out = base.clone();
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        if a.get(k) == b.get(k) {
            continue;
        }
        let parts: Vec<&str> = k.split('.').collect();
        let toml::Value::Table(mut t) = std::mem::replace(&mut out, toml::Value::Boolean(false))
        else {
            unreachable!()
        };
        set_leaf(&mut t, &parts, b.get(k).cloned());
        out = toml::Value::Table(t);
    }
    out
}

fn set_leaf(t: &mut toml::Table, parts: &[&str], v: Option<toml::Value>) {
    if parts.len() == 1 {
        match v {
            Some(v) => {
                t.insert(parts[0].to_string(), v);
            }
            None => {
                t.remove(parts[0]);
            }
        }
        return;
    }
    let entry = t
        .entry(parts[0].to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(inner) = entry {
        set_leaf(inner, &parts[1..], v);
    }
}

/// Every leaf that differs between two presets (`Preset::effective_value`).
pub fn diff(old: &toml::Value, new: &toml::Value) -> Vec<Change> {
    let (a, b) = (flatten(old), flatten(new));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| Change {
            field: k.clone(),
            old: a.get(k).cloned().unwrap_or_else(|| "—".into()),
            new: b.get(k).cloned().unwrap_or_else(|| "—".into()),
        })
        .collect()
}

/// Whether a field may change live. A style layer's weight may, when the layer exists on both sides.
pub fn is_live(c: &Change) -> bool {
    let field = c.field.as_str();
    if LOG_LIVE.contains(&field)
        || [&GAN_LIVE[..], &FAST_LIVE, &NST_LIVE]
            .concat()
            .contains(&field)
    {
        return true;
    }
    c.field.starts_with("model.style_layers.") && c.old != "—" && c.new != "—"
}

/// Splits changes into (live, frozen).
pub fn classify(changes: Vec<Change>) -> (Vec<Change>, Vec<Change>) {
    changes.into_iter().partition(is_live)
}

pub fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, c.old, c.new))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::{parse, Preset};
    use std::path::Path;

    fn nst(extra: &str) -> toml::Value {
        let text = format!("kind = \"nst\"\n[data]\ncontent = \"c\"\nstyle = \"s\"\n{extra}");
        let p: Preset = parse(&text, Path::new("p"), &[]).unwrap();
        p.effective_value()
    }

    #[test]
    fn live_and_frozen_fields() {
        let a = nst("[train]\nlr = 0.01\n");
        let b = nst("[train]\nlr = 0.02\noptimizer = \"lbfgs\"\n[model.style_layers]\nconv1_1 = 3.0\nconv4_2 = 1.0\n");
        let (live, frozen) = classify(diff(&a, &b));
        let names = |v: &[Change]| v.iter().map(|c| c.field.clone()).collect::<Vec<_>>();
        assert_eq!(names(&live), vec!["model.style_layers.conv1_1", "train.lr"]);
        assert!(names(&frozen).contains(&"train.optimizer".to_string()));
        assert!(
            names(&frozen).contains(&"model.style_layers.conv4_2".to_string()),
            "a new layer is frozen"
        );
        assert!(
            names(&frozen).contains(&"model.style_layers.conv5_1".to_string()),
            "a removed layer is frozen"
        );
        assert_eq!(describe(&live[1..]), "train.lr: 0.01 -> 0.02");
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn file_edits_merge_over_runtime_changes() {
        let file_old = nst("[train]\nlr = 0.01\n");
        let file_new = nst("[train]\nlr = 0.01\ntv_weight = 0.5\n");
        let in_force = nst("[train]\nlr = 0.02\n"); // after `runs set … train.lr=0.02`
        let merged = merge(&in_force, &file_old, &file_new);
        let names: Vec<String> = diff(&in_force, &merged)
            .into_iter()
            .map(|c| format!("{}={}", c.field, c.new))
            .collect();
        assert_eq!(names, vec!["train.tv_weight=0.5"], "the runtime lr stays");
    }

    #[test]
    fn fast_style_live_fields() {
        let fast = |extra: &str| {
            let text = format!(
                "kind = \"fast_neural_style\"\n[data]\ndataset = \"d\"\nstyle_image = \"s\"\n{extra}"
            );
            parse(&text, Path::new("p"), &[]).unwrap().effective_value()
        };
        let a = fast("image_size = 64\n");
        let b = fast("image_size = 128\nstyle_size = 32\n[model]\nvgg_weights = \"random\"\n[train]\nlr = 0.01\ncontent_weight = 2.0\nstyle_weight = 3.0\nepochs = 5\nbatch_size = 2\n[log]\nsample_every = 3\n");
        let (live, frozen) = classify(diff(&a, &b));
        let names = |v: &[Change]| v.iter().map(|c| c.field.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&live),
            vec![
                "log.sample_every",
                "train.content_weight",
                "train.epochs",
                "train.lr",
                "train.style_weight"
            ]
        );
        assert_eq!(
            names(&frozen),
            vec![
                "data.image_size",
                "data.style_size",
                "model.vgg_weights",
                "train.batch_size"
            ]
        );
    }

    /// Every field a kind admits as live reaches its `*Live` struct, which the trainer's
    /// `apply_live` takes whole: a field on the list that no struct carries fails here, one in a
    /// struct that a trainer ignores does not compile.
    #[test]
    fn every_admitted_field_reaches_the_live_settings() {
        let minimal = |kind: Kind| match kind {
            Kind::Nst => "kind = \"nst\"\n[data]\ncontent = \"c\"\nstyle = \"s\"\n".to_string(),
            Kind::Pix2Pix | Kind::CycleGan => {
                format!("kind = \"{kind}\"\n[data]\ndataroot = \"d\"\n")
            }
            // epochs enough that lr_decay_epochs + 3 stays within them
            Kind::FastStyle => "kind = \"fast_neural_style\"\n[data]\ndataset = \"d\"\n\
                                style_image = \"s\"\n[train]\nepochs = 8\n"
                .to_string(),
        };
        let live = |p: &Preset| match p {
            Preset::Gan(p) => format!("{:?}", GanLive::of(p)),
            Preset::FastStyle(p) => format!("{:?}", FastLive::of(p)),
            Preset::Nst(p) => format!("{:?}", NstLive::of(p)),
        };
        for kind in Kind::ALL {
            let text = minimal(kind);
            let before = parse(&text, Path::new("p"), &[]).unwrap();
            let values = leaves(&before.effective_value());
            for field in admitted(kind) {
                // another valid value of the field's own type
                let new = match values.get(field) {
                    Some(toml::Value::Integer(n)) => (n + 3).to_string(),
                    Some(toml::Value::Float(x)) => (x + 0.125).to_string(),
                    Some(toml::Value::Array(_)) | None => "7".to_string(),
                    Some(other) => panic!("{kind}: {field} = {other}: not a number"),
                };
                let set = [format!("{field}={new}")];
                let after = parse(&text, Path::new("p"), &set)
                    .unwrap_or_else(|e| panic!("{kind}: {}: {e}", set[0]));
                let (changes, frozen) =
                    classify(diff(&before.effective_value(), &after.effective_value()));
                assert!(frozen.is_empty() && !changes.is_empty(), "{kind}: {field}");
                assert_ne!(
                    live(&before),
                    live(&after),
                    "{kind}: {field} reaches no trainer"
                );
            }
        }
        // a style layer's weight too
        let nst = |w: &str| {
            let text = format!(
                "{}[model.style_layers]\nconv1_1 = {w}\n",
                minimal(Kind::Nst)
            );
            let Preset::Nst(p) = parse(&text, Path::new("p"), &[]).unwrap() else {
                unreachable!()
            };
            NstLive::of(&p)
        };
        assert_ne!(nst("1.0"), nst("2.0"));
    }
}
