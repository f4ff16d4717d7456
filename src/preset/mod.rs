//! Presets: TOML files saying what to train and how. `kind` selects the schema; every field has the
//! paper's (or the seed's) default, unknown keys are errors with a suggestion, and every error
//! names the file, line, column and field.

pub mod error;
pub mod fast;
pub mod gan;
pub mod kind;
pub mod live;
pub mod locate;
pub mod nst;
pub mod overrides;
pub mod serde_util;
pub mod sizes;

pub use error::{Origin, PresetError, PresetIssue};
pub use fast::FastStylePreset;
pub use gan::GanPreset;
pub use kind::Kind;
pub use nst::NstPreset;

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// The kinds as presets spell them ([`Kind::ALL`]).
pub const KINDS: [&str; 4] = [
    Kind::Nst.as_str(),
    Kind::Pix2Pix.as_str(),
    Kind::CycleGan.as_str(),
    Kind::FastStyle.as_str(),
];

/// The kinds as messages list them.
const KINDS_TEXT: &str = "\"nst\", \"pix2pix\", \"cyclegan\" or \"fast_neural_style\"";

/// A parsed and validated preset.
#[derive(Clone, Debug, PartialEq)]
pub enum Preset {
    Nst(NstPreset),
    /// pix2pix or CycleGAN (`kind` tells which)
    Gan(GanPreset),
    /// Fast style transfer (Johnson et al. 2016, pytorch/examples fast_neural_style)
    FastStyle(FastStylePreset),
}

impl Preset {
    pub fn kind(&self) -> Kind {
        match self {
            Preset::Nst(_) => Kind::Nst,
            Preset::Gan(p) => p.kind(),
            Preset::FastStyle(_) => Kind::FastStyle,
        }
    }

    /// The effective preset as a TOML value (for diffs).
    pub fn effective_value(&self) -> toml::Value {
        match self {
            Preset::Nst(p) => toml::Value::try_from(p.effective()).expect("presets serialise"),
            Preset::Gan(p) => toml::Value::try_from(p.effective()).expect("presets serialise"),
            Preset::FastStyle(p) => {
                toml::Value::try_from(p.effective()).expect("presets serialise")
            }
        }
    }

    /// The effective preset as TOML, every default spelled out.
    pub fn to_toml(&self) -> String {
        match self {
            Preset::Nst(p) => toml::to_string_pretty(&p.effective()).expect("presets serialise"),
            Preset::Gan(p) => toml::to_string_pretty(&p.effective()).expect("presets serialise"),
            Preset::FastStyle(p) => {
                toml::to_string_pretty(&p.effective()).expect("presets serialise")
            }
        }
    }
}

fn syntax_error(text: &str, path: &Path, e: &toml::de::Error) -> PresetError {
    let line = e.span().map(|s| locate::line_col(text, s.start));
    PresetError::single(
        Origin::File {
            path: path.to_path_buf(),
            line,
        },
        "",
        e.message().trim().to_string(),
    )
}

/// Reads, parses and validates a preset file, applying `--set` overrides (`section.key=value`).
pub fn load(path: &Path, overrides: &[String]) -> Result<Preset, PresetError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        PresetError::single(
            Origin::File {
                path: path.to_path_buf(),
                line: None,
            },
            "",
            format!("cannot read: {e}"),
        )
    })?;
    parse(&text, path, overrides)
}

