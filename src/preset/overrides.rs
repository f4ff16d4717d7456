//! `--set section.key=value` overrides. The value is read as a TOML value (`0.5`, `true`,
//! `"adam"`, `[1, 2]`); a bare word that is not valid TOML is taken as a string.

use super::error::{Origin, PresetError};

fn split(arg: &str) -> Option<(&str, &str)> {
    let (k, v) = arg.split_once('=')?;
    let k = k.trim();
    (!k.is_empty()).then_some((k, v.trim()))
}

pub fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.trim_matches('"').into()),
    }
}

pub fn apply(table: &mut toml::Table, overrides: &[String]) -> Result<(), PresetError> {
    for arg in overrides {
        let Some((key, raw)) = split(arg) else {
            return Err(PresetError::single(
                Origin::Override(arg.clone()),
                "",
                "expected section.key=value",
            ));
        };
        let parts: Vec<&str> = key.split('.').collect();
        let mut t = &mut *table;
        for p in &parts[..parts.len() - 1] {
            let entry = t
                .entry(p.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            t = match entry {
                toml::Value::Table(inner) => inner,
                _ => {
                    return Err(PresetError::single(
                        Origin::Override(arg.clone()),
                        key,
                        format!("`{p}` is not a table"),
                    ))
                }
            };
        }
        t.insert(parts[parts.len() - 1].to_string(), parse_value(raw));
    }
    Ok(())
}

/// The override that set `field` (or a table holding it), if any.
pub fn origin_of(overrides: &[String], field: &str) -> Option<Origin> {
    overrides
        .iter()
        .rev()
        .find(|o| split(o).is_some_and(|(k, _)| k == field || field.starts_with(&format!("{k}."))))
        .map(|o| Origin::Override(o.clone()))
}

/// The override that set a key inside `field` (a table), if any.
pub fn origin_below(overrides: &[String], field: &str) -> Option<Origin> {
    overrides
        .iter()
        .rev()
        .find(|o| split(o).is_some_and(|(k, _)| k.starts_with(&format!("{field}."))))
        .map(|o| Origin::Override(o.clone()))
}
