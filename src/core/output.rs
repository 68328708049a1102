//! Child output: pipes drained by the poll loop into log files (SPEC §7).
//!
//! Each captured stream of a service is a named pipe (FIFO) in the
//! instance's `fifo/` directory, not an anonymous pipe. The child's end is
//! opened read-write, so the child itself counts as a reader: if the daemon
//! is killed, the child's writes do not raise SIGPIPE; they fill the pipe
//! and wait, and a new daemon opens the same FIFO and carries on. Nothing
//! is lost and the child is not killed by the daemon's death (SPEC §8). The
//! daemon also holds its end read-write, so it never sees a hang-up between
//! one process of a service and the next.
//!
//! A pipe is read until it would block or `READS_PER_PASS` chunks have
//! come this pass, whichever is first, so one chatty child cannot starve
//! the loop (poll is level-triggered: the rest wakes the next pass). A log
//! that cannot be written records its error (shown in `status`) and drops
//! the data; the pipe keeps being drained so the child never blocks on a
//! full pipe and supervision goes on.
//!
//! Every file holds whole lines (see [`lines`]): it is rotated at the first
//! line end once it has reached maxbytes, at most [`MAX_OVER`] past it, and
//! a write that fails takes its whole line with it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::trust::{open_log, LogOpen};

mod feed;
mod lines;
mod shape;
mod shared;
pub use shape::Shape;
pub use shared::Shared;

/// How far a file may pass maxbytes while the line that reached it ends
/// (SPEC §11): a line still going on there is cut. Also the most a
/// failed write takes back or drops of one line.
pub const MAX_OVER: u64 = 64 * 1024;

/// Reads per pipe per loop pass before yielding to other work.
const READS_PER_PASS: usize = 16;
const CHUNK: usize = 64 * 1024;
/// Capacity asked for each output FIFO.
const PIPE_SIZE: libc::c_int = 1 << 20;
/// Most bytes one splice(2) moves.
const SPLICE_CHUNK: u64 = 1 << 20;

/// One stream's log file. `path: None` discards.
#[derive(Debug, Default)]
pub struct LogFile {
    pub path: Option<PathBuf>,
    file: Option<File>,
    /// Bytes in the current file, for rotation.
    size: u64,
    /// Rotate past this size; 0 = never.
    pub maxbytes: u64,
    /// Rotated files kept: FILE.1 (newest) .. FILE.backups.
    pub backups: u32,
    pub error: Option<String>,
    /// Bytes the last [`splice_from`](Self::splice_from) moved.
    pub moved: u64,
    /// Where the last whole line of the file ends, when known: the write
    /// path sees its bytes, a splice or an open does not.
    line_end: Option<u64>,
    /// A failed write dropped the start of a line: its rest is dropped
    /// too, so no half line is ever glued to the next one.
    skip_line: bool,
    /// Bytes of that line dropped so far: at [`MAX_OVER`] writing resumes.
    skipped: u64,
    /// `log_prefix` / `log_timestamps` (SPEC §15); None: copied as is.
    shape: Option<Box<Shape>>,
    /// `/dev/stdout` or `/dev/stderr`: the daemon's fd 1 or 2, shared with
    /// other programs, written whole lines at a time (see [`Shared`]).
    daemon: Option<i32>,
    /// The partial last line held back from the shared stream.
    held: Vec<u8>,
    /// `stdout_events_enabled` / `stderr_events_enabled` (SPEC §14).
    pub events: bool,
}

impl LogFile {
    pub fn new(path: Option<PathBuf>, maxbytes: u64, backups: u32) -> LogFile {
        LogFile {
            path,
            file: None,
            size: 0,
            maxbytes,
            backups,
            error: None,
            moved: 0,
            line_end: None,
            skip_line: false,
            skipped: 0,
            shape: None,
            daemon: None,
            held: Vec::new(),
            events: false,
        }
    }

    /// Appends whole lines, rotating at a line end once the file has
    /// reached maxbytes. On failure records the error (shown in `status`)
    /// and drops the data, and the rest of its line.
    /// Returns the error when it is new, for the daemon's log.
    pub fn write(&mut self, data: &[u8]) -> Option<String> {
        let before = self.error.clone();
        self.append(data);
        match &self.error {
            Some(e) if before.as_ref() != Some(e) => Some(e.clone()),
            _ => None,
        }
    }

