//! Sweeps: one run per combination of a grid of preset values, made up front; `sweeps/<id>/
//! manifest.json` maps each task index to its run and grid values. A sweep runs as a Slurm job
//! array, or locally behind a queue that starts a few trainers at a time.

use crate::atomic::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One axis of the grid: a preset field and its values (TOML, as on `--set`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Task {
    pub index: usize,
    pub run: PathBuf,
    /// `key=value`, one per axis
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Manifest {
    pub id: String,
    pub preset: PathBuf,
    pub grid: Vec<Axis>,
    pub tasks: Vec<Task>,
    /// `local` or `slurm`
    pub launcher: String,
    pub max_parallel: Option<usize>,
    /// The Slurm job array
    #[serde(default)]
    pub job: Option<String>,
    pub created: f64,
}

/// `key=v1,v2,…` → an axis.
pub fn parse_axis(s: &str) -> Result<Axis, String> {
    let (key, values) = s
        .split_once('=')
        .ok_or_else(|| format!("--grid `{s}`: expected section.key=v1,v2,…"))?;
    let key = key.trim();
    if !key.contains('.') {
        return Err(format!("--grid `{s}`: `{key}` is not section.key"));
    }
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().any(|v| v.is_empty()) {
        return Err(format!("--grid `{s}`: an empty value"));
    }
    Ok(Axis {
        key: key.into(),
        values,
    })
}

/// Every combination, the last axis varying fastest: each as `key=value` overrides.
pub fn combinations(grid: &[Axis]) -> Vec<Vec<String>> {
    grid.iter().fold(vec![vec![]], |acc, axis| {
        acc.iter()
            .flat_map(|c| {
                axis.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push(format!("{}={v}", axis.key));
                    c
                })
            })
            .collect()
    })
}

/// A run's grid values, short, for people: `train.lr=0.01`, `train.style_weight=1e-4` →
/// `lr=0.01 style_weight=1e-4`. Only the key loses its section (the value is kept whole, dots
/// and all); where two axes share a last key name (`model.ngf`, `disc.ngf`), both keep theirs.
/// The one label of a sweep's runs: `sweep show`, the Runs screen and its comparison use it.
pub fn label(values: &[String]) -> String {
    let short = |v: &str| -> String {
        match v.split_once('=') {
            Some((key, value)) => {
                let key = key.trim();
                format!("{}={value}", key.rsplit_once('.').map_or(key, |(_, k)| k))
            }
            None => v.to_string(),
        }
    };
    let keys: Vec<String> = values
        .iter()
        .map(|v| {
            short(v)
                .split_once('=')
                .map_or(String::new(), |(k, _)| k.to_string())
        })
        .collect();
    values
        .iter()
        .zip(&keys)
        .map(|(v, k)| {
            if !k.is_empty() && keys.iter().filter(|o| *o == k).count() > 1 {
                v.clone()
            } else {
                short(v)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn dir(workspace: &Path, id: &str) -> PathBuf {
    workspace.join("sweeps").join(id)
}

pub fn write(workspace: &Path, m: &Manifest) -> std::io::Result<()> {
    let d = dir(workspace, &m.id);
    std::fs::create_dir_all(&d)?;
    write_atomic(&d.join("manifest.json"), &serde_json::to_vec_pretty(m)?)
}

pub fn read(workspace: &Path, id: &str) -> Result<Manifest, String> {
    let p = dir(workspace, id).join("manifest.json");
    let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))
}

/// Every sweep of the workspace, oldest first.
pub fn list(workspace: &Path) -> Vec<Manifest> {
    let mut out: Vec<Manifest> = std::fs::read_dir(workspace.join("sweeps"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let id = e.file_name().to_string_lossy().into_owned();
                    read(workspace, &id).ok()
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
    out
}

/// A sweep named by its id or a unique prefix of it.
pub fn resolve(workspace: &Path, name: &str) -> Result<Manifest, String> {
    let all = list(workspace);
    if let Some(m) = all.iter().find(|m| m.id == name) {
        return Ok(m.clone());
    }
    let hits: Vec<&Manifest> = all.iter().filter(|m| m.id.starts_with(name)).collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "no sweep `{name}` under {}",
            workspace.join("sweeps").display()
        )),
        many => Err(format!(
            "`{name}` names {} sweeps; give more of the id",
            many.len()
        )),
    }
}

/// The marker that keeps a local queue from starting more runs.
pub fn stop_marker(workspace: &Path, id: &str) -> PathBuf {
    dir(workspace, id).join("stop")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_combinations() {
        let g = vec![
            parse_axis("train.lr=1e-4, 2e-4,4e-4").unwrap(),
            parse_axis("model.ngf=32,64").unwrap(),
        ];
        let c = combinations(&g);
        assert_eq!(c.len(), 6);
        assert_eq!(c[0], vec!["train.lr=1e-4", "model.ngf=32"]);
        assert_eq!(c[1], vec!["train.lr=1e-4", "model.ngf=64"]);
        assert_eq!(c[5], vec!["train.lr=4e-4", "model.ngf=64"]);
        assert!(parse_axis("lr=1").is_err());
        assert!(parse_axis("train.lr").is_err());
        assert!(parse_axis("train.lr=1,,2").is_err());
    }

    #[test]
    fn labels_keep_values_whole() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // issue 21.1: a learning-rate sweep lost its values to the decimal point
        assert_eq!(
            label(&v(&["train.lr=0.01", "train.style_weight=1e-4"])),
            "lr=0.01 style_weight=1e-4"
        );
        assert_eq!(
            label(&v(&["train.lr=0.05", "train.style_weight=1e-3"])),
            "lr=0.05 style_weight=1e-3"
        );
        // values with dots, commas of strings, '=' inside, nested keys
        assert_eq!(
            label(&v(&[
                "data.content=\"photos/a.b.png\"",
                "train.device=\"cuda:0\""
            ])),
            "content=\"photos/a.b.png\" device=\"cuda:0\""
        );
        assert_eq!(
            label(&v(&["model.style_layers.conv1_1=0.2"])),
            "conv1_1=0.2"
        );
        assert_eq!(label(&v(&["train.note=a=b.c"])), "note=a=b.c");
        // two axes with the same last key keep their sections, so the label stays unambiguous
        assert_eq!(
            label(&v(&["model.ngf=64", "disc.ngf=32", "train.lr=2e-4"])),
            "model.ngf=64 disc.ngf=32 lr=2e-4"
        );
        assert_eq!(label(&[]), "");
    }
}
