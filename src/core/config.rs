//! The config file (SPEC §5): supervisord's INI dialect, read into one
//! [`ServiceSpec`] per process.
//!
//! The parser is pure: files, directory listings, environment variables and
//! the host name all come through a [`Host`] ([`System`] is the real one,
//! in `host`), so tests and fuzzers run it in memory. Three steps:
//!
//! 1. `lex` reads one file the way Python's configparser does as supervisord
//!    configures it (`inline_comment_prefixes=(';', '#')`, continuation lines
//!    by indentation, lowercased keys, last duplicate key wins).
//! 2. The loader (`include`) follows `[include]` globs (matched by `glob`),
//!    merges `[DEFAULT]` and refuses a section that appears twice.
//! 3. `build` sorts the sections into programs and groups, and `program`
//!    makes each program's processes: `%(...)s` expansions (`expand`), then
//!    every per-process key through [`ServiceSpec::set`], the one definition
//!    of the keys shared with `create-service --set`.
//!
//! Every error names the file and line of the offending key (the key's line
//! for a value continued on later lines); supervisord's sections and keys
//! that sv has no use for, and keys it does not know in a section it knows
//! (`keys`), are accepted with a warning in the same form.
//! When reading stops at an error, `order` still reports an earlier one
//! first; `probe` gives `sv check`'s warnings about what would fail at run
//! time.

use super::spec::ServiceSpec;
use build::Loader;
use host::Nothing;
use std::fmt;
use std::path::{Path, PathBuf};

mod build;
mod deps;
mod dirpath;
mod expand;
mod glob;
mod host;
mod http;
mod include;
mod keys;
mod lex;
mod listener;
mod order;
mod probe;
mod program;
mod section;
mod supervisord;
#[cfg(test)]
mod tests;

pub use glob::glob_match;
pub use host::{Host, System};
pub use http::{Credentials, HttpServers, InetServer, UnixServer};
pub use probe::runtime_warnings;
pub use section::read_section;
pub use supervisord::{own_stream_fd, parse_count, parse_level, parse_umask, Supervisord};

/// A config file read whole, with everything it includes.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file that was read (absolute when it came through [`load`]).
    pub path: PathBuf,
    /// In file order: a file's own sections, then those of the files it
    /// includes.
    pub programs: Vec<Program>,
    /// `[group:NAME]` sections: the name and its member programs.
    pub groups: Vec<(String, Vec<String>)>,
    /// `FILE:LINE: what was ignored`, in file order, each once.
    pub warnings: Vec<String>,
    /// `[supervisord]`, if the file has one (SPEC §13).
    pub supervisord: Option<Supervisord>,
    /// `[unix_http_server]` and `[inet_http_server]` (SPEC §13).
    pub http: HttpServers,
}

/// One `[program:NAME]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub name: String,
    /// Where its `[program:NAME]` header is.
    pub file: PathBuf,
    pub line: usize,
    /// One per copy (numprocs), named by process_name, fully expanded.
    pub processes: Vec<ServiceSpec>,
    /// Where each of its keys is set (`[DEFAULT]`'s too): key, file, line;
    /// for warnings about a value (`sv check`).
    pub keys: Vec<(String, PathBuf, usize)>,
}

/// What is wrong and where. `line` 0 means the file as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads the config file at `path` from disk, with its includes. The path is
/// made absolute first, so `%(here)s` and relative includes do not depend on
/// the daemon's later working directory.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut host = System;
    let text = host.read(&path).map_err(|e| ConfigError {
        file: path.clone(),
        line: 0,
        message: format!("cannot read the config file: {e}"),
    })?;
    parse(&path, &text, &mut host)
}

/// Parses `text` as the config file `path`; includes, environment variables
/// and the host name come from `host`.
pub fn parse(path: &Path, text: &str, host: &mut dyn Host) -> Result<Config, ConfigError> {
    let mut loader = Loader::new(host);
    let read = loader.add_file(path.to_path_buf(), text, 0);
    loader.finish(path, read)
}

/// Parses `text` as a file named `config`, with no files to include (every
/// include pattern matches nothing), no environment variables and the host
/// name `localhost`. For tests and fuzzing.
pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
    parse(Path::new("config"), text, &mut Nothing)
}
