//! `aiart preset check|list`.

use aiart::preset;
use aiart::workspace::Workspace;
use anyhow::Result;
use std::path::Path;

/// Valid, and every input file it names there (exit 0); otherwise each problem on stderr (exit 1).
pub fn check(ws: &Workspace, file: &Path, overrides: &[String]) -> Result<i32> {
    match preset::load(file, overrides) {
        Ok(p) => {
            let missing = aiart::data::fetch::preset_missing_inputs(&p, &ws.root);
            if !missing.is_empty() {
                for m in &missing {
                    eprintln!("error: {m}");
                }
                eprintln!(
                    "{}: a valid {} preset, but {} input(s) missing; training would fail",
                    file.display(),
                    p.kind(),
                    missing.len()
                );
                return Ok(1);
            }
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
            if let preset::Preset::FastStyle(f) = &p {
                let dir = aiart::workspace::resolve_path(&ws.root, &f.data.sample_images);
                if !f.data.sample_images.as_os_str().is_empty() {
                    if let Some(note) =
                        aiart::data::photos::sample_folder_note(&dir, f.data.sample_count)
                    {
                        println!("# note: {note}");
                    }
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
    // the kind column as wide as the longest kind (`fast_neural_style`)
    let kw = preset::KINDS.iter().map(|k| k.len()).max().unwrap_or(0);
    println!("{:<28} {:<kw$} status", "preset", "kind");
    for f in files {
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match preset::load(&f, &[]) {
            Ok(p) => match aiart::data::fetch::preset_needs(&p, &ws.root) {
                Some(why) => println!("{name:<28} {:<kw$} {}", p.kind(), why.replace('\n', "; ")),
                None => println!("{name:<28} {:<kw$} ok", p.kind()),
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
                println!("{name:<28} {kind:<kw$} invalid: {first}{more}");
            }
        }
    }
    Ok(0)
}
