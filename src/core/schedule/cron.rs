//! The cron fields of a schedule: parsing them into bit sets, and finding
//! the next local time they match, field by field (a month that matches,
//! then a day, an hour, a minute, a second), never second by second.

use super::zone::{civil_from_days, days_from_civil, weekday, Zone};

/// Each field: its name, its least and greatest value.
const FIELDS: [(&str, u32, u32); 6] = [
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Five or six cron fields as bit sets (bit v set: value v matches), in
/// the order of `FIELDS`; the day of the week with Sunday as bit 0 only.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Cron {
    bits: [u64; 6],
    /// Both day fields restricted (neither starts with `*`): a day matches
    /// either, as in Vixie cron; otherwise both.
    either: bool,
    /// The second (if given), minute or hour field starts with `*`: in a
    /// local hour repeated by a DST change it runs again (as cronie runs
    /// "wildcard" jobs), so `0 * * * *` runs each real hour.
    wild: bool,
}

impl Cron {
    /// Five fields (minute first) or six (second first).
    pub(super) fn parse(fields: &[&str]) -> Result<Cron, String> {
        let skip = match fields.len() {
            5 => 1,
            6 => 0,
            n => {
                return Err(format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; got {n}"
                ))
            }
        };
        let mut bits = [1u64; 6];
        for (k, text) in fields.iter().enumerate() {
            bits[k + skip] = field(text, k + skip)?;
        }
        // 7 is Sunday too.
        bits[5] = (bits[5] | bits[5] >> 7) & 0x7f;
        let star = |k: usize| fields[k - skip].starts_with('*');
        Ok(Cron {
            bits,
            either: !star(3) && !star(5),
            wild: star(1) || star(2) || (skip == 0 && star(0)),
        })
    }

    /// The first instant after `after` (both seconds since the epoch) whose
    /// local time matches, within five years. Walks the zone's spans of one
    /// offset each: a local time skipped by a DST change is in no span, so
    /// it never runs; one repeated is in two, and runs in the second only if
    /// `wild`.
    pub(super) fn next(&self, after: i64, zone: &Zone) -> Option<i64> {
        let limit = after + 5 * 366 * 86400;
        let (mut start, mut end, mut off) = zone.span(after);
        let mut from = after + 1 + off as i64;
        loop {
            let last = end.min(limit).saturating_add(off as i64 - 1);
            while let Some(local) = self.next_local(from, last) {
                if self.wild || !repeated(zone, local, start) {
                    return Some(local - off as i64);
                }
                from = local + 1;
            }
            if end >= limit {
                return None;
            }
            (start, end, off) = zone.span(end);
            from = start + off as i64;
        }
    }

    /// The first local time in `from..=last` (seconds on the local clock,
    /// counted as if it were UTC) that matches.
    fn next_local(&self, from: i64, last: i64) -> Option<i64> {
        let [sec, min, hour, dom, month, dow] = self.bits;
        let mut days = from.div_euclid(86400);
        let mut t = from.rem_euclid(86400) as u32;
        loop {
            if days * 86400 > last {
                return None;
            }
            let (y, m, d) = civil_from_days(days);
            if month & 1 << m == 0 {
                // The first day of the next month that matches.
                let (y, m) = match next_bit(month, m + 1) {
                    Some(m) => (y, m),
                    None => (y + 1, next_bit(month, 1)?),
                };
                (days, t) = (days_from_civil(y, m, 1), 0);
                continue;
            }
            let (by_dom, by_dow) = (dom & 1 << d != 0, dow & 1 << weekday(days) != 0);
            let day_ok = if self.either {
                by_dom || by_dow
            } else {
                by_dom && by_dow
            };
            if !day_ok {
                (days, t) = (days + 1, 0);
                continue;
            }
            let Some(h) = next_bit(hour, t / 3600) else {
                (days, t) = (days + 1, 0);
                continue;
            };
            if h != t / 3600 {
                t = h * 3600;
            }
            let Some(mi) = next_bit(min, t / 60 % 60) else {
                t = (h + 1) * 3600;
                continue;
            };
            if mi != t / 60 % 60 {
                t = h * 3600 + mi * 60;
            }
            let Some(s) = next_bit(sec, t % 60) else {
                t = h * 3600 + (mi + 1) * 60;
                continue;
            };
            let found = days * 86400 + (h * 3600 + mi * 60 + s) as i64;
            return (found <= last).then_some(found);
        }
    }
}

/// Whether local time `local`, met in the span starting at `start`, was
/// already met in the span before (a DST change turned the clock back).
fn repeated(zone: &Zone, local: i64, start: i64) -> bool {
    if start == i64::MIN {
        return false;
    }
    let (s, e, off) = zone.span(start - 1);
    (s..e).contains(&(local - off as i64))
}

/// The least value >= `from` in `bits`.
fn next_bit(bits: u64, from: u32) -> Option<u32> {
    let rest = bits.checked_shr(from)? << from;
    (rest != 0).then(|| rest.trailing_zeros())
}

/// One field: `*`, values, names, ranges, steps, and lists of them.
fn field(text: &str, k: usize) -> Result<u64, String> {
    let (name, lo, hi) = FIELDS[k];
    let bad = |why: String| Err(format!("{name} field `{text}`: {why}"));
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => match number(step) {
                Some(n) if n > 0 => (range, Some(n)),
                _ => return bad(format!("the step `{step}` must be a number from 1")),
            },
            None => (item, None),
        };
        let (a, b) = if range == "*" {
            (lo, if k == 5 { 6 } else { hi })
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, k)?, value(b, k)?)
        } else if range.is_empty() {
            return bad(format!("an empty item in `{item}`"));
        } else {
            let a = value(range, k)?;
            (a, if step.is_some() { hi } else { a })
        };
        if a > b {
            return bad(format!("the range `{range}` goes backwards"));
        }
        for v in (a..=b).step_by(step.unwrap_or(1) as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

/// A number in the field's range, or a month or day name.
fn value(text: &str, k: usize) -> Result<u32, String> {
    let (name, lo, hi) = FIELDS[k];
    let names: &[&str] = match k {
        4 => &MONTHS,
        5 => &DAYS,
        _ => &[],
    };
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(i as u32 + if k == 4 { 1 } else { 0 });
    }
    match number(text) {
        Some(v) if (lo..=hi).contains(&v) => Ok(v),
        Some(_) => Err(format!("{name} field: `{text}` is out of range {lo}-{hi}")),
        None if text.is_empty() => Err(format!(
            "{name} field: a range needs a value on both sides of `-`"
        )),
        None => Err(format!(
            "{name} field: `{text}` is not a number{}",
            if names.is_empty() { "" } else { " or a name" }
        )),
    }
}

/// Digits only (no sign), at most 9 of them so the value fits.
fn number(text: &str) -> Option<u32> {
    let digits = !text.is_empty() && text.len() <= 9 && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}
