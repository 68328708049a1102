//! Time zones for schedules (SPEC §17: local time): the TZif files of
//! /usr/share/zoneinfo (RFC 8536, v1 to v3) and POSIX TZ strings, read
//! here because no crate is allowed for it and musl's localtime cannot say
//! when an offset changes, which the search needs.
//!
//! A zone is a list of spans of time with one UTC offset each: the TZif
//! transitions, then the POSIX rule of the footer for every year after.

use std::io::Read;

/// Times are kept within about 34 000 years of 1970, so no calendar
/// arithmetic can overflow.
pub(super) const FAR: i64 = 1 << 40;

/// A time zone: UTC offsets over time (SPEC §17: local time).
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    /// Transition instants, ascending, each with the offset from then on.
    trans: Box<[(i64, i32)]>,
    /// The offset before the first transition (TZif type 0).
    first: i32,
    /// After the last transition (or always, if there is none).
    rule: Option<Rule>,
}

/// A POSIX TZ rule: standard time, and maybe daylight time between two
/// dates each year. Offsets are seconds east of UTC.
#[derive(Clone, Debug, PartialEq)]
struct Rule {
    std: i32,
    dst: Option<(i32, When, When)>,
}

/// A yearly moment: a date rule and the local time of day (seconds, may be
/// negative or past 24h in TZif v3).
#[derive(Clone, Copy, Debug, PartialEq)]
struct When {
    date: Date,
    time: i32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Date {
    /// `Jn`: day 1-365, February 29 never counted.
    Julian(u16),
    /// `n`: day 0-365, February 29 counted.
    Day(u16),
    /// `Mm.w.d`: weekday d (0 = Sunday) of week w (5 = last) of month m.
    Month(u8, u8, u8),
}

impl Zone {
    /// The local zone: $TZ (":Area/City", "Area/City", a POSIX TZ string
    /// like "CET-1CEST,M3.5.0,M10.5.0/3", "UTC") or /etc/localtime; UTC if
    /// none can be read.
    pub fn local() -> Zone {
        let tz = std::env::var("TZ").ok();
        let dir = std::env::var("TZDIR").ok();
        Zone::from_tz(tz.as_deref(), dir.as_deref())
    }

    /// What `local` does with the values of $TZ and $TZDIR: a file first
    /// (as glibc does), then a POSIX string, then UTC.
    pub fn from_tz(tz: Option<&str>, tzdir: Option<&str>) -> Zone {
        let Some(tz) = tz else {
            return Zone::from_file("/etc/localtime").unwrap_or_else(Zone::utc);
        };
        let name = tz.strip_prefix(':').unwrap_or(tz);
        if name.is_empty() {
            return Zone::utc();
        }
        let file = if name.starts_with('/') {
            Zone::from_file(name)
        } else {
            Zone::named(name, tzdir)
        };
        file.or_else(|| Zone::posix(name)).unwrap_or_else(Zone::utc)
    }

    pub fn utc() -> Zone {
        Zone {
            trans: Box::new([]),
            first: 0,
            rule: None,
        }
    }

    /// The zone `Area/City` from TZDIR (default /usr/share/zoneinfo).
    pub fn named(name: &str, tzdir: Option<&str>) -> Option<Zone> {
        if name.split('/').any(|part| part.is_empty() || part == "..") {
            return None;
        }
        let dir = tzdir.unwrap_or("/usr/share/zoneinfo");
        Zone::from_file(&format!("{dir}/{name}"))
    }

    /// A TZif file; at most 1 MiB is read (the largest real one is 4 KiB).
    pub fn from_file(path: &str) -> Option<Zone> {
        let mut data = Vec::new();
        let file = std::fs::File::open(path).ok()?;
        file.take(1 << 20).read_to_end(&mut data).ok()?;
        Zone::from_tzif(&data)
    }

    /// Offset from UTC in seconds at the UTC instant `t` (for "at
    /// YYYY-MM-DD HH:MM" display).
    pub fn offset_at(&self, t: i64) -> i32 {
        self.span(t).2
    }

    /// `YYYY-MM-DD HH:MM` on this zone's clock at the UTC instant `t`, for
    /// the PENDING detail (`next run in H:MM:SS (at ...)`).
    pub fn minute_text(&self, t: i64) -> String {
        let local = t.clamp(-FAR, FAR) + self.offset_at(t) as i64;
        let (y, m, d) = civil_from_days(local.div_euclid(86400));
        let s = local.rem_euclid(86400);
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", s / 3600, s / 60 % 60)
    }

