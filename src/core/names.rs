//! Service names (SPEC §4, §11): the one rule every name obeys, wherever it
//! comes from (a config's program, group and process names, `--name`, the
//! basename of a program, `/proc/PID/comm`), and the `GROUP:NAME` form that
//! `status` shows and every TARGET accepts.
//!
//! A name must be usable as a TARGET and as part of a file name: `NAME:*`
//! and `GROUP:NAME` need it free of `:`, log files (`logs/NAME-stderr.log.N`)
//! need it free of `/` and short enough for NAME_MAX, and `all` or a string
//! of digits would be read as another kind of TARGET.

/// Longest name, in bytes. `logs/NAME-stderr.log.N` with the largest
/// backups count (u32, 10 digits) is then 150 bytes, well under NAME_MAX
/// (255), and a FIFO or a rotation's file name is shorter still.
pub const MAX_LEN: usize = 128;

/// Checks a service, program or group name; the error says what is wrong.
pub fn check(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > MAX_LEN {
        return Err(format!(
            "a service name is at most {MAX_LEN} bytes (it names log files); '{}…' is {}",
            head(name, 24),
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '/'))
    {
        return Err(format!("a name may not contain {c:?}"));
    }
    if name == "all" {
        return Err("'all' cannot be a name: as a TARGET it means every service".into());
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{name}' cannot be a name: a TARGET of digits only is a pid; add a letter"
        ));
    }
    Ok(())
}

/// A name made from something found (the basename of a program, a
/// process's comm): what a name may not hold becomes `_`, and it is cut to
/// [`MAX_LEN`]. None if even then it is no name (`all`, digits, empty).
pub fn from_found(raw: &str) -> Option<String> {
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || matches!(c, ':' | '/') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let name = head(&clean, MAX_LEN).to_string();
    check(&name).ok().map(|()| name)
}

/// `base` if it is free, else `base-2`, `base-3`, ...; `base` is cut so
/// the suffix never takes the name past [`MAX_LEN`].
pub fn free(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (2u64..)
        .map(|n| {
            let suffix = format!("-{n}");
            format!("{}{suffix}", head(base, MAX_LEN - suffix.len()))
        })
        .find(|n| !taken(n))
        .unwrap_or_default()
}

/// The name as `status` shows it, as supervisorctl does: `GROUP:NAME` when
/// the process's group (its `[group:g]`, else its program) has another name
/// than the process (members of an explicit group, copies of a numprocs
/// program); the bare name otherwise (plain programs, ad hoc services).
pub fn display(name: &str, program: Option<&str>, group: Option<&str>) -> String {
    match group.or(program) {
        Some(g) if g != name => format!("{g}:{name}"),
        _ => name.to_string(),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for n in ["web", "queue-worker_00", "w-1", "ünï", "a.b", "x1", "1x"] {
            assert_eq!(check(n), Ok(()), "{n}");
        }
        assert_eq!(check(&"n".repeat(MAX_LEN)), Ok(()));
    }

    #[test]
    fn a_long_name_is_refused_naming_the_limit() {
        let e = check(&"x".repeat(300)).unwrap_err();
        assert!(e.contains("at most 128 bytes"), "{e}");
        assert!(e.contains("is 300"), "{e}");
        assert!(e.contains("'xxxxxxxxxxxxxxxxxxxxxxxx…'"), "{e}");
        // Bytes, not characters: 65 two-byte characters are 130 bytes.
        let e = check(&"é".repeat(65)).unwrap_err();
        assert!(e.contains("is 130"), "{e}");
    }

    #[test]
    fn names_that_read_as_other_targets_or_break_paths_are_refused() {
        assert!(check("").unwrap_err().contains("empty"));
        assert!(check("all").unwrap_err().contains("every service"));
        assert!(check("1234").unwrap_err().contains("pid"));
        for bad in ["a b", "a:b", "a/b", "a\tb", "a\u{7}b"] {
            assert!(check(bad).unwrap_err().contains("may not contain"), "{bad}");
        }
    }

    #[test]
    fn found_names_are_cleaned_and_cut() {
        assert_eq!(from_found("Web Content").as_deref(), Some("Web_Content"));
        assert_eq!(from_found("kworker/0:1").as_deref(), Some("kworker_0_1"));
        assert_eq!(from_found(&"é".repeat(100)).map(|n| n.len()), Some(128));
        assert_eq!(from_found("123"), None);
        assert_eq!(from_found("all"), None);
        assert_eq!(from_found(""), None);
    }

    #[test]
    fn a_free_name_stays_within_the_limit() {
        assert_eq!(free("web", |_| false), "web");
        assert_eq!(free("web", |n| n == "web"), "web-2");
        assert_eq!(free("web", |n| n == "web" || n == "web-2"), "web-3");
        let long = "x".repeat(MAX_LEN);
        let got = free(&long, |n| n == long);
        assert_eq!(got.len(), MAX_LEN);
        assert!(got.ends_with("x-2"), "{got}");
        assert_eq!(check(&got), Ok(()));
    }

    #[test]
    fn display_is_group_colon_name_when_they_differ() {
        assert_eq!(display("web", None, None), "web");
        assert_eq!(display("web", Some("web"), None), "web");
        assert_eq!(display("w_00", Some("w"), None), "w:w_00");
        assert_eq!(
            display("worker", Some("worker"), Some("backend")),
            "backend:worker"
        );
        assert_eq!(display("g", Some("g"), Some("g")), "g");
    }
}
