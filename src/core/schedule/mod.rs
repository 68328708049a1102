//! Schedules (SPEC §17): when a scheduled service is due next.
//!
//! `Schedule::parse` reads EXPR (five cron fields, an optional leading
//! seconds field, the `@` forms, `@every DURATION`); `Schedule::next` is a
//! pure function (schedule, now, anchor, zone) -> the next due instant, so
//! the daemon sleeps until then and never ticks in between.
//!
//! # Local time and DST
//!
//! Cron fields are matched against the local clock of a `Zone` (TZif files
//! or POSIX TZ strings, `zone.rs`). When the clock jumps forward, the local
//! times skipped do not run (02:30 on the spring-forward day in
//! Europe/Berlin: that day has no run at all), and nothing is made up
//! after the jump (cronie would run them at once; SPEC §17 says no). When
//! the clock goes back, a local time met twice runs once, at its first
//! occurrence, unless the second, minute or hour field starts with `*`:
//! those "wildcard" schedules (cronie's name) run at both occurrences, so
//! `0 * * * *` and `*/15 * * * *` still run each real hour. `@every` does
//! not look at the clock: it is due every DURATION of real time from the
//! anchor.
//!
//! The search steps field by field (`cron.rs`) and gives up after five
//! years: `0 0 30 2 *` never matches and `next` says None ("never").

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod cron;
mod zone;

pub use zone::Zone;

/// A parsed schedule. Two schedules are equal when written the same
/// (normalized), so a changed schedule is a different value.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    kind: Kind,
    /// The expression normalized: what `Display` shows.
    text: Box<str>,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// `@every`: seconds between runs, counted from the anchor.
    Every(u64),
    Cron(Box<cron::Cron>),
}

/// The longest `@every`: ten years, so `anchor + k * d` stays in range.
const EVERY_MAX: u64 = 3650 * 86400;

/// The `@` forms other than `@every`, and the cron fields they stand for.
const NAMED: [(&str, &str); 7] = [
    ("hourly", "0 * * * *"),
    ("daily", "0 0 * * *"),
    ("midnight", "0 0 * * *"),
    ("weekly", "0 0 * * 0"),
    ("monthly", "0 0 1 * *"),
    ("yearly", "0 0 1 1 *"),
    ("annually", "0 0 1 1 *"),
];

impl Schedule {
    /// Parses EXPR (SPEC §17); the error names the field and the bad part.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let mut words: Vec<&str> = expr.split_ascii_whitespace().collect();
        let Some(at) = words.first().and_then(|w| w.strip_prefix('@')) else {
            if words.is_empty() {
                return Err("an empty schedule".into());
            }
            let cron = cron::Cron::parse(&words)?;
            let text = words.join(" ").to_ascii_lowercase();
            return Ok(Schedule {
                kind: Kind::Cron(Box::new(cron)),
                text: text.into(),
            });
        };
        let name = at.to_ascii_lowercase();
        if name == "every" {
            let [_, d] = words[..] else {
                return Err("@every takes one duration (30s, 5m, 1h30m)".into());
            };
            let secs = parse_duration(d)?;
            let mut text = String::from("@every ");
            let mut left = secs;
            for (unit, c) in [(86400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
                if left >= unit {
                    text += &(left / unit).to_string();
                    text.push(c);
                    left %= unit;
                }
            }
            return Ok(Schedule {
                kind: Kind::Every(secs),
                text: text.into(),
            });
        }
        let Some(&(_, fields)) = NAMED.iter().find(|(n, _)| *n == name) else {
            let names = NAMED.iter().map(|(n, _)| *n).chain(["every"]);
            return Err(format!(
                "unknown schedule `@{at}`{}",
                crate::core::suggest::hint(at, names)
            ));
        };
        if words.len() > 1 {
            return Err(format!("@{name} takes nothing after it"));
        }
        words = fields.split(' ').collect();
        let cron = cron::Cron::parse(&words)?;
        Ok(Schedule {
            kind: Kind::Cron(Box::new(cron)),
            text: format!("@{name}").into(),
        })
    }

    /// The first due time strictly after `after`. `anchor`: when the
    /// schedule was set (for `@every`). None: never (within five years).
    pub fn next(&self, after: SystemTime, anchor: SystemTime, zone: &Zone) -> Option<SystemTime> {
        match &self.kind {
            Kind::Every(secs) => next_every(*secs, after, anchor),
            Kind::Cron(cron) => {
                let t = unix(after);
                if t.abs() > zone::FAR / 2 {
                    return None;
                }
                let due = cron.next(t, zone)?;
                let secs = Duration::from_secs(due.unsigned_abs());
                if due >= 0 {
                    UNIX_EPOCH.checked_add(secs)
                } else {
                    UNIX_EPOCH.checked_sub(secs)
                }
            }
        }
    }
}

/// `anchor + k * d` for the least k >= 1 that is after `after`.
fn next_every(secs: u64, after: SystemTime, anchor: SystemTime) -> Option<SystemTime> {
    let d = secs as u128 * 1_000_000_000;
    let k = match after.duration_since(anchor) {
        Ok(elapsed) => elapsed.as_nanos() / d + 1,
        Err(_) => 1,
    };
    let due = k.checked_mul(d)?;
    let due = Duration::new(
        (due / 1_000_000_000).try_into().ok()?,
        (due % 1_000_000_000) as u32,
    );
    anchor.checked_add(due)
}

/// `30s`, `5m`, `1h30m`, `2h`, `1d`: numbers with units, largest first.
fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("@every: bad duration `{text}`: {why}");
    let (mut total, mut n, mut digits, mut last) = (0u64, 0u64, false, u64::MAX);
    for c in text.bytes() {
        if c.is_ascii_digit() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add((c - b'0') as u64))
                .ok_or_else(|| bad("too long"))?;
            digits = true;
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            b'd' => 86400,
            b'h' => 3600,
            b'm' => 60,
            b's' => 1,
            _ => return Err(bad("units are d, h, m, s")),
        };
        if !digits {
            return Err(bad("a unit needs a number before it"));
        }
        if unit >= last {
            return Err(bad("units go from the largest down, each once"));
        }
        total = n
            .checked_mul(unit)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(|| bad("too long"))?;
        (n, digits, last) = (0, false, unit);
    }
    if digits {
        return Err(bad("the number needs a unit (30s, 5m, 1h)"));
    }
    if total == 0 {
        return Err(bad("it must be longer than 0s"));
    }
    if total > EVERY_MAX {
        return Err(bad("at most 3650d"));
    }
    Ok(total)
}

impl fmt::Display for Schedule {
    /// The expression normalized, so it can be stored and parsed back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whole seconds since the epoch, rounded down.
fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs().min(i64::MAX as u64) as i64,
        Err(e) => {
            let d = e.duration();
            -(d.as_secs().min(i64::MAX as u64 - 1) as i64) - (d.subsec_nanos() > 0) as i64
        }
    }
}

#[cfg(test)]
mod tests;