    /// The span of time around `t` with one offset: (start, end, offset),
    /// start <= t < end (start may be i64::MIN, end i64::MAX).
    pub(super) fn span(&self, t: i64) -> (i64, i64, i32) {
        let i = self.trans.partition_point(|&(at, _)| at <= t);
        if i == 0 {
            if let (None, Some(rule)) = (self.trans.first(), &self.rule) {
                return rule.span(t);
            }
            let end = self.trans.first().map_or(i64::MAX, |&(at, _)| at);
            return (i64::MIN, end, self.first);
        }
        let (at, off) = self.trans[i - 1];
        if let Some(&(end, _)) = self.trans.get(i) {
            return (at, end, off);
        }
        match &self.rule {
            Some(rule) => {
                let (start, end, off) = rule.span(t);
                (start.max(at), end, off)
            }
            None => (at, i64::MAX, off),
        }
    }

    /// A POSIX TZ string: `std offset [dst [offset] [,start[/time],end[/time]]]`,
    /// names alphabetic or in `<...>`, offsets west of UTC (`CET-1`).
    pub fn posix(text: &str) -> Option<Zone> {
        let mut p = Posix {
            s: text.as_bytes(),
            i: 0,
        };
        p.name()?;
        let std = -p.hms(24)?;
        let mut dst = None;
        if p.i < p.s.len() {
            p.name()?;
            let off = match p.peek() {
                Some(b',') | None => std + 3600,
                _ => -p.hms(24)?,
            };
            // No rule given: the US rule, as many libcs assume.
            let (mut start, mut end) = (
                When {
                    date: Date::Month(3, 2, 0),
                    time: 7200,
                },
                When {
                    date: Date::Month(11, 1, 0),
                    time: 7200,
                },
            );
            if p.peek() == Some(b',') {
                p.i += 1;
                start = p.when()?;
                p.eat(b',')?;
                end = p.when()?;
            }
            dst = Some((off, start, end));
        }
        if p.i != p.s.len() {
            return None;
        }
        let rule = Rule { std, dst };
        Some(Zone {
            trans: Box::new([]),
            first: std,
            rule: Some(rule),
        })
    }

    /// A TZif file (RFC 8536): the 64-bit block of v2+ (the 32-bit one of
    /// v1), and the footer's TZ string for times after the last transition.
    pub fn from_tzif(data: &[u8]) -> Option<Zone> {
        let (version, counts) = header(data)?;
        if version < b'2' {
            return block(data, 44, &counts, 4);
        }
        let pos = 44 + block_len(&counts, 4);
        let (_, again) = header(data.get(pos..)?)?;
        block(data, pos + 44, &again, 8)
    }
}

/// `TZif`, the version, and the six counts: isut, isstd, leap, time, type,
/// char.
fn header(data: &[u8]) -> Option<(u8, [usize; 6])> {
    if data.get(..4)? != b"TZif" {
        return None;
    }
    let mut counts = [0; 6];
    for (k, c) in counts.iter_mut().enumerate() {
        *c = u32::from_be_bytes(data.get(20 + 4 * k..24 + 4 * k)?.try_into().ok()?) as usize;
    }
    Some((*data.get(4)?, counts))
}

fn block_len(c: &[usize; 6], size: usize) -> usize {
    let [isut, isstd, leap, time, types, chars] = *c;
    time * size + time + types * 6 + chars + leap * (size + 4) + isstd + isut
}

/// The data block at `pos`, with `size`-byte times; the footer follows a
/// 64-bit block.
fn block(data: &[u8], pos: usize, c: &[usize; 6], size: usize) -> Option<Zone> {
    let [_, _, _, time, types, _] = *c;
    let end = pos.checked_add(block_len(c, size))?;
    let body = data.get(pos..end)?;
    if types == 0 {
        return None;
    }
    let utoff = |k: usize| -> Option<i32> {
        let at = time * size + time + 6 * k;
        let off = i32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?);
        // RFC 8536: -2^31 is not allowed; real offsets are within a day.
        (off.unsigned_abs() <= 26 * 3600).then_some(off)
    };
    let mut trans = Vec::with_capacity(time);
    for k in 0..time {
        let raw = &body[k * size..k * size + size];
        let at = match size {
            8 => i64::from_be_bytes(raw.try_into().ok()?),
            _ => i32::from_be_bytes(raw.try_into().ok()?) as i64,
        };
        let kind = body[time * size + k] as usize;
        if kind >= types || trans.last().is_some_and(|&(last, _)| last >= at) {
            return None;
        }
        trans.push((at, utoff(kind)?));
    }
    // The footer: `\nTZ-string\n`; an empty or unreadable one leaves the
    // last offset in effect.
    let footer = data
        .get(end..)
        .filter(|_| size == 8)
        .and_then(|r| r.strip_prefix(b"\n"));
    let line = footer.and_then(|r| r.split(|&b| b == b'\n').next());
    let rule = line
        .and_then(|l| std::str::from_utf8(l).ok())
        .and_then(Zone::posix)
        .and_then(|z| z.rule);
    Some(Zone {
        trans: trans.into(),
        first: utoff(0)?,
        rule,
    })
}

