//! The values of SPEC §5's keys, parsed as `ServiceSpec::set` and the
//! config reader take them: durations, sizes, booleans, signals, output
//! targets, `environment`, and command lines split into words.

use super::OutputSpec;
use std::path::PathBuf;
use std::time::Duration;

/// Longest delay sv accepts anywhere (a year): a deadline past it could
/// overflow the clock arithmetic, and nobody means it.
pub const MAX_SECS: u64 = 365 * 24 * 3600;

/// Whole seconds, at most [`MAX_SECS`].
pub fn parse_secs(v: &str, key: &str) -> Result<Duration, String> {
    let n: u64 = parse_num(v, key)?;
    if n > MAX_SECS {
        return Err(format!("{key} '{v}' is more than a year ({MAX_SECS} s)"));
    }
    Ok(Duration::from_secs(n))
}

/// Whole seconds, 1 to [`MAX_SECS`]: 0 would make a check spin.
pub(super) fn parse_secs_min1(v: &str, key: &str) -> Result<Duration, String> {
    let d = parse_secs(v, key)?;
    if d.is_zero() {
        return Err(format!("{key} must be at least 1 second"));
    }
    Ok(d)
}

pub fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("'{v}' is not a boolean (true or false)")),
    }
}

pub(super) fn parse_num<T: std::str::FromStr>(v: &str, key: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{key} '{v}' is not a valid number"))
}

/// `50MB`, `10KB`, `1GB` (powers of 1024) or plain bytes.
pub fn parse_size(v: &str) -> Result<u64, String> {
    let upper = v.to_ascii_uppercase();
    let (num, mult) = [
        ("GB", 1u64 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
        ("B", 1),
    ]
    .iter()
    .find_map(|(suffix, m)| upper.strip_suffix(suffix).map(|n| (n.trim(), *m)))
    .unwrap_or((upper.as_str(), 1));
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("size '{v}' is not like 50MB, 10KB or 1GB"))
}

/// `TERM`, `SIGTERM` or `15`.
pub fn parse_signal(v: &str) -> Result<i32, String> {
    if let Ok(n) = v.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(format!("signal number {n} is out of range"));
    }
    let upper = v.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    if let Some(rt) = name.strip_prefix("SIGRT") {
        return parse_realtime(rt).ok_or_else(|| {
            format!("'{v}' is not a real-time signal (RTMIN, RTMIN+1 .. RTMAX-1, RTMAX)")
        });
    }
    name.parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .map_err(|_| format!("'{v}' is not a signal name or number"))
}

/// `MIN`, `MIN+3`, `MAX-2`, `MAX` (after `SIGRT`): SIGRTMIN is 34, as
/// `kill -l` numbers it (see `service::RTMIN`).
fn parse_realtime(rt: &str) -> Option<i32> {
    use crate::core::service::{RTMAX, RTMIN};
    let offset = |n: &str| n.trim().parse::<i32>().ok().filter(|n| *n >= 0);
    let sig = if let Some(n) = rt.strip_prefix("MIN+") {
        RTMIN.checked_add(offset(n)?)?
    } else if let Some(n) = rt.strip_prefix("MAX-") {
        RTMAX.checked_sub(offset(n)?)?
    } else {
        match rt {
            "MIN" => RTMIN,
            "MAX" => RTMAX,
            _ => return None,
        }
    };
    (RTMIN..=RTMAX).contains(&sig).then_some(sig)
}

/// `AUTO`, `NONE`, `/dev/null`, `/dev/stdout`, a path...
pub fn parse_output(v: &str) -> OutputSpec {
    match v {
        "AUTO" | "auto" | "" => OutputSpec::Auto,
        "NONE" | "none" | "/dev/null" => OutputSpec::Discard,
        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" | "/proc/1/fd/1" => OutputSpec::Daemon(1),
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" | "/proc/1/fd/2" => OutputSpec::Daemon(2),
        path => OutputSpec::File(PathBuf::from(path)),
    }
}

/// `log_prefix`: a config value loses its spaces at both ends, so an
/// unquoted prefix is followed by one space (`%(program_name)s |` gives
/// `web | `); a prefix in double quotes is taken exactly as written.
pub(super) fn parse_prefix(v: &str) -> Option<Box<str>> {
    let exact = v.strip_prefix('"').and_then(|q| q.strip_suffix('"'));
    let p = exact.map_or_else(|| format!("{v} "), str::to_string);
    (!v.is_empty()).then(|| p.into())
}

/// `KEY=VAL,KEY2="value, with commas"`.
pub fn parse_env(v: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = v.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        let mut has_eq = false;
        for c in chars.by_ref() {
            if c == '=' {
                has_eq = true;
                break;
            }
            key.push(c);
        }
        let key = key.trim().to_string();
        if !has_eq {
            return Err(format!("environment entry '{key}' is not KEY=VALUE"));
        }
        if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '"') {
            return Err(format!("environment entry '{key}' is not KEY=VALUE"));
        }
        let mut val = String::new();
        let mut quote = None;
        while let Some(&c) = chars.peek() {
            match (quote, c) {
                (None, ',') => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    chars.next();
                    if let Some(n) = chars.next() {
                        val.push(n);
                    }
                    continue;
                }
                _ => val.push(c),
            }
            chars.next();
        }
        if quote.is_some() {
            return Err(format!("environment value of {key} has an unclosed quote"));
        }
        out.push((key, val.trim().to_string()));
    }
}

/// Splits a command line as a shell splits words: whitespace separates,
/// single quotes are literal, double quotes allow `\"` and `\\`, a backslash
/// outside quotes escapes the next character. No expansion is done.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unclosed single quote in command".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("unclosed double quote in command".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unclosed double quote in command".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("command ends with a lone backslash".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// The inverse of [`split_words`], for showing a command line: words with
/// spaces or quotes are single-quoted so the line reads back the same.
pub fn join_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+%@^".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