    /// Writes whole lines into each file: a piece that ends at the line
    /// end where the file reaches maxbytes (or at [`MAX_OVER`] past it),
    /// then the next file.
    fn append(&mut self, mut data: &[u8]) {
        if self.skip_line {
            // The rest of the line, up to MAX_OVER of it in all.
            let budget = MAX_OVER.saturating_sub(self.skipped).min(data.len() as u64) as usize;
            self.skipped += budget as u64;
            match data[..budget].iter().position(|b| *b == b'\n') {
                Some(i) => data = &data[i + 1..],
                None if self.skipped >= MAX_OVER => data = &data[budget..],
                None => return,
            }
            self.skip_line = false;
        }
        let mut check = true;
        while !data.is_empty() {
            if self.prepare_checked(check).is_none() {
                self.skip_line = !data.ends_with(b"\n");
                self.skipped = 0;
                return;
            }
            check = false;
            let (piece, rest) = data.split_at(self.fits(data));
            let failing = self.error.is_some();
            let written = match self.file.as_mut() {
                Some(f) if failing => {
                    reserve(f, self.size, piece.len()).and_then(|()| f.write_all(piece))
                }
                Some(f) => f.write_all(piece),
                None => return,
            };
            match written {
                Ok(()) => {
                    self.wrote(piece);
                    self.error = None;
                }
                Err(e) => return self.lost(&e, data),
            }
            data = rest;
        }
    }

    fn fail(&mut self, e: &io::Error) {
        let path = self.path.as_deref().unwrap_or(Path::new("?"));
        self.error = Some(format!("{}: {e}", path.display()));
    }

    /// The file to write to: opened (at its end) when it is not yet, and
    /// rotated first when it has reached maxbytes at a line end. `check`
    /// looks for a truncation (one fstat), which once per wake-up is
    /// enough.
    ///
    /// Not O_APPEND, since splice(2) refuses append-mode files; a file
    /// truncated behind our back (logrotate copytruncate) is noticed by its
    /// size and written from its new end.
    fn prepare_checked(&mut self, check: bool) -> Option<&mut File> {
        let path = self.path.clone()?;
        if let Some(f) = self.file.as_ref().filter(|_| check) {
            if f.metadata()
                .is_ok_and(|m| m.is_file() && m.len() < self.size)
            {
                self.file = None;
            }
        }
        if self.file.is_none() {
            self.open(&path)?;
        }
        if self.rotation_due() {
            self.rotate_now(&path);
            if self.file.is_none() {
                self.open(&path)?;
            }
        }
        self.file.as_mut()
    }

    /// Opens the log at its end; records the error if it cannot.
    fn open(&mut self, path: &Path) -> Option<()> {
        use std::io::{Seek, SeekFrom};
        // Never through a symlink another user planted (SPEC §7);
        // non-blocking, so a FIFO with no reader cannot block open(2).
        let opened = open_log(path, LogOpen::Write)
            .and_then(|mut f| f.seek(SeekFrom::End(0)).map(|end| (f, end)));
        match opened {
            Ok((f, end)) => {
                self.size = end;
                self.line_end = (end == 0).then_some(0);
                self.file = Some(f);
                Some(())
            }
            Err(e) => {
                self.fail(&e);
                None
            }
        }
    }

    /// Moves what `pipe` holds straight into the log with splice(2), with
    /// no copy through the daemon. Falls back to [`drain`] (which records
    /// the error and drops the data, so the child never blocks) when the
    /// log cannot take it.
    pub fn splice_from(&mut self, pipe: &OwnedFd) -> (io::Result<Drain>, Option<String>) {
        let before = self.error.clone();
        self.moved = 0;
        let result = self.splice_loop(pipe);
        let result = match result {
            Some(r) => r,
            None => drain(pipe, |data| {
                self.append(data);
            }),
        };
        let new_error = match &self.error {
            Some(e) if before.as_ref() != Some(e) => Some(e.clone()),
            _ => None,
        };
        (result, new_error)
    }

