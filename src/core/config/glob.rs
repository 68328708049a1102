//! Glob patterns of `[include] files =`, matched as Python's `glob` matches
//! them (supervisord's own reader), one path component at a time.

/// Whether a file name matches a glob as Python's `glob` matches it: `*` any
/// run, `?` any one character, `[abc]`, `[a-z]`, `[!abc]` one character of
/// (or not of) a set, an unclosed `[` itself; a name starting with `.` only
/// when the pattern does too.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was and how much of the name it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => match char_class(&p, pi, n[ni]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                None => (n[ni] == '[').then_some(pi + 1),
            },
            Some(&c) => (c == n[ni]).then_some(pi + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                pi = next;
                ni += 1;
            }
            (None, Some((sp, sn))) => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The `[...]` at `p[start]` against `c`: whether it matches and where the
/// pattern goes on; `None` if the bracket is never closed (then it is a
/// plain `[`).
fn char_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut j = start + 1;
    let negate = p.get(j) == Some(&'!');
    if negate {
        j += 1;
    }
    let first = j;
    if p.get(j) == Some(&']') {
        j += 1;
    }
    while p.get(j)? != &']' {
        j += 1;
    }
    let set = &p[first..j];
    let mut hit = false;
    let mut k = 0;
    while k < set.len() {
        if k + 2 < set.len() && set[k + 1] == '-' {
            hit |= set[k] <= c && c <= set[k + 2];
            k += 3;
        } else {
            hit |= set[k] == c;
            k += 1;
        }
    }
    Some((hit != negate, j + 1))
}

/// Whether a path component has a wildcard, so it is listed, not joined.
pub(super) fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}
