//! `log_prefix` and `log_timestamps` (SPEC §15), and whole lines for a
//! stream shared with other programs (`/dev/stdout`). Pure: bytes in,
//! bytes out, so each rule is tested on its own.
//!
//! A line split across reads gets its prefix once: [`Shape`] remembers
//! whether the next byte begins a line. Its timestamp is the time its
//! first byte was read.

use super::MAX_OVER;

/// What goes before each line of one stream.
#[derive(Debug, Default)]
pub struct Shape {
    prefix: Box<[u8]>,
    timestamps: bool,
    /// Whether the next byte begins a line.
    mid_line: bool,
}

impl Shape {
    /// None when neither key is set: the output is copied as it is.
    pub fn new(prefix: Option<&str>, timestamps: bool) -> Option<Shape> {
        (prefix.is_some() || timestamps).then(|| Shape {
            prefix: prefix.unwrap_or_default().as_bytes().into(),
            timestamps,
            mid_line: false,
        })
    }

    /// Appends `data` to `out`, the stamp (of `now_ms`, milliseconds since
    /// the epoch) and the prefix before each line that begins in it.
    pub fn apply(&mut self, data: &[u8], now_ms: u64, out: &mut Vec<u8>) {
        let stamp = rfc3339(now_ms);
        for line in data.split_inclusive(|b| *b == b'\n') {
            if !self.mid_line {
                if self.timestamps {
                    out.extend_from_slice(&stamp);
                }
                out.extend_from_slice(&self.prefix);
            }
            out.extend_from_slice(line);
            self.mid_line = !line.ends_with(b"\n");
        }
    }

    /// A line was ended for it (see [`whole_lines`]): what comes next
    /// begins a new one.
    pub fn line_ended(&mut self) {
        self.mid_line = false;
    }
}

/// `2026-12-06T21:00:00.123Z ` (RFC 3339, UTC, milliseconds), written
/// digit by digit rather than through `format!`.
pub fn rfc3339(ms: u64) -> [u8; 25] {
    let secs = ms / 1000;
    let (year, month, day) = crate::core::log::civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    let mut out = *b"0000-00-00T00:00:00.000Z ";
    let mut put = |at: usize, width: usize, mut n: u64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year.clamp(0, 9999) as u64);
    put(5, 2, month.into());
    put(8, 2, day.into());
    put(11, 2, t / 3600);
    put(14, 2, t / 60 % 60);
    put(17, 2, t % 60);
    put(20, 3, ms % 1000);
    out
}

/// For a stream shared with other programs: adds `data` to the partial
/// line `held` and moves what is whole (up to its last newline) to
/// `out`, so every write to the shared stream carries whole lines. A
/// line still going on is moved in pieces of [`MAX_OVER`] bytes (bounded
/// memory; nothing is added to it).
pub fn whole_lines(held: &mut Vec<u8>, data: &[u8], out: &mut Vec<u8>) {
    held.extend_from_slice(data);
    let mut end = held.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let max = MAX_OVER as usize;
    end += (held.len() - end) / max * max;
    out.extend(held.drain(..end));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaped(shape: &mut Shape, pieces: &[&[u8]], ms: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            shape.apply(p, ms, &mut out);
        }
        out
    }

    #[test]
    fn a_split_line_gets_its_prefix_once() {
        let mut s = Shape::new(Some("web | "), false).unwrap();
        let out = shaped(&mut s, &[b"one\ntw", b"o\n", b"", b"\nthree"], 0);
        assert_eq!(out, b"web | one\nweb | two\nweb | \nweb | three");
        // The next read goes on with "three".
        assert_eq!(shaped(&mut s, &[b"!\n"], 0), b"!\n");
        assert!(Shape::new(None, false).is_none());
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(&rfc3339(0), b"1970-01-01T00:00:00.000Z ");
        // 2026-12-06T21:00:00.123Z
        let ms = 1_796_590_800_123;
        assert_eq!(&rfc3339(ms), b"2026-12-06T21:00:00.123Z ");
        let mut s = Shape::new(Some("a: "), true).unwrap();
        assert_eq!(
            shaped(&mut s, &[b"x\ny"], ms),
            b"2026-12-06T21:00:00.123Z a: x\n2026-12-06T21:00:00.123Z a: y"
        );
    }

    #[test]
    fn only_whole_lines_leave_and_a_long_one_is_cut_evenly() {
        let (mut held, mut out) = (Vec::new(), Vec::new());
        whole_lines(&mut held, b"ab", &mut out);
        assert!(out.is_empty());
        whole_lines(&mut held, b"c\nde\nf", &mut out);
        assert_eq!((&out[..], &held[..]), (&b"abc\nde\n"[..], &b"f"[..]));
        out.clear();
        let max = MAX_OVER as usize;
        // 1 + 2.5 limits: two whole pieces of the limit, the rest held.
        whole_lines(&mut held, &vec![b'x'; max * 5 / 2 - 1], &mut out);
        assert_eq!((out.len(), held.len()), (2 * max, max / 2));
        assert!(out.starts_with(b"fx") && !out.contains(&b'\n'));
        out.clear();
        whole_lines(&mut held, b"y\n", &mut out);
        assert_eq!(out.len(), max / 2 + 2);
        assert!(out.ends_with(b"xy\n") && held.is_empty());
    }
}