    /// None: splice cannot serve this log right now; use read and write.
    fn splice_loop(&mut self, pipe: &OwnedFd) -> Option<io::Result<Drain>> {
        for pass in 0..READS_PER_PASS {
            // splice(2) cannot see lines: it fills the file up to maxbytes
            // and the write path, which sees them, takes it from there to
            // the line end and the rotation. So does it the rest of a line
            // whose start a failed write dropped. Only rotate on the first
            // pass, when the pipe is known to hold data, so no empty file
            // is left behind.
            let full = self.maxbytes > 0 && self.size >= self.maxbytes;
            // After a failed write (a full disk) the write path goes on,
            // room reserved before each piece, until one succeeds: a
            // splice into the little room a take-back freed would leave
            // half a line in the file.
            if self.skip_line || self.error.is_some() || (pass > 0 && full) {
                return None;
            }
            let out = self.prepare_checked(pass == 0)?.as_raw_fd();
            let room = match self.maxbytes {
                0 => SPLICE_CHUNK,
                max => max.saturating_sub(self.size).min(SPLICE_CHUNK),
            };
            if room == 0 {
                return None;
            }
            // SAFETY: splice between two descriptors we hold; null offsets
            // use and advance the files' own positions.
            let n = unsafe {
                libc::splice(
                    pipe.as_raw_fd(),
                    std::ptr::null_mut(),
                    out,
                    std::ptr::null_mut(),
                    room as usize,
                    libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => Some(Ok(Drain::Open)),
                    io::ErrorKind::Interrupted => continue,
                    // EINVAL: a target splice cannot write to; ENOSPC and
                    // friends: the write path reports them.
                    _ => None,
                };
            }
            if n == 0 {
                return Some(Ok(Drain::Eof));
            }
            self.size += n as u64;
            self.moved += n as u64;
            self.line_end = None;
            self.error = None;
            if (n as u64) < room {
                // It took all there was: no need to hear EAGAIN say so.
                return Some(Ok(Drain::Open));
            }
        }
        Some(Ok(Drain::Open))
    }

    /// Closes the file so the next write opens the path afresh (SIGUSR2).
    pub fn reopen(&mut self) {
        self.file = None;
    }
}

/// FILE.(n-1) -> FILE.n ... FILE -> FILE.1; with no backups the file is
/// just emptied, through the same checked open as writing, so never
/// through a planted symlink. rename(2) and unlink(2) act on the links
/// themselves, never on what they point to.
pub(crate) fn rotate(path: &Path, backups: u32) -> io::Result<()> {
    let numbered = |n: u32| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    };
    if backups == 0 {
        return open_log(path, LogOpen::Write).and_then(|f| f.set_len(0));
    }
    let _ = std::fs::remove_file(numbered(backups));
    for n in (1..backups).rev() {
        match std::fs::rename(numbered(n), numbered(n + 1)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    match std::fs::rename(path, numbered(1)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The last `lines` lines of a file, at most `limit` bytes of them. A file
/// that does not exist yet has no lines.
pub fn tail(path: &Path, lines: usize, limit: usize) -> io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = match open_log(path, LogOpen::Read) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let take = len.min(limit as u64);
    f.seek(SeekFrom::Start(len - take))?;
    let mut buf = Vec::with_capacity(take as usize);
    f.take(take).read_to_end(&mut buf)?;
    // Count newlines from the end; a final newline ends the last line.
    let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
    let start = if lines == 0 {
        buf.len()
    } else {
        body.iter()
            .enumerate()
            .rev()
            .filter(|(_, b)| **b == b'\n')
            .nth(lines - 1)
            .map(|(i, _)| i + 1)
            .unwrap_or(0)
    };
    Ok(buf.split_off(start))
}

/// Creates (or finds) the FIFO at `path` and opens the daemon's end:
/// read-write, non-blocking, close-on-exec.
pub fn open_fifo(path: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path has a NUL byte"))?;
    // SAFETY: mkfifo on a valid C string.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)?;
    if !f.metadata()?.file_type().is_fifo() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a FIFO", path.display()),
        ));
    }
    // A bigger pipe means fewer wake-ups per megabyte of output (64 KiB
    // makes the daemon poll every ~40 KiB). Only for root: for anyone else
    // it counts against pipe-user-pages-soft, and past that limit every new
    // pipe of the user (other programs' too) shrinks to a page or two.
    // SAFETY: geteuid cannot fail; fcntl on a descriptor we hold.
    if unsafe { libc::geteuid() } == 0 {
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
    }
    Ok(f.into())
}

