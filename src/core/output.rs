//! Child output: pipes drained by the poll loop into log files (SPEC §7).
//!
//! A pipe is read until it would block, a bounded number of chunks per
//! pass so one chatty child cannot starve the loop. A log that cannot be
//! written records its error (shown in `status`) and drops the data; the
//! pipe keeps being drained so the child never blocks on a full pipe and
//! supervision goes on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// Reads per pipe per loop pass before yielding to other work.
const READS_PER_PASS: usize = 16;
const CHUNK: usize = 64 * 1024;

/// One stream's log file. `path: None` discards.
#[derive(Debug, Default)]
pub struct LogFile {
    pub path: Option<PathBuf>,
    file: Option<File>,
    pub error: Option<String>,
}

impl LogFile {
    pub fn new(path: Option<PathBuf>) -> LogFile {
        LogFile {
            path,
            file: None,
            error: None,
        }
    }

    /// Appends; on failure records the error once and drops the data.
    pub fn write(&mut self, data: &[u8]) {
        let Some(path) = &self.path else { return };
        if self.file.is_none() {
            match OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .open(path)
            {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    self.error = Some(format!("{}: {e}", path.display()));
                    return;
                }
            }
        }
        if let Some(f) = &mut self.file {
            match f.write_all(data) {
                Ok(()) => self.error = None,
                Err(e) => self.error = Some(format!("{}: {e}", path.display())),
            }
        }
    }

    /// Closes the file so the next write opens the path afresh (SIGUSR2).
    pub fn reopen(&mut self) {
        self.file = None;
    }
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
        sink(&buf[..n as usize]);
    }
    Ok(Drain::Open)
}
