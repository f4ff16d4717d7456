//! Output names for a folder of inputs (translate, dataset prepare): each output keeps its input's
//! path relative to the folder, with `.png` in place of the extension; inputs that would meet at
//! one name (`a.png` and `a.jpg`) keep their extension in it (`a.png.png`, `a.jpg.png`), so no
//! output is lost to another.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The output path, relative to the output folder, of each input under `root` (same order).
pub fn png_names(root: &Path, inputs: &[PathBuf]) -> Vec<PathBuf> {
    let rel = |f: &PathBuf| f.strip_prefix(root).unwrap_or(f).to_path_buf();
    let plain = |f: &PathBuf| rel(f).with_extension("png");
    let mut count: HashMap<PathBuf, usize> = HashMap::new();
    for f in inputs {
        *count.entry(plain(f)).or_default() += 1;
    }
    let mut taken: HashSet<PathBuf> = HashSet::new();
    inputs
        .iter()
        .map(|f| {
            let p = plain(f);
            let mut name = if count[&p] > 1 {
                let r = rel(f);
                let full = r
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                r.with_file_name(format!("{full}.png"))
            } else {
                p
            };
            // an input literally named `a.jpg.png` beside `a.jpg` and `a.png`: number the later one
            let mut n = 2;
            while taken.contains(&name) {
                let stem = name
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                name = name.with_file_name(format!("{stem}-{n}.png"));
                n += 1;
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_the_path_and_never_meet() {
        let root = Path::new("/in");
        let files: Vec<PathBuf> = [
            "/in/a.jpg",
            "/in/a.png",
            "/in/a.jpg.png",
            "/in/b.jpeg",
            "/in/sub/b.jpg",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let names = png_names(root, &files);
        let shown: Vec<String> = names
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(shown[0], "a.jpg.png");
        assert_eq!(shown[1], "a.png.png");
        assert_eq!(shown[3], "b.png");
        assert_eq!(shown[4], "sub/b.png");
        let unique: HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), files.len(), "{shown:?}");
    }
}