impl Rule {
    /// The span around `t` (clamped to ±FAR) with one offset.
    fn span(&self, t: i64) -> (i64, i64, i32) {
        let Some((dst, start, end)) = self.dst else {
            return (i64::MIN, i64::MAX, self.std);
        };
        let t = t.clamp(-FAR, FAR);
        let (year, _, _) = civil_from_days((t + self.std as i64).div_euclid(86400));
        let mut changes = [(0i64, 0i32); 6];
        for (k, y) in (year - 1..=year + 1).enumerate() {
            changes[2 * k] = (start.instant(y, self.std), dst);
            changes[2 * k + 1] = (end.instant(y, dst), self.std);
        }
        changes.sort_unstable_by_key(|c| c.0);
        let i = changes.partition_point(|c| c.0 <= t);
        let from = if i == 0 { i64::MIN } else { changes[i - 1].0 };
        let off = if i == 0 { self.std } else { changes[i - 1].1 };
        let to = changes.get(i).map_or(i64::MAX, |c| c.0);
        (from, to, off)
    }
}

impl When {
    /// The UTC instant of this moment in `year`, the local time being read
    /// with offset `off` (the one in effect before the change).
    fn instant(self, year: i64, off: i32) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        let day = match self.date {
            Date::Julian(n) => {
                let leap = month_days(year, 2) == 29;
                jan1 + n as i64 - 1 + (leap && n >= 60) as i64
            }
            Date::Day(n) => jan1 + n as i64,
            Date::Month(m, w, d) => {
                let first = days_from_civil(year, m as u32, 1);
                let mut day =
                    first + (d as i64 - weekday(first) as i64).rem_euclid(7) + 7 * (w as i64 - 1);
                while day >= first + month_days(year, m as u32) as i64 {
                    day -= 7;
                }
                day
            }
        };
        day * 86400 + self.time as i64 - off as i64
    }
}

/// A cursor over a POSIX TZ string.
struct Posix<'a> {
    s: &'a [u8],
    i: usize,
}

impl Posix<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// A zone name: three or more letters, or anything in `<...>`.
    fn name(&mut self) -> Option<()> {
        let start = self.i;
        if self.eat(b'<').is_some() {
            while self.peek()? != b'>' {
                self.i += 1;
            }
            self.i += 1;
            return (self.i - start >= 5).then_some(());
        }
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        (self.i - start >= 3).then_some(())
    }

    fn number(&mut self, max: u32) -> Option<u32> {
        let start = self.i;
        let mut n = 0u32;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            n = n * 10 + (c - b'0') as u32;
            self.i += 1;
            if n > max {
                return None;
            }
        }
        (self.i > start).then_some(n)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds.
    fn hms(&mut self, max_hours: u32) -> Option<i32> {
        let sign = match self.peek() {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => 0,
        };
        if sign != 0 {
            self.i += 1;
        }
        let mut secs = self.number(max_hours)? * 3600;
        for unit in [60, 1] {
            if self.eat(b':').is_none() {
                break;
            }
            secs += self.number(59)? * unit;
        }
        Some(if sign < 0 {
            -(secs as i32)
        } else {
            secs as i32
        })
    }

    /// `Jn`, `n` or `Mm.w.d`, then `/time` (default 02:00).
    fn when(&mut self) -> Option<When> {
        let date = if self.eat(b'J').is_some() {
            Date::Julian(self.number(365).filter(|&n| n >= 1)? as u16)
        } else if self.eat(b'M').is_some() {
            let m = self.number(12).filter(|&n| n >= 1)? as u8;
            self.eat(b'.')?;
            let w = self.number(5).filter(|&n| n >= 1)? as u8;
            self.eat(b'.')?;
            Date::Month(m, w, self.number(6)? as u8)
        } else {
            Date::Day(self.number(365)? as u16)
        };
        let time = match self.eat(b'/') {
            Some(()) => self.hms(167)?,
            None => 7200,
        };
        Some(When { date, time })
    }
}

/// Days since 1970-01-01 of a date (H. Hinnant's `days_from_civil`).
pub(super) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m as i64 + 9) % 12) + 2) / 5 + d as i64 - 1;
    era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468
}

/// The date of a day counted from 1970-01-01: (year, month, day).
pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// 0 = Sunday.
pub(super) fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

pub(super) fn month_days(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
