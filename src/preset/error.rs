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
    /// One issue a line, in the file's order (those without a line after, then the `--set`s in
    /// the order given), as a compiler lists them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut issues: Vec<&PresetIssue> = self.issues.iter().collect();
        issues.sort_by_key(|i| match &i.origin {
            Origin::File {
                line: Some((l, c)), ..
            } => (0, *l, *c),
            Origin::File { line: None, .. } => (1, 0, 0),
            Origin::Override(_) => (2, 0, 0),
        });
        for (i, issue) in issues.into_iter().enumerate() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_are_listed_in_the_file_s_order_then_the_overrides() {
        let at = |line| Origin::File {
            path: "p.toml".into(),
            line,
        };
        let issue = |origin, field: &str| PresetIssue {
            origin,
            field: field.into(),
            message: "bad".into(),
        };
        let e = PresetError {
            issues: vec![
                issue(Origin::Override("x.y=1".into()), "x.y"),
                issue(at(Some((9, 1))), "train.lr"),
                issue(at(None), "data"),
                issue(at(Some((4, 1))), "data.crop_size"),
            ],
        };
        let text = e.to_string();
        let fields: Vec<&str> = text
            .lines()
            .map(|l| l.split(": ").nth(1).unwrap())
            .collect();
        assert_eq!(fields, ["data.crop_size", "train.lr", "data", "x.y"]);
    }
}