/// Opens the child's end of a FIFO: read-write (see the module doc), blocking.
pub fn child_end(path: &Path) -> io::Result<OwnedFd> {
    Ok(OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?
        .into())
}

/// What draining a pipe found.
#[derive(Debug, PartialEq, Eq)]
pub enum Drain {
    /// Nothing more for now.
    Open,
    /// The writers are all gone.
    Eof,
}

/// Reads what `pipe` holds into `sink`.
pub fn drain(pipe: &OwnedFd, mut sink: impl FnMut(&[u8])) -> io::Result<Drain> {
    drain_while(pipe, |data| {
        sink(data);
        true
    })
}

/// [`drain`] until `sink` says no more: where its data goes cannot take
/// more now (a shared stdout that is full), and the rest waits in the pipe.
pub fn drain_while(pipe: &OwnedFd, mut sink: impl FnMut(&[u8]) -> bool) -> io::Result<Drain> {
    let mut buf = [0u8; CHUNK];
    for _ in 0..READS_PER_PASS {
        // SAFETY: reading into a local buffer from a descriptor we own.
        let n = unsafe { libc::read(pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(Drain::Open),
                io::ErrorKind::Interrupted => continue,
                _ => Err(e),
            };
        }
        if n == 0 {
            return Ok(Drain::Eof);
        }
        if !sink(&buf[..n as usize]) {
            break;
        }
    }
    Ok(Drain::Open)
}

