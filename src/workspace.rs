//! The workspace folder: `presets/`, `datasets/`, `runs/`. It is `--workspace DIR`, else
//! `$AIART_HOME`, else the current folder.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    pub fn resolve(flag: Option<&Path>) -> Self {
        let root = flag
            .map(Path::to_path_buf)
            .or_else(|| {
                std::env::var_os("AIART_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("."));
        Self { root }
    }

    pub fn presets(&self) -> PathBuf {
        self.root.join("presets")
    }
    pub fn datasets(&self) -> PathBuf {
        self.root.join("datasets")
    }
    pub fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }
}

/// A path from a preset: absolute as is, else relative to the workspace (presets name their
/// datasets and images relative to the workspace, wherever the command runs).
pub fn resolve_path(workspace: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        workspace.join(p)
    }
}
