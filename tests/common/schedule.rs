//! What the schedule tests (SPEC §17) share: a program that counts its
//! runs in a file, and the `next run in H:MM:SS` of a PENDING detail.

use std::path::Path;

/// How many runs `appender` has recorded in `path`.
pub fn runs(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// A program that appends a line to `file`, then runs `then`.
pub fn appender(file: &Path, then: &str) -> String {
    format!("/bin/sh -c \"echo run >> {}; {then}\"", file.display())
}

/// Seconds in `next run in H:MM:SS`, or None.
pub fn next_in(detail: &str) -> Option<u64> {
    let at = detail.find("next run in ")? + "next run in ".len();
    let clock: String = detail[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let parts: Vec<u64> = clock.split(':').filter_map(|p| p.parse().ok()).collect();
    match parts[..] {
        [h, m, s] => Some(h * 3600 + m * 60 + s),
        _ => None,
    }
}
