//! `aiart preset check|list`.

use aiart::preset;
use aiart::workspace::Workspace;
use anyhow::Result;
use std::path::Path;

pub fn check(file: &Path, overrides: &[String]) -> Result<i32> {
    match preset::load(file, overrides) {
        Ok(p) => {
            println!(
                "# {}: valid {} preset; the effective settings:",
                file.display(),
                p.kind()
            );
            print!("{}", p.to_toml());
            if let preset::Preset::Gan(g) = &p {
                if let Some(note) = preset::sizes::images_decide(g) {
                    println!("# note: {note}");
                }
            }
            Ok(0)
        }
        Err(e) => {
            for issue in &e.issues {
                eprintln!("error: {issue}");
            }
            eprintln!("{}: {} error(s)", file.display(), e.issues.len());
            Ok(1)
        }
    }
}

pub fn list(ws: &Workspace) -> Result<i32> {
    let files = preset::list(&ws.presets());
    if files.is_empty() {
        println!("no presets in {}", ws.presets().display());
        return Ok(0);
    }
    println!("{:<28} {:<9} status", "preset", "kind");
    for f in files {
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match preset::load(&f, &[]) {
            Ok(p) => match aiart::data::fetch::preset_needs(&p, &ws.root) {
                Some(why) => println!("{name:<28} {:<9} {}", p.kind(), why.replace('\n', "; ")),
                None => println!("{name:<28} {:<9} ok", p.kind()),
            },
            Err(e) => {
                let kind = std::fs::read_to_string(&f)
                    .ok()
                    .and_then(|t| preset::kind_of(&t))
                    .unwrap_or_else(|| "?".into());
                let first = e.issues.first().map(|i| i.to_string()).unwrap_or_default();
                let more = if e.issues.len() > 1 {
                    format!(" (+{} more)", e.issues.len() - 1)
                } else {
                    String::new()
                };
                println!("{name:<28} {kind:<9} invalid: {first}{more}");
            }
        }
    }
    Ok(0)
}
