//! Whole lines in every log file (SPEC §7, §11): where a piece of output
//! ends in the current file, when the file is rotated, and what a failed
//! write leaves behind.
//!
//! A file is rotated at the first line end at or past maxbytes. A line
//! still going on [`MAX_OVER`] past maxbytes is moved whole into the next
//! file when it is not longer than maxbytes, else cut there. So a rotated
//! file holds between maxbytes minus its last line and maxbytes plus
//! [`MAX_OVER`] bytes, and nothing is lost or repeated across the files.
//! A write that fails (a full disk) takes back the start of its line
//! already in the file and drops the rest of the line when it comes.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
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
        let room = (self.maxbytes + MAX_OVER).saturating_sub(self.size);
        if room == 0 {
            // Past the bound only when rotating failed (reported): write on.
            return data.len();
        }
        let room = room.min(data.len() as u64) as usize;
        let from = self.maxbytes.saturating_sub(self.size + 1).min(room as u64) as usize;
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
            && (self.size >= self.maxbytes + MAX_OVER || self.ends_line())
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

    /// Rotates; a line cut at the bound moves whole into the new file
    /// when it fits there.
    pub(super) fn rotate_now(&mut self, path: &Path) {
        let end = self.size;
        let head = match self.ends_line() || self.backups == 0 {
            true => None,
            false => self.last_line_end(self.maxbytes).filter(|at| *at > 0),
        };
        let old = self.file.take();
        self.size = 0;
        self.line_end = Some(0);
        if let Err(e) = rotate(path, self.backups) {
            self.error = Some(format!("cannot rotate {}: {e}", path.display()));
            return;
        }
        if let (Some(from), Some(old)) = (head, old) {
            self.move_head(path, &old, from, end);
        }
    }

    /// Copies `old[from..end]`, the start of a line, into the new file at
    /// `path`, then takes it off `old`. On failure the line stays cut.
    fn move_head(&mut self, path: &Path, old: &File, from: u64, end: u64) {
        if self.open(path).is_none() {
            return;
        }
        let Ok(reader) = reopen_to_read(old) else {
            return;
        };
        let Some(new) = self.file.as_mut() else {
            return;
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut at = from;
        let copied = (|| -> io::Result<()> {
            while at < end {
                let n = ((end - at) as usize).min(buf.len());
                reader.read_exact_at(&mut buf[..n], at)?;
                new.write_all(&buf[..n])?;
                at += n as u64;
            }
            Ok(())
        })();
        match copied.and_then(|()| old.set_len(from)) {
            Ok(()) => {
                self.size = end - from;
                self.line_end = Some(0);
            }
            Err(_) => {
                // Undo the copy: the line stays cut, nothing is repeated.
                if new
                    .set_len(0)
                    .and_then(|()| new.seek(SeekFrom::Start(0)))
                    .is_err()
                {
                    self.file = None;
                }
                self.size = 0;
            }
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
    /// that line when it comes. Whole lines or nothing.
    pub(super) fn lost(&mut self, e: &io::Error, dropped: &[u8]) {
        self.fail(e);
        self.skip_line = !dropped.ends_with(b"\n");
        // A device or a FIFO: nothing can be taken back; keep it open.
        let regular = self
            .file
            .as_ref()
            .map(|f| f.metadata().map(|m| m.is_file()));
        if matches!(regular, None | Some(Ok(false))) {
            return;
        }
        let keep = self.last_line_end(self.size);
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

    #[test]
    fn a_long_line_at_the_bound_moves_whole_into_the_next_file() {
        let d = tmp("move");
        let max = 100 * 1024;
        let mut log = LogFile::new(Some(d.join("x.log")), max, 2);
        let head = short_lines(0, 90 * 1024);
        let long: Vec<u8> = [vec![b'L'; 80 * 1024], b"\n".to_vec()].concat();
        let data = [head.clone(), long.clone(), short_lines(1, 100)].concat();
        let files = write_all(&mut log, &data, 7000);
        assert_eq!(files.concat(), data);
        assert_eq!(files.len(), 2);
        // The rotated file ends before the long line, which is not cut.
        assert_eq!(files[0], head);
        assert!(files[1].starts_with(&long));
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