/// Parses preset text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path, overrides: &[String]) -> Result<Preset, PresetError> {
    let at = |field: &str| Origin::File {
        path: path.to_path_buf(),
        line: locate::locate(text, field),
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| syntax_error(text, path, &e))?;
    let kind = match table.get("kind") {
        Some(toml::Value::String(k)) => k.clone(),
        Some(other) => {
            return Err(PresetError::single(
                at("kind"),
                "kind",
                format!("expected a string ({KINDS_TEXT}), got {}", other.type_str()),
            ))
        }
        None => {
            return Err(PresetError::single(
                Origin::File {
                    path: path.to_path_buf(),
                    line: Some((1, 1)),
                },
                "kind",
                format!("missing: start the preset with kind = {KINDS_TEXT}"),
            ))
        }
    };
    match Kind::parse(&kind) {
        Some(Kind::Nst) => {
            let parsed = deserialize::<NstPreset>(text, path, overrides, &table);
            checked(parsed, NstPreset::problems, (text, path, overrides)).map(Preset::Nst)
        }
        Some(Kind::Pix2Pix | Kind::CycleGan) => {
            let parsed = deserialize::<GanPreset>(text, path, overrides, &table);
            let problems = |preset: &GanPreset| {
                let mut problems = preset.problems();
                // the size rules need a generator that parses; a bad netG is reported already
                if !problems.iter().any(|(f, _)| f == "model.netG") {
                    problems.extend(sizes::preset_problems(preset));
                }
                problems
            };
            checked(parsed, problems, (text, path, overrides)).map(Preset::Gan)
        }
        Some(Kind::FastStyle) => {
            let parsed = deserialize::<FastStylePreset>(text, path, overrides, &table);
            checked(parsed, FastStylePreset::problems, (text, path, overrides))
                .map(Preset::FastStyle)
        }
        None => {
            let other = kind.as_str();
            let hint = locate::did_you_mean(other, KINDS)
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            Err(PresetError::single(
                at("kind"),
                "kind",
                format!("unknown kind \"{other}\", expected {KINDS_TEXT}{hint}"),
            ))
        }
    }
}

fn field_of(path: &serde_path_to_error::Path, message: &str) -> String {
    let mut field = path.to_string();
    if field == "." {
        field.clear();
    }
    // serde reports an unknown key at its parent table; name the key itself
    if message.starts_with("unknown field") {
        if let Some(key) = message
            .split('`')
            .nth(1)
            .filter(|k| field != *k && !field.ends_with(&format!(".{k}")))
        {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(key);
        }
    }
    field
}

/// A preset that did not deserialize: what serde found, and the preset its table makes with the
/// offending keys taken out (their defaults in their place), when it makes one, so the rules can
/// be checked too and every problem of the file said at once.
struct Partial<T> {
    error: PresetError,
    repaired: Option<T>,
}

impl<T> From<PresetError> for Partial<T> {
    fn from(error: PresetError) -> Self {
        Self {
            error,
            repaired: None,
        }
    }
}

/// A deserialized preset checked against its rules (`problems`); one that did not deserialize
/// has its repaired table checked too, each rule's problem added unless serde already named its
/// field.
fn checked<T>(
    parsed: Result<T, Partial<T>>,
    problems: impl Fn(&T) -> Vec<(String, String)>,
    (text, path, overrides): (&str, &Path, &[String]),
) -> Result<T, PresetError> {
    match parsed {
        Ok(preset) => {
            let found = problems(&preset);
            if found.is_empty() {
                Ok(preset)
            } else {
                Err(located(found, text, path, overrides))
            }
        }
        Err(Partial {
            mut error,
            repaired,
        }) => {
            if let Some(preset) = repaired {
                let said = |f: &str| {
                    error.issues.iter().any(|i| {
                        !i.field.is_empty()
                            && (f == i.field || f.starts_with(&format!("{}.", i.field)))
                    })
                };
                let more: Vec<_> = problems(&preset)
                    .into_iter()
                    .filter(|(f, _)| !said(f))
                    .collect();
                error
                    .issues
                    .extend(located(more, text, path, overrides).issues);
            }
            Err(error)
        }
    }
}

