//! supervisord's rules for reading a log through XML-RPC
//! (supervisor/options.py `readFile` and `tailFile`), as pure functions of
//! the file's size, and the bounded read they lead to.
//!
//! supervisord reads whatever was asked, a whole file for `length` 0; the
//! daemon must not stall its loop or grow without bound on one request,
//! so a read takes at most [`MAX_READ`] bytes: the last ones of the range
//! asked for when it is counted from the end, the first ones otherwise
//! (the caller goes on from there).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The most bytes one call reads.
pub const MAX_READ: u64 = 1 << 20;

/// `readFile` refused its arguments (supervisord's BAD_ARGUMENTS).
#[derive(Debug, PartialEq, Eq)]
pub struct BadArguments;

/// `readFile(offset, length)` on a file of `size` bytes: the byte range
/// to read (start, count), bounded by [`MAX_READ`]. A negative offset
/// counts from the end (and needs `length` 0); `length` 0 reads to the
/// end; a negative length is refused.
pub fn read_range(size: u64, offset: i64, length: i64) -> Result<(u64, u64), BadArguments> {
    let size = i128::from(size);
    let (offset, length) = (i128::from(offset), i128::from(length));
    let (start, count, keep_tail) = if offset < 0 {
        if length != 0 {
            return Err(BadArguments);
        }
        let start = (size + offset).max(0);
        (start, (-offset).min(size - start), true)
    } else {
        if length < 0 {
            return Err(BadArguments);
        }
        let start = offset.min(size);
        let left = size - start;
        (
            start,
            if length == 0 { left } else { length.min(left) },
            false,
        )
    };
    Ok(bound(start, count, keep_tail))
}

/// `tailFile(offset, length)` on a file of `size` bytes: the range to
/// read (start, count), the offset to give back (the size) and whether
/// the file had grown past `offset + length` (overflow). Follows
/// supervisord's arithmetic step by step, its corner cases included.
pub fn tail_range(size: u64, offset: i64, length: i64) -> (u64, u64, u64, bool) {
    let sz = i128::from(size);
    let (mut offset, mut length) = (i128::from(offset), i128::from(length));
    let mut overflow = false;
    if sz > offset + length {
        overflow = true;
        offset = sz - 1;
    }
    if offset + length > sz {
        if offset > sz - 1 {
            length = 0;
        }
        offset = sz - length;
    }
    offset = offset.max(0);
    length = length.max(0);
    // What Python's read returns past the end: what is there.
    let start = offset.min(sz);
    let count = length.min(sz - start);
    let (start, count) = bound(start, count, true);
    (start, count, size, overflow)
}

/// At most [`MAX_READ`] of `count` bytes from `start`: the last of them
/// when `keep_tail`, else the first.
fn bound(start: i128, count: i128, keep_tail: bool) -> (u64, u64) {
    let max = i128::from(MAX_READ);
    let (start, count) = if count > max {
        (
            if keep_tail {
                start + count - max
            } else {
                start
            },
            max,
        )
    } else {
        (start, count)
    };
    (
        u64::try_from(start).unwrap_or(0),
        u64::try_from(count).unwrap_or(0),
    )
}

/// Reads `count` bytes at `start` (fewer where the file is shorter by
/// now), as text: bytes that are not UTF-8 become U+FFFD.
pub fn read_at(file: &File, start: u64, count: u64) -> io::Result<String> {
    let mut buf = vec![0; usize::try_from(count.min(MAX_READ)).unwrap_or(0)];
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], start + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// supervisord's readFile, on a file of 10 bytes
    /// (supervisor/tests/test_options.py `test_readFile_*`).
    #[test]
    fn read_follows_readfile() {
        assert_eq!(read_range(10, 0, 0), Ok((0, 10)));
        assert_eq!(read_range(10, 0, 3), Ok((0, 3)));
        assert_eq!(read_range(10, 7, 100), Ok((7, 3)));
        assert_eq!(read_range(10, 20, 0), Ok((10, 0)));
        // From the end: the last N bytes, all when N is larger.
        assert_eq!(read_range(10, -3, 0), Ok((7, 3)));
        assert_eq!(read_range(10, -1600, 0), Ok((0, 10)));
        assert_eq!(read_range(10, -3, 2), Err(BadArguments));
        assert_eq!(read_range(10, 0, -1), Err(BadArguments));
        assert_eq!(read_range(0, -1600, 0), Ok((0, 0)));
    }

    #[test]
    fn reads_are_bounded() {
        let big = 10 * MAX_READ;
        assert_eq!(read_range(big, 0, 0), Ok((0, MAX_READ)));
        assert_eq!(
            read_range(big, -(big as i64), 0),
            Ok((big - MAX_READ, MAX_READ))
        );
        assert_eq!(read_range(big, 5, i64::MAX), Ok((5, MAX_READ)));
        assert_eq!(read_range(big, i64::MIN, 0), Ok((big - MAX_READ, MAX_READ)));
        let (start, count, next, _) = tail_range(big, 0, i64::MAX);
        assert_eq!((start, count, next), (big - MAX_READ, MAX_READ, big));
    }

    #[test]
    fn supervisords_own_answers() {
        use super::super::golden::{READS, TAILS};
        for &(size, offset, length, count, first, next, overflow) in TAILS {
            let (s, c, n, o) = tail_range(size, offset, length);
            let got = (c, if c > 0 { s } else { 0 }, n, o);
            assert_eq!(
                got,
                (count, first, next, overflow),
                "tail {size} {offset} {length}"
            );
        }
        for &(size, offset, length, want) in READS {
            let got = read_range(size, offset, length)
                .ok()
                .map(|(s, c)| (c, if c > 0 { s } else { 0 }));
            assert_eq!(got, want, "read {size} {offset} {length}");
        }
    }

    /// supervisord's tailFile (supervisor/tests/test_options.py
    /// `test_tailFile`), on a file of 10 bytes.
    #[test]
    fn tail_follows_tailfile() {
        // Asked at the start for less than there is: the end, overflow.
        assert_eq!(tail_range(10, 0, 5), (5, 5, 10, true));
        // Asked for more than there is: all of it.
        assert_eq!(tail_range(10, 0, 50), (0, 10, 10, false));
        // From an offset inside: up to the end.
        assert_eq!(tail_range(10, 5, 10), (0, 10, 10, false));
        // At the end: nothing new.
        assert_eq!(tail_range(10, 10, 10), (10, 0, 10, false));
        // Past the end (the file was truncated): nothing, and the size.
        assert_eq!(tail_range(10, 20, 10), (10, 0, 10, false));
        // An empty file.
        assert_eq!(tail_range(0, 0, 1600), (0, 0, 0, false));
        // supervisorctl's first `tail -f` read: the last 1600 bytes.
        assert_eq!(tail_range(5000, 0, 1600), (3400, 1600, 5000, true));
        // Its next reads: what came since.
        assert_eq!(tail_range(5100, 5000, 1600), (3500, 1600, 5100, false));
        // Nonsense in, nothing out, and no panic.
        assert_eq!(tail_range(10, -5, -5).2, 10);
        tail_range(u64::MAX, i64::MAX, i64::MAX);
        tail_range(0, i64::MIN, i64::MIN);
    }
}
