//! Preset errors that point at the file, line, column and field, as a compiler would.

use std::fmt;
use std::path::PathBuf;

/// Where a preset value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A position in the preset file (line and column from 1), when it could be found.
    File {
        path: PathBuf,
        line: Option<(usize, usize)>,
    },
    /// A `--set section.key=value` on the command line.
    Override(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PresetIssue {
    pub origin: Origin,
    /// Dotted field path (`train.lr`); empty for a syntax error.
    pub field: String,
    pub message: String,
}

impl fmt::Display for PresetIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::File {
                path,
                line: Some((l, c)),
            } => write!(f, "{}:{l}:{c}: ", path.display())?,
            Origin::File { path, line: None } => write!(f, "{}: ", path.display())?,
            Origin::Override(s) => write!(f, "--set {s}: ")?,
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every problem found in one preset.
#[derive(Debug, thiserror::Error)]
pub struct PresetError {
    pub issues: Vec<PresetIssue>,
}

impl fmt::Display for PresetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl PresetError {
    pub fn single(origin: Origin, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            issues: vec![PresetIssue {
                origin,
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}