fn deserialize<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    overrides: &[String],
    table: &toml::Table,
) -> Result<T, Partial<T>> {
    let in_file = |field: String, message: &str, line: Option<(usize, usize)>| PresetIssue {
        origin: line_or_field(text, path, &field, line),
        field,
        message: locate::with_suggestion(message.trim()),
    };
    let de = toml::Deserializer::parse(text).map_err(|e| syntax_error(text, path, &e))?;
    let first = match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(parsed) if overrides.is_empty() => return Ok(parsed),
        Ok(_) => None,
        Err(e) => {
            let field = field_of(e.path(), e.inner().message());
            let span = e.inner().span().map(|s| locate::line_col(text, s.start));
            Some(in_file(field, e.inner().message(), span))
        }
    };
    if let Some(first) = first {
        let (more, repaired) =
            further_errors::<T>(table.clone(), &first.field, |field, message| {
                in_file(field, message, None)
            });
        return Err(Partial {
            error: PresetError {
                issues: std::iter::once(first).chain(more).collect(),
            },
            repaired,
        });
    }
    let mut table = table.clone();
    overrides::apply(&mut table, overrides)?;
    let issue = |field: String, message: &str| {
        let line = locate::locate(text, &field);
        // a table only an override made (`--set foo.bar=1` where the file has no `foo`) is the
        // override's
        let made = || {
            line.is_none()
                .then(|| overrides::origin_below(overrides, &field))?
        };
        let origin = overrides::origin_of(overrides, &field)
            .or_else(made)
            .unwrap_or_else(|| Origin::File {
                path: path.to_path_buf(),
                line,
            });
        PresetIssue {
            origin,
            field,
            message: locate::with_suggestion(message.trim()),
        }
    };
    match serde_path_to_error::deserialize(toml::Value::Table(table.clone())) {
        Ok(parsed) => Ok(parsed),
        Err(e) => {
            let e: serde_path_to_error::Error<toml::de::Error> = e;
            let first = issue(field_of(e.path(), e.inner().message()), e.inner().message());
            let (more, repaired) = further_errors::<T>(table, &first.field, |f, m| issue(f, m));
            Err(Partial {
                error: PresetError {
                    issues: std::iter::once(first).chain(more).collect(),
                },
                repaired,
            })
        }
    }
}

/// Where a field of the file is: its line, else the parser's position.
fn line_or_field(text: &str, path: &Path, field: &str, span: Option<(usize, usize)>) -> Origin {
    Origin::File {
        path: path.to_path_buf(),
        line: locate::locate(text, field).or(span),
    }
}

/// serde stops at a preset's first error, which would hide the others (a misspelt key, then a
/// wrong type two lines down): the offending key is taken out and the rest parsed again (a field
/// taken out falls back to its default) until it parses or a key cannot be taken out. Returns
/// the errors after the first, and the preset the repaired table makes when it makes one.
fn further_errors<T: DeserializeOwned>(
    mut table: toml::Table,
    first: &str,
    issue: impl Fn(String, &str) -> PresetIssue,
) -> (Vec<PresetIssue>, Option<T>) {
    let mut out = vec![];
    let mut field = first.to_string();
    for _ in 0..32 {
        if !remove_field(&mut table, &field) {
            break;
        }
        match serde_path_to_error::deserialize::<_, T>(toml::Value::Table(table.clone())) {
            Ok(repaired) => return (out, Some(repaired)),
            Err(e) => {
                let e: serde_path_to_error::Error<toml::de::Error> = e;
                field = field_of(e.path(), e.inner().message());
                if out.iter().any(|i: &PresetIssue| i.field == field) {
                    break;
                }
                out.push(issue(field.clone(), e.inner().message()));
            }
        }
    }
    (out, None)
}

/// Takes `section.key` (an element `key[2]` takes the whole key) out of the table; false when
/// there is no such key.
fn remove_field(table: &mut toml::Table, field: &str) -> bool {
    let parts: Vec<&str> = field
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .collect();
    if parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    let mut t = table;
    for p in &parts[..parts.len() - 1] {
        match t.get_mut(*p) {
            Some(toml::Value::Table(inner)) => t = inner,
            _ => return false,
        }
    }
    t.remove(parts[parts.len() - 1]).is_some()
}

fn located(
    problems: Vec<(String, String)>,
    text: &str,
    path: &Path,
    overrides: &[String],
) -> PresetError {
    let issues = problems
        .into_iter()
        .map(|(field, message)| PresetIssue {
            origin: overrides::origin_of(overrides, &field).unwrap_or_else(|| Origin::File {
                path: path.to_path_buf(),
                line: locate::locate(text, &field),
            }),
            field,
            message,
        })
        .collect();
    PresetError { issues }
}

/// The `kind` a preset's text declares, if it parses that far (for listings of invalid presets).
pub fn kind_of(text: &str) -> Option<String> {
    text.parse::<toml::Table>()
        .ok()?
        .get("kind")?
        .as_str()
        .map(String::from)
}

/// Presets of a workspace (`presets/*.toml`), sorted by name.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests;
