//! `did you mean ...?`: the closest known word to a mistyped one, for config
//! keys and shell commands alike, so both make the same suggestions.

/// The candidate nearest to `word` by edit distance, if it is close enough to
/// be a typo (at most a third of the word's length, and at least one edit
/// allowed); ties go to the first candidate.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean X?"` or nothing, to append to a message.
pub fn hint<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    match closest(word, candidates) {
        Some(c) => format!("; did you mean {c}?"),
        None => String::new(),
    }
}

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and swaps of two neighbours each count one (`atuorestart` is one edit).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 {
                j
            } else if j == 0 {
                i
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[(i - 1) * w + j] + 1)
                    .min(d[i * w + j - 1] + 1)
                    .min(d[(i - 1) * w + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[(i - 2) * w + j - 2] + 1);
                }
                v
            };
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["autorestart", "autostart", "command", "startsecs", "user"];

    #[test]
    fn typos_find_their_key() {
        assert_eq!(
            closest("autorestrat", KEYS.iter().copied()),
            Some("autorestart")
        );
        assert_eq!(
            closest("atuostart", KEYS.iter().copied()),
            Some("autostart")
        );
        assert_eq!(closest("comand", KEYS.iter().copied()), Some("command"));
        assert_eq!(
            closest("Startsecs", KEYS.iter().copied()),
            Some("startsecs")
        );
        assert_eq!(
            closest("stauts", ["status", "start", "stop"]),
            Some("status")
        );
    }

    #[test]
    fn unrelated_words_find_nothing() {
        assert_eq!(closest("xyz", KEYS.iter().copied()), None);
        assert_eq!(closest("serverurl", KEYS.iter().copied()), None);
        assert_eq!(hint("zzzzzz", KEYS.iter().copied()), "");
        assert_eq!(
            hint("usr", KEYS.iter().copied()),
            "; did you mean user?".to_string()
        );
    }
}
