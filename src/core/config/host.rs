//! What the parser asks of the machine it runs on, behind [`Host`], so
//! tests and fuzzers read configs in memory: [`System`] is the real machine,
//! `Nothing` the empty one of `parse_str`.

use super::glob::{glob_match, has_magic};
use std::io;
use std::path::{Path, PathBuf};

/// All the parser may ask of the machine it runs on.
pub trait Host {
    /// The text of an included file.
    fn read(&mut self, path: &Path) -> io::Result<String>;
    /// The entries of `dir` whose names match the glob `pattern` (see
    /// [`glob_match`]), as `dir.join(name)`, sorted. A pattern without
    /// wildcards gives the one path if it exists. `dir` may be empty,
    /// meaning the current directory.
    fn glob(&mut self, dir: &Path, pattern: &str) -> Vec<PathBuf>;
    /// An environment variable, for `%(ENV_NAME)s`.
    fn var(&mut self, name: &str) -> Option<String>;
    /// For `%(host_node_name)s`.
    fn hostname(&mut self) -> String;
    /// Whether `dir` is a directory, for log and pid files whose
    /// directory must exist (supervisord's `existing_dirpath`). A host
    /// with no files (tests, fuzzers) has them all.
    fn dir_exists(&mut self, _dir: &Path) -> bool {
        true
    }
}

/// The real machine: files, the process environment, the kernel's host name.
pub struct System;

impl Host for System {
    fn read(&mut self, path: &Path) -> io::Result<String> {
        String::from_utf8(std::fs::read(path)?).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line {line} is not UTF-8 text"),
            )
        })
    }

    fn glob(&mut self, dir: &Path, pattern: &str) -> Vec<PathBuf> {
        let listed = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if !has_magic(pattern) {
            let exists = listed.join(pattern).symlink_metadata().is_ok();
            return if exists {
                vec![dir.join(pattern)]
            } else {
                Vec::new()
            };
        }
        let Ok(entries) = std::fs::read_dir(listed) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| {
                let name = e.ok()?.file_name();
                let name = name.to_str()?;
                glob_match(pattern, name).then(|| dir.join(name))
            })
            .collect();
        found.sort();
        found
    }

    fn var(&mut self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }

    fn hostname(&mut self) -> String {
        if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            let name = name.trim();
            if !name.is_empty() {
                return name.to_string();
            }
        }
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for buf.len() bytes; gethostname writes at
        // most that many and we stop at the first NUL or the end.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
        "localhost".to_string()
    }

    fn dir_exists(&mut self, dir: &Path) -> bool {
        dir.is_dir()
    }
}

/// The host of [`parse_str`]: no files, no environment, `localhost`.
pub(super) struct Nothing;

impl Host for Nothing {
    fn read(&mut self, path: &Path) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not read from a string config", path.display()),
        ))
    }
    fn glob(&mut self, _dir: &Path, _pattern: &str) -> Vec<PathBuf> {
        Vec::new()
    }
    fn var(&mut self, _name: &str) -> Option<String> {
        None
    }
    fn hostname(&mut self) -> String {
        "localhost".to_string()
    }
}