/// While a write has failed (a full disk), room for the next piece is
/// taken before it is written: a piece that does not fit then leaves
/// nothing of itself, where a short write would be in the file, for a
/// reader to see, until it is taken back. Where the file system cannot
/// reserve, the write goes ahead as usual.
fn reserve(f: &File, at: u64, len: usize) -> io::Result<()> {
    let (Ok(at), Ok(len)) = (libc::off_t::try_from(at), libc::off_t::try_from(len)) else {
        return Ok(());
    };
    // SAFETY: a valid descriptor; KEEP_SIZE changes no byte of the file.
    if unsafe { libc::fallocate(f.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, at, len) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL | libc::ENODEV) => Ok(()),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sv-out-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn rotation_keeps_backups_newest_first() {
        let d = tmp("rot");
        let p = d.join("x.log");
        let mut log = LogFile::new(Some(p.clone()), 8, 2); // each line reaches maxbytes
        for chunk in ["aaaaaaaa\n", "bbbbbbbb\n", "cccccccc\n", "dddddddd\n"] {
            log.write(chunk.as_bytes());
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "dddddddd\n");
        assert_eq!(
            std::fs::read_to_string(d.join("x.log.1")).unwrap(),
            "cccccccc\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("x.log.2")).unwrap(),
            "bbbbbbbb\n"
        );
        assert!(!d.join("x.log.3").exists());
        assert!(log.error.is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }

    fn pipe_with(data: &[u8]) -> OwnedFd {
        let (r, w) = crate::core::sys::pipe().unwrap();
        crate::core::sys::set_nonblocking(&r).unwrap();
        let mut w = File::from(w);
        w.write_all(data).unwrap();
        r
    }

    #[test]
    fn splice_moves_pipe_data_into_the_log_and_rotates() {
        let d = tmp("splice");
        let p = d.join("s.log");
        let mut log = LogFile::new(Some(p.clone()), 16, 1);
        let r = pipe_with(b"0123456789abcdefXYZ\n");
        let (res, err) = log.splice_from(&r);
        res.unwrap();
        assert!(err.is_none());
        assert_eq!(std::fs::read(&p).unwrap(), b"0123456789abcdefXYZ\n");
        // Past maxbytes: the next output starts a new file.
        let r = pipe_with(b"more\n");
        log.splice_from(&r).0.unwrap();
        assert_eq!(
            std::fs::read(d.join("s.log.1")).unwrap(),
            b"0123456789abcdefXYZ\n"
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"more\n");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn splice_to_a_full_disk_records_the_error_and_drains() {
        let mut log = LogFile::new(Some(PathBuf::from("/dev/full")), 0, 0);
        let r = pipe_with(b"data that cannot be written\n");
        let (res, err) = log.splice_from(&r);
        assert_eq!(res.unwrap(), Drain::Eof);
        assert!(err.unwrap().contains("/dev/full"));
        // The pipe was emptied all the same (the child never blocks):
        // nothing is left to read but the end.
        let mut buf = [0u8; 8];
        // SAFETY: reading into a local buffer.
        let n = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
        assert_eq!(n, 0);
    }

    #[test]
    fn a_log_truncated_behind_our_back_is_written_from_its_new_end() {
        let d = tmp("trunc");
        let p = d.join("t.log");
        let mut log = LogFile::new(Some(p.clone()), 0, 0);
        log.write(b"first line\n");
        std::fs::File::create(&p).unwrap(); // copytruncate
        log.write(b"second\n");
        assert_eq!(std::fs::read(&p).unwrap(), b"second\n");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn unwritable_log_records_an_error_and_goes_on() {
        let mut log = LogFile::new(Some(PathBuf::from("/dev/full")), 0, 0);
        log.write(b"hello\n");
        assert!(
            log.error.as_deref().unwrap_or("").contains("/dev/full"),
            "{:?}",
            log.error
        );
        let mut log = LogFile::new(Some(PathBuf::from("/nonexistent-dir/x.log")), 0, 0);
        log.write(b"hello\n");
        assert!(log.error.is_some());
    }

    /// A link another uid swapped in at the log path (in a sticky shared
    /// directory) is neither truncated through at rotation nor written to.
    #[test]
    fn rotation_never_truncates_through_a_symlink_swapped_in() {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return; // needs root to make a link of another uid
        }
        let d = tmp("swap");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let secret = tmp("swap-secret").join("secret");
        std::fs::write(&secret, "SECRET\n").unwrap();
        let p = d.join("x.log");
        for backups in [0, 2] {
            let mut log = LogFile::new(Some(p.clone()), 8, backups);
            log.write(b"aaaaaaaa\n");
            assert!(log.error.is_none(), "{:?}", log.error);
            // Swapped behind the daemon's back, as nobody.
            std::fs::remove_file(&p).unwrap();
            std::os::unix::fs::symlink(&secret, &p).unwrap();
            std::os::unix::fs::lchown(&p, Some(65534), Some(65534)).unwrap();
            log.write(b"bbbbbbbb\n");
            assert_eq!(std::fs::read_to_string(&secret).unwrap(), "SECRET\n");
            if backups == 0 {
                // Emptying would go through the link: refused instead.
                let e = log.error.as_deref().unwrap_or("");
                assert!(e.contains("refusing to follow this symlink"), "{e}");
            } else {
                // The link itself was renamed aside; a new file took its place.
                assert!(std::fs::symlink_metadata(d.join("x.log.1"))
                    .unwrap()
                    .file_type()
                    .is_symlink());
                assert_eq!(std::fs::read_to_string(&p).unwrap(), "bbbbbbbb\n");
            }
            for entry in std::fs::read_dir(&d).unwrap().flatten() {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(secret.parent().unwrap()).unwrap();
    }

    #[test]
    fn tail_takes_the_last_lines() {
        let d = tmp("tail");
        let p = d.join("t.log");
        std::fs::write(&p, "1\n2\n3\n4\n").unwrap();
        assert_eq!(tail(&p, 2, 1 << 20).unwrap(), b"3\n4\n");
        assert_eq!(tail(&p, 10, 1 << 20).unwrap(), b"1\n2\n3\n4\n");
        assert_eq!(tail(&p, 0, 1 << 20).unwrap(), b"");
        std::fs::write(&p, "1\n2\npartial").unwrap();
        assert_eq!(tail(&p, 1, 1 << 20).unwrap(), b"partial");
        assert_eq!(tail(&d.join("none"), 5, 100).unwrap(), b"");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
