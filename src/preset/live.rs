//! Which preset fields may change while a run is live, and the difference between two effective
//! presets. Learning rates and their schedule lengths, loss weights, existing style layers' weights
//! and the `[log]` intervals are live; everything else (architecture, norm, data, sizes, device,
//! optimiser kind, kind) is frozen for the run's life.

use std::collections::BTreeMap;

/// A changed leaf: dotted field, old and new value as TOML text ("—" when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub field: String,
    pub old: String,
    pub new: String,
}

const LIVE: [&str; 15] = [
    "train.lr",
    "train.iterations",
    "train.content_weight",
    "train.style_weight",
    "train.tv_weight",
    "train.n_epochs",
    "train.n_epochs_decay",
    "train.lambda_L1",
    "train.lambda_A",
    "train.lambda_B",
    "train.lambda_identity",
    "log.print_every",
    "log.sample_every",
    "log.checkpoint_every",
    "log.keep_checkpoints",
];

fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Every leaf that differs between two presets (`Preset::effective_value`).
pub fn diff(old: &toml::Value, new: &toml::Value) -> Vec<Change> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", old, &mut a);
    flatten("", new, &mut b);
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
    if LIVE.contains(&c.field.as_str()) {
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
}
