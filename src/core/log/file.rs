//! A file the daemon's own log lines go to: `sv daemon --log FILE`, or
//! `RUNTIME/N/daemon.log` when neither syslog nor stderr reaches anyone.
//!
//! Lines are appended with one write(2) per flush of the loop: a regular
//! file takes them without blocking the loop for long, and O_APPEND keeps
//! them whole beside another writer (logrotate's copytruncate). The
//! instance's own file is bounded: past [`BOUND`] it is renamed to
//! `daemon.log.1` (the one backup) and begun again, so a daemon that runs
//! for months with nobody reading its log cannot fill the disk.

use crate::core::trust::{self, LogOpen};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where the instance's own log file is rotated.
pub const BOUND: u64 = 1 << 20;

pub struct Sink {
    pub path: PathBuf,
    file: Option<File>,
    /// Bytes in the file, for the bound.
    size: u64,
    /// Rotated past this many bytes, keeping this many backups: the
    /// instance's own file at [`BOUND`] with one, `[supervisord] logfile`
    /// as its `logfile_maxbytes` and `logfile_backups` say.
    limit: Option<(u64, u32)>,
    /// The last failure, reported once until the file works again.
    pub error: Option<String>,
    /// How it is created: 0600, or 0644 for `[supervisord] logfile`.
    how: LogOpen,
}

impl Sink {
    /// Opens (creates, mode 0600) `path` for appending.
    pub fn open(path: &Path, bounded: bool) -> io::Result<Sink> {
        Sink::rotated(path, if bounded { BOUND } else { 0 }, 1)
    }

    /// [`Sink::open`], rotated past `maxbytes` (0: never) with `backups`
    /// old files (`FILE.1` newest; none: the file is emptied).
    pub fn rotated(path: &Path, maxbytes: u64, backups: u32) -> io::Result<Sink> {
        Sink::opened(path, maxbytes, backups, LogOpen::Append)
    }

    /// [`Sink::rotated`] for `[supervisord] logfile`: created 0644 under
    /// the umask, as supervisord creates it, for readers of other users.
    pub fn shared(path: &Path, maxbytes: u64, backups: u32) -> io::Result<Sink> {
        Sink::opened(path, maxbytes, backups, LogOpen::AppendShared)
    }

    fn opened(path: &Path, maxbytes: u64, backups: u32, how: LogOpen) -> io::Result<Sink> {
        let file = open(path, how)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Sink {
            path: path.to_path_buf(),
            file: Some(file),
            size,
            limit: (maxbytes > 0).then_some((maxbytes, backups)),
            error: None,
            how,
        })
    }

    /// Appends whole lines; Err names the file and what failed, once per
    /// new failure (None while it keeps failing the same way).
    /// With a limit, the lines that fit go before the rotation and the
    /// rest after it, as a rotating handler writes record by record: no
    /// file passes the limit by more than one line.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Option<String>> {
        let Some((max, backups)) = self.limit else {
            return self.append(bytes);
        };
        let mut rest = bytes;
        while self.size + rest.len() as u64 > max {
            let room = max.saturating_sub(self.size).min(rest.len() as u64) as usize;
            // The whole lines that fit; an empty file takes one line at
            // least, however long.
            let mut cut = rest[..room]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            if cut == 0 && self.size == 0 {
                cut = rest
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(rest.len(), |i| i + 1);
            }
            if cut > 0 {
                self.append(&rest[..cut])?;
                rest = &rest[cut..];
            }
            if rest.is_empty() {
                return Ok(());
            }
            self.rotate(backups);
        }
        self.append(rest)
    }

    /// Appends whole lines, with no limit.
    fn append(&mut self, bytes: &[u8]) -> Result<(), Option<String>> {
        if self.file.is_none() {
            match open(&self.path, self.how) {
                Ok(f) => {
                    self.size = f.metadata().map(|m| m.len()).unwrap_or(0);
                    self.file = Some(f);
                }
                Err(e) => return self.failed(e),
            }
        }
        let res = match &mut self.file {
            Some(f) => whole_lines(f, bytes),
            None => Ok(()),
        };
        match res {
            Ok(()) => {
                self.size += bytes.len() as u64;
                self.error = None;
                Ok(())
            }
            Err(e) => self.failed(e),
        }
    }

    /// Err naming the file, once per new failure.
    fn failed(&mut self, e: io::Error) -> Result<(), Option<String>> {
        let why = format!("cannot write the daemon log {}: {e}", self.path.display());
        if self.error.as_deref() == Some(&why) {
            return Err(None);
        }
        self.error = Some(why.clone());
        Err(Some(why))
    }

    /// `FILE` -> `FILE.1` (older backups shifted, the oldest dropped, as
    /// child logs rotate), then a new `FILE`.
    fn rotate(&mut self, backups: u32) {
        self.file = None;
        if let Err(e) = crate::core::output::rotate(&self.path, backups) {
            if e.kind() != io::ErrorKind::NotFound {
                // Cannot rotate: truncate rather than grow without bound.
                if let Ok(f) = open(&self.path, self.how) {
                    let _ = f.set_len(0);
                }
            }
        }
        self.size = 0;
        self.file = open(&self.path, self.how).ok();
    }

    /// SIGUSR2 (logrotate moved the file): write to a new file at the path.
    /// On failure the old file is kept and the reason returned.
    pub fn reopen(&mut self) -> Result<(), String> {
        match open(&self.path, self.how) {
            Ok(f) => {
                self.size = f.metadata().map(|m| m.len()).unwrap_or(0);
                self.file = Some(f);
                Ok(())
            }
            Err(e) => Err(format!(
                "cannot reopen the daemon log {}: {e}",
                self.path.display()
            )),
        }
    }
}

