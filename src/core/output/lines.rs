//! Whole lines in every log file (SPEC §7, §11): where a piece of output
//! ends in the current file, when the file is rotated, and what a failed
//! write leaves behind.
//!
//! A file is rotated at the first line end at or past maxbytes. A line
//! still going on [`MAX_OVER`] past maxbytes is cut there. So a rotated
//! file holds between maxbytes and maxbytes plus [`MAX_OVER`] bytes, and
//! nothing is lost or repeated across the files. A write that fails (a
//! full disk) takes back the start of its line already in the file and
//! drops the rest of the line when it comes, each within [`MAX_OVER`]:
//! nothing here reads or copies more than that while the loop waits.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::{rotate, LogFile, MAX_OVER};

impl LogFile {
    /// How many bytes of `data` go into the current file: up to the first
    /// line end from the byte that reaches maxbytes on, at most up to
    /// maxbytes + [`MAX_OVER`].
    pub(super) fn fits(&self, data: &[u8]) -> usize {
        if self.maxbytes == 0 {
            return data.len();
        }
        let room = self
            .maxbytes
            .saturating_add(MAX_OVER)
            .saturating_sub(self.size);
        if room == 0 {
            // Past the bound only when rotating failed (reported): write on.
            return data.len();
        }
        let room = room.min(data.len() as u64) as usize;
        let from = self
            .maxbytes
            .saturating_sub(self.size.saturating_add(1))
            .min(room as u64) as usize;
        match data[from..room].iter().position(|b| *b == b'\n') {
            Some(i) => from + i + 1,
            None => room,
        }
    }

    /// Counts a piece written.
    pub(super) fn wrote(&mut self, piece: &[u8]) {
        if let Some(i) = piece.iter().rposition(|b| *b == b'\n') {
            self.line_end = Some(self.size + i as u64 + 1);
        }
        self.size += piece.len() as u64;
    }

    /// Reached maxbytes at a line end, or the bound past it.
    pub(super) fn rotation_due(&mut self) -> bool {
        self.maxbytes > 0
            && self.size >= self.maxbytes
            && (self.size >= self.maxbytes.saturating_add(MAX_OVER) || self.ends_line())
    }

    /// The file ends with a whole line (or is empty).
    fn ends_line(&mut self) -> bool {
        if self.size == 0 {
            return true;
        }
        if self.line_end.is_none() {
            let mut last = [0u8; 1];
            let read = self
                .reader()
                .and_then(|r| r.read_exact_at(&mut last, self.size - 1));
            // Unreadable: take it as whole rather than never rotate.
            if read.is_err() || last[0] == b'\n' {
                self.line_end = Some(self.size);
            }
        }
        self.line_end == Some(self.size)
    }

    /// Rotates. A line still going on at the bound is cut there: moving
    /// its start (more than [`MAX_OVER`] by then) into the next file would
    /// copy up to maxbytes while the loop waits.
    pub(super) fn rotate_now(&mut self, path: &Path) {
        self.file = None;
        self.size = 0;
        self.line_end = Some(0);
        if let Err(e) = rotate(path, self.backups) {
            self.error = Some(format!("cannot rotate {}: {e}", path.display()));
        }
    }

    /// Where the last whole line ends, looking back at most `within` bytes
    /// from the end; 0 when the file is one line begun within them.
    fn last_line_end(&self, within: u64) -> Option<u64> {
        if let Some(at) = self.line_end {
            return (self.size - at <= within).then_some(at);
        }
        let reader = self.reader().ok()?;
        let stop = self.size.saturating_sub(within);
        let mut buf = vec![0u8; 64 * 1024];
        let mut end = self.size;
        while end > stop {
            let start = end.saturating_sub(buf.len() as u64).max(stop);
            let chunk = &mut buf[..(end - start) as usize];
            reader.read_exact_at(chunk, start).ok()?;
            if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
                return Some(start + i as u64 + 1);
            }
            end = start;
        }
        (stop == 0).then_some(0)
    }

    /// A write failed after `dropped` was handed in: records the error,
    /// takes the line it began back out of the file, and drops the rest of
    /// that line when it comes (at most [`MAX_OVER`] of it, so output with
    /// no newlines is written again once there is room). Whole lines or
    /// nothing.
    pub(super) fn lost(&mut self, e: &io::Error, dropped: &[u8]) {
        self.fail(e);
        self.skip_line = !dropped.ends_with(b"\n");
        self.skipped = 0;
        // A device or a FIFO: nothing can be taken back; keep it open.
        let regular = self
            .file
            .as_ref()
            .map(|f| f.metadata().map(|m| m.is_file()));
        if matches!(regular, None | Some(Ok(false))) {
            return;
        }
        // Only the tail since the last line end, and only within MAX_OVER:
        // a line begun further back (output with no newlines) stays, cut.
        let keep = self.last_line_end(MAX_OVER);
        if let (Some(keep), Some(f)) = (keep, self.file.as_mut()) {
            if f.set_len(keep)
                .and_then(|()| f.seek(SeekFrom::Start(keep)))
                .is_ok()
            {
                self.size = keep;
                self.line_end = Some(keep);
                return;
            }
        }
        // Could not be cut back: reopened at its end next time.
        self.file = None;
    }

    /// The current file, open for reading (the log is open write-only).
    fn reader(&self) -> io::Result<File> {
        match &self.file {
            Some(f) => reopen_to_read(f),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }
}

