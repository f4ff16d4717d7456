//! Finding where a field sits in a preset's text, and suggesting the name that was meant.

/// Line and column (from 1) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    (line, col)
}

/// Where the key of a dotted path (`train.lr`, `model.style_layers.conv1_1`) is written: a line-based
/// scan that understands `[section]` headers and `key = value` lines, which is what presets are
/// made of. Falls back to the line of the deepest table found.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return None;
    }
    let mut table: Vec<String> = vec![];
    let mut best: Option<(usize, (usize, usize))> = None; // (matched depth, position)
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        let indent = raw.len() - line.len();
        if line.starts_with('[') && !line.starts_with("[[") {
            let name = line
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            table = name
                .split('.')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect();
            let depth = prefix_len(&table, &parts);
            if depth == table.len() && depth > best.map(|b| b.0).unwrap_or(0) {
                best = Some((depth, (n + 1, indent + 1)));
            }
            continue;
        }
        let Some(eq) = line.find('=') else { continue };
        let key = line[..eq].trim();
        if key.is_empty() || key.starts_with('#') {
            continue;
        }
        let mut full = table.clone();
        full.extend(
            key.split('.')
                .map(|s| s.trim().trim_matches('"').to_string()),
        );
        let depth = prefix_len(&full, &parts);
        if depth == full.len() && depth > best.map(|b| b.0).unwrap_or(0) {
            best = Some((depth, (n + 1, indent + 1)));
            if depth == parts.len() {
                break;
            }
        }
    }
    best.map(|b| b.1)
}

fn prefix_len(have: &[String], want: &[&str]) -> usize {
    have.iter().zip(want).take_while(|(a, b)| a == *b).count()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be what was meant; between equally
/// close ones, one that `word` begins (`wgan` → `wgangp`, not `lsgan`).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, !c.starts_with(word)))
        .map(|(_, c)| c)
}

/// Adds "did you mean" to serde's "unknown field `x`, expected one of `a`, `b`" and
/// "unknown variant" messages.
pub fn with_suggestion(message: &str) -> String {
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return message.to_string();
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    match quoted.split_first() {
        Some((word, rest)) => match did_you_mean(word, rest.iter().copied()) {
            Some(s) => format!("{message}; did you mean `{s}`?"),
            None => message.to_string(),
        },
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_under_their_sections() {
        let text = "kind = \"nst\"\n\n[train]\nlr = 1\n  iterations = 5\n[model.style_layers]\nconv1_1 = 1.0\n";
        assert_eq!(locate(text, "kind"), Some((1, 1)));
        assert_eq!(locate(text, "train.lr"), Some((4, 1)));
        assert_eq!(locate(text, "train.iterations"), Some((5, 3)));
        assert_eq!(locate(text, "model.style_layers.conv1_1"), Some((7, 1)));
        assert_eq!(
            locate(text, "train.seed"),
            Some((3, 1)),
            "a missing key points at its section"
        );
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, text.find("iterations").unwrap()), (5, 3));
    }

    #[test]
    fn prefers_the_name_the_word_begins() {
        assert_eq!(
            did_you_mean("wgan", ["lsgan", "vanilla", "wgangp"]),
            Some("wgangp")
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("itrations", ["iterations", "lr"]),
            Some("iterations")
        );
        assert_eq!(did_you_mean("zzz", ["iterations", "lr"]), None);
        let m = with_suggestion("unknown field `lrr`, expected one of `optimizer`, `lr`, `seed`");
        assert!(m.ends_with("did you mean `lr`?"), "{m}");
    }
}