/// Appends `bytes` (whole lines) or nothing: a write cut short (a full
/// disk) is taken back to where the file ended, so no half line is left
/// to be glued to a later one.
fn whole_lines(f: &mut File, bytes: &[u8]) -> io::Result<()> {
    let before = f.metadata()?.len();
    f.write_all(bytes).inspect_err(|_| {
        let _ = f.set_len(before);
    })
}

/// Opens the file as program logs are opened ([`trust::open_log`]: no
/// symlink or sticky-directory file of another user, non-blocking so a
/// FIFO cannot hang the open), appending, created 0600 (the lines name
/// commands and their arguments). Only a regular file of the daemon's own
/// user is taken: a FIFO or terminal could block every write of the loop
/// (the daemon's stderr is the place for those), and another user's file
/// would be written with the daemon's rights.
fn open(path: &Path, how: LogOpen) -> io::Result<File> {
    let f = trust::open_log(path, how)?;
    let meta = f.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (the daemon's stderr is the place for a pipe or terminal)",
        ));
    }
    let me = trust::euid();
    if meta.uid() != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "it belongs to {}, not to the daemon's user",
                trust::describe_uid(meta.uid())
            ),
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounded_file_keeps_one_backup() {
        let dir = std::env::temp_dir().join(format!("sv-logfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("daemon.log");
        let mut sink = Sink::open(&path, true).unwrap();
        let mut line = vec![b'x'; 1023];
        line.push(b'\n');
        for _ in 0..(BOUND / 1024 + 10) {
            sink.write(&line).unwrap();
        }
        let main = std::fs::metadata(&path).unwrap().len();
        let backup = std::fs::metadata(dir.join("daemon.log.1")).unwrap().len();
        assert_eq!(backup, BOUND);
        assert_eq!(main, 10 * 1024);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_rotated_file_keeps_its_backups_newest_first() {
        let dir = std::env::temp_dir().join(format!("sv-logrot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("supervisord.log");
        let mut sink = Sink::rotated(&path, 10, 2).unwrap();
        for line in ["one 567\n", "two 567\n", "three 7\n", "four 67\n"] {
            sink.write(line.as_bytes()).unwrap();
        }
        let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_default();
        assert_eq!(read("supervisord.log"), "four 67\n");
        assert_eq!(read("supervisord.log.1"), "three 7\n");
        assert_eq!(read("supervisord.log.2"), "two 567\n");
        assert!(!dir.join("supervisord.log.3").exists());
        // One write of many lines rotates between them.
        let mut sink = Sink::rotated(&dir.join("batch.log"), 10, 2).unwrap();
        sink.write(b"aaaa\nbbbb\ncccc\ndddd\neeee\n").unwrap();
        assert_eq!(read("batch.log"), "eeee\n");
        assert_eq!(read("batch.log.1"), "cccc\ndddd\n");
        assert_eq!(read("batch.log.2"), "aaaa\nbbbb\n");
        // maxbytes 0: never rotated.
        let mut sink = Sink::rotated(&dir.join("big.log"), 0, 2).unwrap();
        for _ in 0..100 {
            sink.write(b"0123456789\n").unwrap();
        }
        assert_eq!(read("big.log").len(), 1100);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