/// The same file, read-only, through /proc (a path may be renamed since).
/// Only regular files: reading a FIFO would steal its data.
fn reopen_to_read(f: &File) -> io::Result<File> {
    if !f.metadata()?.is_file() {
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    File::open(format!("/proc/self/fd/{}", f.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sv-lines-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Writes `data` in pieces of `step` bytes; returns the files, oldest
    /// backup first.
    fn write_all(log: &mut LogFile, data: &[u8], step: usize) -> Vec<Vec<u8>> {
        for piece in data.chunks(step) {
            assert!(log.write(piece).is_none(), "{:?}", log.error);
        }
        let path = log.path.clone().unwrap();
        let mut files: Vec<Vec<u8>> = (1..=log.backups)
            .rev()
            .filter_map(|n| std::fs::read(format!("{}.{n}", path.display())).ok())
            .collect();
        files.push(std::fs::read(&path).unwrap());
        files
    }

    fn short_lines(from: usize, bytes: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = from;
        while out.len() < bytes {
            out.extend(format!("short {i}\n").bytes());
            i += 1;
        }
        out
    }

    #[test]
    fn odd_pieces_rotate_at_the_first_line_end_past_maxbytes() {
        let d = tmp("odd");
        let mut log = LogFile::new(Some(d.join("x.log")), 1000, 5);
        let data = short_lines(0, 4500);
        let files = write_all(&mut log, &data, 333);
        assert_eq!(files.concat(), data, "nothing lost or repeated");
        for f in &files[..files.len() - 1] {
            assert!(f.ends_with(b"\n"));
            assert!((1000..1000 + 12).contains(&f.len()), "{}", f.len());
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Rotation copies nothing back: a line still going on at the bound
    /// is cut there, however long the file (it used to be moved whole,
    /// up to maxbytes copied while the loop waited).
    #[test]
    fn a_long_line_at_the_bound_is_cut_there_not_moved() {
        let d = tmp("move");
        let max = 100 * 1024;
        let mut log = LogFile::new(Some(d.join("x.log")), max, 2);
        let head = short_lines(0, 90 * 1024);
        let long: Vec<u8> = [vec![b'L'; 80 * 1024], b"\n".to_vec()].concat();
        let data = [head.clone(), long.clone(), short_lines(1, 100)].concat();
        let files = write_all(&mut log, &data, 7000);
        assert_eq!(files.concat(), data);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].len() as u64, max + MAX_OVER);
        assert!(files[0].starts_with(&head));
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// maxbytes near u64::MAX never overflows (a panic would end the daemon).
    #[test]
    fn maxbytes_near_the_top_of_u64_does_not_overflow() {
        let d = tmp("huge");
        let mut log = LogFile::new(Some(d.join("x.log")), u64::MAX, 1);
        let data = short_lines(0, 5000);
        assert_eq!(write_all(&mut log, &data, 999), vec![data]);
        let mut log = LogFile::new(Some(d.join("y.log")), u64::MAX - 10, 1);
        log.size = u64::MAX - 5;
        log.line_end = Some(log.size);
        assert!(log.rotation_due());
        assert!(log.fits(b"ab\ncd") > 0);
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A failed write takes back at most MAX_OVER: a file with no line end
    /// in that tail (`\r` progress output) is left alone, not emptied, and
    /// the rest of the line is dropped for MAX_OVER bytes at most, so such
    /// output is written again once there is room.
    #[test]
    fn a_failed_write_takes_back_no_more_than_max_over() {
        let d = tmp("lost");
        let p = d.join("x.log");
        let mut log = LogFile::new(Some(p.clone()), 0, 0);
        let begun = [b"BEGIN".to_vec(), vec![b'p'; 100 * 1024]].concat();
        assert!(log.write(&begun).is_none());
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        log.lost(&full, b"progress\r");
        assert_eq!(std::fs::read(&p).unwrap(), begun, "the file was cut back");
        // The rest of that line is dropped; a line end within MAX_OVER:
        // the tail after it is taken back.
        log.write(b"rest of it\n");
        log.write(b"line\nshort start");
        log.lost(&full, b"more\r");
        assert_eq!(std::fs::read(&p).unwrap(), [&begun[..], b"line\n"].concat());
        // The rest of the line is dropped, but no further than MAX_OVER.
        for _ in 0..20 {
            log.write(&[b'r'; 4000]);
        }
        log.write(b"\rEND\r");
        let text = std::fs::read(&p).unwrap();
        assert!(text.ends_with(b"rrrr\rEND\r"), "never written again");
        assert!(log.error.is_none(), "{:?}", log.error);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_line_longer_than_maxbytes_is_cut_at_the_bound() {
        let d = tmp("cut");
        let max = 1000;
        let mut log = LogFile::new(Some(d.join("x.log")), max, 3);
        let data = [
            short_lines(0, 900),
            vec![b'L'; 100 * 1024],
            b"\n".to_vec(),
            short_lines(1, 50),
        ]
        .concat();
        let files = write_all(&mut log, &data, 4096);
        assert_eq!(files.concat(), data);
        assert_eq!(files[0].len() as u64, max + MAX_OVER);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_splice_up_to_maxbytes_is_carried_on_to_the_line_end() {
        let d = tmp("splice");
        let p = d.join("s.log");
        let mut log = LogFile::new(Some(p.clone()), 16, 1);
        let (r, w) = crate::core::sys::pipe().unwrap();
        crate::core::sys::set_nonblocking(&r).unwrap();
        File::from(w)
            .write_all(b"0123456789\nabcdefghij\nXY\n")
            .unwrap();
        let (res, err) = log.splice_from(&r);
        res.unwrap();
        assert!(err.is_none());
        assert_eq!(
            std::fs::read(d.join("s.log.1")).unwrap(),
            b"0123456789\nabcdefghij\n"
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"XY\n");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
