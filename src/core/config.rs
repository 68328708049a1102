//! The config file (SPEC §5): supervisord's INI dialect, read into one
//! [`ServiceSpec`] per process.
//!
//! The parser is pure: files, directory listings, environment variables and
//! the host name all come through a [`Host`] ([`System`] is the real one), so
//! tests and fuzzers run it in memory. Three steps:
//!
//! 1. `lex` reads one file the way Python's configparser does as supervisord
//!    configures it (`inline_comment_prefixes=(';', '#')`, continuation lines
//!    by indentation, lowercased keys, last duplicate key wins).
//! 2. The loader follows `[include]` globs, merges `[DEFAULT]` and refuses a
//!    section that appears twice.
//! 3. `build` turns the sections into programs: `%(...)s` expansions, then
//!    every per-process key through [`ServiceSpec::set`], the one definition
//!    of the keys shared with `create-service --set`.
//!
//! Every error names the file and line of the offending key (the key's line
//! for a value continued on later lines); supervisord's sections and keys
//! that sv has no use for, and keys it does not know in a section it knows
//! (`keys`), are accepted with a warning in the same form.

use super::names;
use super::service::{AutoRestart, RestartRule};
use super::spec::{ServiceSpec, SetError};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

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
}

impl Config {
    /// Every process of every program, in order.
    pub fn services(&self) -> impl Iterator<Item = &ServiceSpec> {
        self.programs.iter().flat_map(|p| p.processes.iter())
    }
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
}

/// The host of [`parse_str`]: no files, no environment, `localhost`.
struct Nothing;

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

/// Whether a file name matches a glob as Python's `glob` matches it: `*` any
/// run, `?` any one character, `[abc]`, `[a-z]`, `[!abc]` one character of
/// (or not of) a set, an unclosed `[` itself; a name starting with `.` only
/// when the pattern does too.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was and how much of the name it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => match char_class(&p, pi, n[ni]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                None => (n[ni] == '[').then_some(pi + 1),
            },
            Some(&c) => (c == n[ni]).then_some(pi + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                pi = next;
                ni += 1;
            }
            (None, Some((sp, sn))) => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The `[...]` at `p[start]` against `c`: whether it matches and where the
/// pattern goes on; `None` if the bracket is never closed (then it is a
/// plain `[`).
fn char_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut j = start + 1;
    let negate = p.get(j) == Some(&'!');
    if negate {
        j += 1;
    }
    let first = j;
    if p.get(j) == Some(&']') {
        j += 1;
    }
    while p.get(j)? != &']' {
        j += 1;
    }
    let set = &p[first..j];
    let mut hit = false;
    let mut k = 0;
    while k < set.len() {
        if k + 2 < set.len() && set[k + 1] == '-' {
            hit |= set[k] <= c && c <= set[k + 2];
            k += 3;
        } else {
            hit |= set[k] == c;
            k += 1;
        }
    }
    Some((hit != negate, j + 1))
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

// ---- limits, so no input can make the parser allocate without bound ----

/// numprocs of one program.
const MAX_NUMPROCS: u64 = 1000;
/// Processes of the whole config.
const MAX_PROCESSES: u64 = 10_000;
/// Files including files including files...
const MAX_INCLUDE_DEPTH: usize = 16;
/// Width or precision in an expansion such as `%(process_num)02d`.
const MAX_WIDTH: usize = 100;

/// supervisord's `[program:x]` keys that sv has no use for: accepted with a
/// warning, but only when [`ServiceSpec::set`] does not know them.
const SUPERVISORD_UNUSED: &[&str] = &[
    "stdout_capture_maxbytes",
    "stderr_capture_maxbytes",
    "stdout_events_enabled",
    "stderr_events_enabled",
    "stdout_syslog",
    "stderr_syslog",
    "serverurl",
];

/// Keys with two spellings (SPEC §5); a section may use one of each pair.
const SPELLINGS: &[(&str, &str)] = &[
    ("cmd", "command"),
    ("workingdir", "directory"),
    ("env", "environment"),
    ("stdout", "stdout_logfile"),
    ("stderr", "stderr_logfile"),
    ("stdout_maxbytes", "stdout_logfile_maxbytes"),
    ("stderr_maxbytes", "stderr_logfile_maxbytes"),
    ("stdout_backups", "stdout_logfile_backups"),
    ("stderr_backups", "stderr_logfile_backups"),
];

// ---- step 1: one file into sections ----

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    value: String,
    /// Index into `Loader::files`.
    file: usize,
    line: usize,
    /// An inline comment was cut from one of its lines.
    comment: bool,
    /// It came from `[DEFAULT]`.
    default: bool,
}

#[derive(Debug)]
struct Section {
    name: String,
    file: usize,
    line: usize,
    entries: Vec<Entry>,
}

/// Lines as Python's universal newlines splits them: `\n`, `\r\n` or `\r`.
fn split_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Where a comment starts: the first `;` or `#` at the start of the line or
/// after whitespace.
fn comment_start(line: &str) -> Option<usize> {
    let mut after_space = true;
    for (i, c) in line.char_indices() {
        if after_space && (c == ';' || c == '#') {
            return Some(i);
        }
        after_space = c.is_whitespace();
    }
    None
}

/// At most `max` characters of `s`, for quoting input in a message.
fn shown(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// configparser's `_read`, as supervisord sets it up.
fn lex(text: &str, file: usize, path: &Path) -> Result<Vec<Section>, ConfigError> {
    let err = |line, message| ConfigError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections: Vec<Section> = Vec::new();
    // The entry that an indented line continues, in the last section.
    let mut open: Option<usize> = None;
    // Key to index in the last section's entries.
    let mut keys: HashMap<String, usize> = HashMap::new();
    let mut indent_level = 0;
    for (n, raw) in split_lines(text).into_iter().enumerate() {
        let line = n + 1;
        let cut = comment_start(raw);
        let value = raw[..cut.unwrap_or(raw.len())].trim();
        if value.is_empty() {
            // A blank line inside a value is kept (trailing ones are
            // trimmed at the end); a comment-only line is skipped.
            if let (None, Some(s), Some(o)) = (cut, sections.last_mut(), open) {
                s.entries[o].value.push('\n');
            }
            continue;
        }
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        if let (Some(s), Some(o)) = (sections.last_mut(), open) {
            if indent > indent_level {
                let e = &mut s.entries[o];
                e.value.push('\n');
                e.value.push_str(value);
                e.comment |= cut.is_some();
                continue;
            }
        }
        indent_level = indent;
        if let Some(rest) = value.strip_prefix('[') {
            let Some(close) = rest.rfind(']') else {
                return Err(err(
                    line,
                    format!("section header '{}' has no closing ]", shown(value, 60)),
                ));
            };
            if !rest[close + 1..].trim().is_empty() {
                return Err(err(
                    line,
                    format!("text after the section header: '{}'", shown(value, 60)),
                ));
            }
            let name = rest[..close].trim();
            if name.is_empty() {
                return Err(err(line, "empty section name []".to_string()));
            }
            sections.push(Section {
                name: name.to_string(),
                file,
                line,
                entries: Vec::new(),
            });
            open = None;
            keys.clear();
            continue;
        }
        let Some(section) = sections.last_mut() else {
            return Err(err(
                line,
                format!("'{}' comes before any [section] header", shown(value, 60)),
            ));
        };
        let Some(eq) = value.find(['=', ':']) else {
            return Err(err(
                line,
                format!(
                    "expected 'key = value' or a [section] header, got '{}'",
                    shown(value, 60)
                ),
            ));
        };
        let key = value[..eq].trim_end().to_lowercase();
        if key.is_empty() {
            return Err(err(
                line,
                format!(
                    "no key before the '{}' in '{}'",
                    &value[eq..=eq],
                    shown(value, 60)
                ),
            ));
        }
        let entry = Entry {
            key,
            value: value[eq + 1..].trim().to_string(),
            file,
            line,
            comment: cut.is_some(),
            default: false,
        };
        // The last of duplicate keys wins, in the place of the first.
        match keys.get(&entry.key) {
            Some(&i) => {
                section.entries[i] = entry;
                open = Some(i);
            }
            None => {
                keys.insert(entry.key.clone(), section.entries.len());
                open = Some(section.entries.len());
                section.entries.push(entry);
            }
        }
    }
    for e in sections.iter_mut().flat_map(|s| s.entries.iter_mut()) {
        let end = e.value.trim_end().len();
        e.value.truncate(end);
    }
    Ok(sections)
}

/// `a/./b/../c` as `a/c`, without asking the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(".."),
            },
            c => out.push(c),
        }
    }
    out
}

/// The directory holding `file`, `.` for a bare file name.
fn dir_of(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

// ---- expansions ----

/// The names `%(...)s` may use in one value.
struct Ctx<'a> {
    here: String,
    /// program_name and group_name.
    program: Option<(&'a str, &'a str)>,
    /// process_num and numprocs.
    num: Option<(u64, u64)>,
    /// The program's own environment= entries, which are ENV_ names too.
    env: Vec<(String, String)>,
}

impl Ctx<'_> {
    fn usable(&self) -> String {
        let mut names = Vec::new();
        if self.program.is_some() {
            names.extend(["program_name", "group_name"]);
        }
        if self.num.is_some() {
            names.extend(["process_num", "numprocs"]);
        }
        names.extend(["here", "host_node_name", "ENV_NAME"]);
        names.join(", ")
    }
}

enum Value {
    Text(String),
    Num(u64),
}

/// A failed expansion: the `%(...)` text and why.
struct Unexpanded {
    token: String,
    why: String,
}

/// A printf conversion after `%(name)`: flags, width, precision, type.
#[derive(Default)]
struct Conversion {
    left: bool,
    zero: bool,
    sign: Option<char>,
    width: usize,
    precision: Option<usize>,
    numeric: bool,
}

/// Reads `[flags][width][.precision][hlL]type` from the start of `s`;
/// returns it and how many bytes it took.
fn conversion(s: &str) -> Result<(Conversion, usize), String> {
    let b = s.as_bytes();
    let mut c = Conversion::default();
    let mut i = 0;
    while let Some(&f) = b.get(i).filter(|f| b"#0- +".contains(f)) {
        match f {
            b'-' => c.left = true,
            b'0' => c.zero = true,
            b'+' => c.sign = Some('+'),
            b' ' => c.sign = c.sign.or(Some(' ')),
            _ => {}
        }
        i += 1;
    }
    let number = |i: &mut usize| -> Result<usize, String> {
        let mut n = 0usize;
        while let Some(d) = b.get(*i).filter(|d| d.is_ascii_digit()) {
            n = n * 10 + usize::from(d - b'0');
            if n > MAX_WIDTH {
                return Err(format!("widths above {MAX_WIDTH} are not supported"));
            }
            *i += 1;
        }
        Ok(n)
    };
    c.width = number(&mut i)?;
    if b.get(i) == Some(&b'.') {
        i += 1;
        c.precision = Some(number(&mut i)?);
    }
    while b.get(i).is_some_and(|l| b"hlL".contains(l)) {
        i += 1;
    }
    match b.get(i) {
        Some(b's') => Ok((c, i + 1)),
        Some(b'd' | b'i' | b'u') => {
            c.numeric = true;
            Ok((c, i + 1))
        }
        Some(_) => Err("unsupported conversion; use s or d, as in %(process_num)02d".into()),
        None => Err("the expansion has no type; end it with s or d, as in %(program_name)s".into()),
    }
}

impl Conversion {
    fn apply(&self, v: Value) -> Result<String, String> {
        let body = match (self.numeric, v) {
            (false, Value::Text(t)) => self.truncate(t),
            (false, Value::Num(n)) => self.truncate(n.to_string()),
            (true, Value::Num(n)) => {
                let digits = n.to_string();
                let zeros = self.precision.unwrap_or(0).saturating_sub(digits.len());
                let sign = self.sign.map(String::from).unwrap_or_default();
                let len = sign.len() + zeros + digits.len();
                let pad = if self.zero && !self.left {
                    self.width.saturating_sub(len)
                } else {
                    0
                };
                format!("{sign}{}{digits}", "0".repeat(zeros + pad))
            }
            (true, Value::Text(_)) => {
                return Err("d needs a number, but this name is text; use s".into())
            }
        };
        let pad = " ".repeat(self.width.saturating_sub(body.chars().count()));
        Ok(if self.left { body + &pad } else { pad + &body })
    }

    fn truncate(&self, s: String) -> String {
        match self.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s,
        }
    }
}

// ---- steps 2 and 3 ----

struct GroupDef {
    name: String,
    members: Vec<String>,
    file: usize,
    /// The `[group:NAME]` line.
    line: usize,
    /// The `programs =` line.
    programs_line: usize,
}

struct Loader<'h> {
    host: &'h mut dyn Host,
    files: Vec<PathBuf>,
    /// Normalized paths of the files read, so none is read twice.
    seen: HashSet<PathBuf>,
    sections: Vec<Section>,
    /// Section name to index in `sections`, to refuse duplicates.
    names: HashMap<String, usize>,
    defaults: Vec<Entry>,
    warnings: Vec<String>,
    warned: HashSet<String>,
    hostname: Option<String>,
    /// Reading stopped at an error: build only to find an earlier one, so
    /// what may come after (a command, a group's member) is not required.
    incomplete: bool,
}

impl<'h> Loader<'h> {
    fn new(host: &'h mut dyn Host) -> Self {
        Loader {
            host,
            files: Vec::new(),
            seen: HashSet::new(),
            sections: Vec::new(),
            names: HashMap::new(),
            defaults: Vec::new(),
            warnings: Vec::new(),
            warned: HashSet::new(),
            hostname: None,
            incomplete: false,
        }
    }

    fn err(&self, file: usize, line: usize, message: String) -> ConfigError {
        ConfigError {
            file: self.files[file].clone(),
            line,
            message,
        }
    }

    fn warn(&mut self, file: usize, line: usize, message: String) {
        let w = format!("{}:{line}: {message}", self.files[file].display());
        if self.warned.insert(w.clone()) {
            self.warnings.push(w);
        }
    }

    fn add_file(&mut self, path: PathBuf, text: &str, depth: usize) -> Result<(), ConfigError> {
        let file = self.files.len();
        self.seen.insert(normalize(&path));
        self.files.push(path);
        let mut include: Option<Section> = None;
        let (sections, broken) = order::lex_until_error(text, file, &self.files[file]);
        for s in sections {
            if s.name == "DEFAULT" {
                for mut e in s.entries {
                    e.default = true;
                    match self.defaults.iter().position(|d| d.key == e.key) {
                        Some(i) => self.defaults[i] = e,
                        None => self.defaults.push(e),
                    }
                }
                continue;
            }
            // Each file has its own [include]; other names are global.
            let first = if s.name == "include" {
                include.as_ref().map(|i| (i.file, i.line))
            } else {
                let first = self.names.get(&s.name).map(|&i| &self.sections[i]);
                first.map(|f| (f.file, f.line))
            };
            if let Some((f, l)) = first {
                return Err(self.err(
                    s.file,
                    s.line,
                    format!(
                        "duplicate section [{}]; the first one is at {}:{l}",
                        s.name,
                        self.files[f].display()
                    ),
                ));
            }
            if s.name == "include" {
                include = Some(s);
            } else {
                self.names.insert(s.name.clone(), self.sections.len());
                self.sections.push(s);
            }
        }
        if let Some(e) = broken {
            return Err(e);
        }
        match include {
            Some(s) => self.include(&s, depth),
            None => Ok(()),
        }
    }

    fn include(&mut self, s: &Section, depth: usize) -> Result<(), ConfigError> {
        let mut files = None;
        for e in &s.entries {
            if e.key != "files" {
                self.unknown_include_key(e);
                continue;
            }
            files = Some(e);
        }
        let Some(e) = files else {
            return Err(self.err(
                s.file,
                s.line,
                format!(
                    "[include] has no files = line (space-separated globs){}",
                    keys::misspelt_files(&s.entries)
                ),
            ));
        };
        let path = &self.files[s.file];
        // Not dir_of: a bare `config` includes `x.conf`, not `./x.conf`.
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let ctx = Ctx {
            here: dir_of(path).to_string_lossy().into_owned(),
            program: None,
            num: None,
            env: Vec::new(),
        };
        let value = self
            .expand(&e.value, &ctx)
            .map_err(|x| self.unexpanded(e, "[include]", x))?;
        for pattern in value.split_whitespace() {
            let found = self.glob(&base, pattern);
            if found.is_empty() {
                let full = base.join(pattern);
                self.warn(
                    e.file,
                    e.line,
                    format!("no file matches the include '{}'", full.display()),
                );
                continue;
            }
            for path in found {
                // Read as found (`..` after a symlink is the kernel's
                // business), but never the same file twice.
                if !self.seen.insert(normalize(&path)) {
                    continue;
                }
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(self.err(
                        e.file,
                        e.line,
                        format!("includes nested more than {MAX_INCLUDE_DEPTH} deep"),
                    ));
                }
                let text = self.host.read(&path).map_err(|why| {
                    self.err(
                        e.file,
                        e.line,
                        format!("cannot read the included file {}: {why}", path.display()),
                    )
                })?;
                self.add_file(path, &text, depth + 1)?;
            }
        }
        Ok(())
    }

    /// The paths matching `pattern` (wildcards in any component), relative
    /// to `base` unless absolute, sorted as strings as Python sorts them.
    fn glob(&mut self, base: &Path, pattern: &str) -> Vec<PathBuf> {
        let full = base.join(pattern);
        let parts: Vec<Component> = full.components().collect();
        let mut paths = vec![PathBuf::new()];
        for (i, part) in parts.iter().enumerate() {
            match part {
                Component::Normal(name)
                    if i + 1 == parts.len() || has_magic(&name.to_string_lossy()) =>
                {
                    let name = name.to_string_lossy();
                    let mut next = Vec::new();
                    for dir in &paths {
                        next.extend(self.host.glob(dir, &name));
                    }
                    paths = next;
                }
                part => paths.iter_mut().for_each(|p| p.push(part)),
            }
            if paths.is_empty() {
                break;
            }
        }
        paths.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        paths
    }

    fn hostname(&mut self) -> String {
        if self.hostname.is_none() {
            self.hostname = Some(self.host.hostname());
        }
        self.hostname.clone().unwrap_or_default()
    }

    fn lookup(&mut self, name: &str, ctx: &Ctx) -> Result<Value, String> {
        if let Some(var) = name.strip_prefix("ENV_") {
            if let Some((_, v)) = ctx.env.iter().rev().find(|(k, _)| k == var) {
                return Ok(Value::Text(v.clone()));
            }
            return self
                .host
                .var(var)
                .map(Value::Text)
                .ok_or_else(|| format!("environment variable {var} is not set"));
        }
        let value = match name {
            "here" => Some(Value::Text(ctx.here.clone())),
            "host_node_name" => Some(Value::Text(self.hostname())),
            "program_name" => ctx.program.map(|(p, _)| Value::Text(p.to_string())),
            "group_name" => ctx.program.map(|(_, g)| Value::Text(g.to_string())),
            "process_num" => ctx.num.map(|(n, _)| Value::Num(n)),
            "numprocs" => ctx.num.map(|(_, n)| Value::Num(n)),
            _ => None,
        };
        value.ok_or_else(|| format!("unknown name; usable here: {}", ctx.usable()))
    }

    /// Python's `value % names`: `%(name)s`, `%(name)02d`..., `%%`.
    fn expand(&mut self, v: &str, ctx: &Ctx) -> Result<String, Unexpanded> {
        let mut out = String::with_capacity(v.len());
        let mut rest = v;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            let tail = &rest[i + 1..];
            if let Some(after) = tail.strip_prefix('%') {
                out.push('%');
                rest = after;
                continue;
            }
            let Some(inner) = tail.strip_prefix('(') else {
                return Err(Unexpanded {
                    token: rest[i..].chars().take(2).collect(),
                    why: "a lone % starts an expansion like %(program_name)s; \
                          write %% for a literal %"
                        .into(),
                });
            };
            let Some(close) = inner.find(')') else {
                return Err(Unexpanded {
                    token: shown(&rest[i..], 20),
                    why: "the expansion has no closing )".into(),
                });
            };
            let name = &inner[..close];
            let after = &inner[close + 1..];
            let (conv, used) = conversion(after).map_err(|why| Unexpanded {
                token: format!("%({})", shown(name, 40)),
                why,
            })?;
            let token = format!("%({}){}", shown(name, 40), &after[..used]);
            let value = self.lookup(name, ctx).map_err(|why| Unexpanded {
                token: token.clone(),
                why,
            })?;
            out.push_str(&conv.apply(value).map_err(|why| Unexpanded { token, why })?);
            rest = &after[used..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn unexpanded(&self, e: &Entry, place: &str, x: Unexpanded) -> ConfigError {
        self.err(
            e.file,
            e.line,
            format!("{} in {} of {place}: {}", x.token, e.key, x.why),
        )
    }

    fn build(mut self, path: &Path) -> Result<Config, ConfigError> {
        let sections = std::mem::take(&mut self.sections);
        let mut programs: Vec<(&Section, &str)> = Vec::new();
        let mut program_at: HashMap<&str, &Section> = HashMap::new();
        let mut groups: Vec<GroupDef> = Vec::new();
        let mut group_at: HashMap<String, (usize, usize)> = HashMap::new();
        for s in &sections {
            let (kind, name) = match s.name.split_once(':') {
                Some((kind, name)) => (kind, Some(name.trim())),
                None => (s.name.as_str(), None),
            };
            match (kind, name) {
                ("program", Some(name)) => {
                    names::check(name).map_err(|why| {
                        self.err(s.file, s.line, format!("bad name in [{}]: {why}", s.name))
                    })?;
                    if let Some(first) = program_at.insert(name, s) {
                        return Err(self.err(
                            s.file,
                            s.line,
                            format!(
                                "duplicate [program:{name}]; the first one is at {}:{}",
                                self.files[first.file].display(),
                                first.line
                            ),
                        ));
                    }
                    programs.push((s, name));
                }
                ("group", Some(name)) => {
                    let g = self.group(s, name)?;
                    if let Some((f, l)) = group_at.insert(g.name.clone(), (g.file, g.line)) {
                        return Err(self.err(
                            s.file,
                            s.line,
                            format!(
                                "duplicate [group:{}]; the first one is at {}:{l}",
                                g.name,
                                self.files[f].display(),
                            ),
                        ));
                    }
                    groups.push(g);
                }
                (
                    "supervisord" | "unix_http_server" | "inet_http_server" | "supervisorctl",
                    None,
                )
                | ("rpcinterface" | "ctlplugin", Some(_)) => {
                    self.warn(
                        s.file,
                        s.line,
                        format!("[{}] is not used by sv; ignored", s.name),
                    );
                    self.unknown_supervisord_keys(s);
                    if let Some(e) = s.entries.iter().find(|e| e.key == "environment") {
                        if s.name == "supervisord" {
                            self.warn(
                                e.file,
                                e.line,
                                "environment in [supervisord] is not given to the programs; \
                                 set env in each [program:x]"
                                    .to_string(),
                            );
                        }
                    }
                }
                ("eventlistener" | "fcgi-program", Some(_)) => self.warn(
                    s.file,
                    s.line,
                    format!(
                        "[{}] is not used by sv; ignored (its processes are not started)",
                        s.name
                    ),
                ),
                _ => {
                    return Err(self.err(
                        s.file,
                        s.line,
                        format!(
                            "unknown section [{}]; sv reads [program:NAME], [group:NAME] \
                             and [include]",
                            s.name
                        ),
                    ))
                }
            }
        }

        let mut group_of: HashMap<&str, &str> = HashMap::new();
        for g in &groups {
            for m in &g.members {
                if !program_at.contains_key(m.as_str()) && !self.incomplete {
                    return Err(self.err(
                        g.file,
                        g.programs_line,
                        format!(
                            "[group:{}] lists '{m}', but there is no [program:{m}]",
                            g.name
                        ),
                    ));
                }
                if let Some(other) = group_of.insert(m, &g.name) {
                    return Err(self.err(
                        g.file,
                        g.programs_line,
                        format!(
                            "[group:{}] lists '{m}', which is in [group:{other}] already; \
                             a program can be in one group only",
                            g.name
                        ),
                    ));
                }
            }
            if program_at.contains_key(g.name.as_str()) && !g.members.contains(&g.name) {
                return Err(self.err(
                    g.file,
                    g.line,
                    format!(
                        "[group:{0}] has the name of [program:{0}], which is not in it; \
                         {0}:* would mean either",
                        g.name
                    ),
                ));
            }
        }

        let mut taken: HashMap<String, (String, usize, usize)> = HashMap::new();
        let mut total = 0;
        let mut out = Vec::with_capacity(programs.len());
        for (s, name) in programs {
            let group = group_of.get(name).copied();
            out.push(self.program(s, name, group, &mut taken, &mut total)?);
        }
        Ok(Config {
            path: path.to_path_buf(),
            programs: out,
            groups: groups.into_iter().map(|g| (g.name, g.members)).collect(),
            warnings: self.warnings,
        })
    }

    fn group(&mut self, s: &Section, name: &str) -> Result<GroupDef, ConfigError> {
        names::check(name)
            .map_err(|why| self.err(s.file, s.line, format!("bad name in [{}]: {why}", s.name)))?;
        let label = format!("[group:{name}]");
        let ctx = Ctx {
            here: dir_of(&self.files[s.file]).to_string_lossy().into_owned(),
            program: None,
            num: None,
            env: Vec::new(),
        };
        let mut members = None;
        for e in &s.entries {
            if !keys::GROUP.contains(&e.key.as_str()) {
                self.unknown_group_key(e, &label);
                continue;
            }
            let v = self
                .expand(&e.value, &ctx)
                .map_err(|x| self.unexpanded(e, &label, x))?;
            match e.key.as_str() {
                "programs" => {
                    let mut list: Vec<String> = Vec::new();
                    let mut listed = HashSet::new();
                    for m in v.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                        if listed.insert(m) {
                            list.push(m.to_string());
                        }
                    }
                    if list.is_empty() {
                        return Err(self.err(
                            e.file,
                            e.line,
                            format!("programs in {label} lists no program"),
                        ));
                    }
                    members = Some((list, e.line));
                }
                "priority" => {
                    if v.trim().parse::<i32>().is_err() {
                        return Err(self.err(
                            e.file,
                            e.line,
                            format!("priority in {label}: '{}' is not a whole number", v.trim()),
                        ));
                    }
                    self.warn(
                        e.file,
                        e.line,
                        format!(
                            "priority in {label} is not used by sv; ignored \
                             (each program's own priority applies)"
                        ),
                    );
                }
                _ => {}
            }
        }
        let members = members.or_else(|| self.incomplete.then(|| (Vec::new(), s.line)));
        let Some((members, programs_line)) = members else {
            return Err(self.err(
                s.file,
                s.line,
                format!(
                    "{label} has no programs = line (programs = a,b){}",
                    keys::misspelt_programs(&s.entries)
                ),
            ));
        };
        Ok(GroupDef {
            name: name.to_string(),
            members,
            file: s.file,
            line: s.line,
            programs_line,
        })
    }

    fn program(
        &mut self,
        s: &Section,
        name: &str,
        group: Option<&str>,
        taken: &mut HashMap<String, (String, usize, usize)>,
        total: &mut u64,
    ) -> Result<Program, ConfigError> {
        let label = format!("[program:{name}]");
        // [DEFAULT] first, unless the section has the key itself.
        let own: HashSet<&str> = s.entries.iter().map(|e| e.key.as_str()).collect();
        let entries: Vec<Entry> = self
            .defaults
            .iter()
            .filter(|d| !own.contains(d.key.as_str()))
            .chain(&s.entries)
            .cloned()
            .collect();
        let find = |key: &str| entries.iter().find(|e| e.key == key);
        for (a, b) in SPELLINGS {
            if let (Some(x), Some(y)) = (find(a), find(b)) {
                let at = if y.default { x } else { y };
                return Err(self.err(
                    at.file,
                    at.line,
                    format!("{label} sets both {a} and {b}, two spellings of one key; keep one"),
                ));
            }
        }

        let mut ctx = Ctx {
            here: dir_of(&self.files[s.file]).to_string_lossy().into_owned(),
            program: Some((name, group.unwrap_or(name))),
            num: None,
            env: Vec::new(),
        };
        let numprocs = match find("numprocs") {
            Some(e) => self.count(e, &ctx, &label, 1, MAX_NUMPROCS)?,
            None => 1,
        };
        let start = match find("numprocs_start") {
            Some(e) => self.count(e, &ctx, &label, 0, u64::from(u32::MAX))?,
            None => 0,
        };
        *total += numprocs;
        if *total > MAX_PROCESSES {
            return Err(self.err(
                s.file,
                s.line,
                format!("{label} brings the config past {MAX_PROCESSES} processes"),
            ));
        }
        let name_entry = find("process_name");
        let template = match name_entry {
            Some(e) => e.value.as_str(),
            None if numprocs > 1 => "%(program_name)s_%(process_num)02d",
            None => "%(program_name)s",
        };
        let (name_file, name_line) = name_entry.map_or((s.file, s.line), |e| (e.file, e.line));
        let (env_entries, other_entries): (Vec<&Entry>, Vec<&Entry>) = entries
            .iter()
            .filter(|e| {
                !matches!(
                    e.key.as_str(),
                    "numprocs" | "numprocs_start" | "process_name"
                )
            })
            .partition(|e| e.key == "env" || e.key == "environment");

        let mut processes = Vec::with_capacity(numprocs as usize);
        for num in start..start + numprocs {
            let first = num == start;
            ctx.num = Some((num, numprocs));
            ctx.env.clear();
            let pname = self.expand(template, &ctx).map_err(|x| {
                let msg = format!("{} in process_name of {label}: {}", x.token, x.why);
                self.err(name_file, name_line, msg)
            })?;
            names::check(&pname).map_err(|why| {
                self.err(
                    name_file,
                    name_line,
                    format!("process name '{pname}' of {label}: {why}"),
                )
            })?;
            if let Some((other, f, l)) = taken.get(&pname) {
                let message = if other == name {
                    format!(
                        "process_name '{template}' gives more than one copy of {label} \
                         the name '{pname}'; put %(process_num)02d in it"
                    )
                } else {
                    format!(
                        "process name '{pname}' of {label} is already used by \
                         [program:{other}] at {}:{l}",
                        self.files[*f].display()
                    )
                };
                return Err(self.err(name_file, name_line, message));
            }
            taken.insert(pname.clone(), (name.to_string(), s.file, s.line));

            let mut spec = ServiceSpec::new(&pname, Vec::new());
            spec.policy.restart = RestartRule::Auto {
                autorestart: AutoRestart::Unexpected,
                startretries: 3,
            };
            spec.program = Some(name.to_string());
            spec.group = group.map(str::to_string);
            // environment first: its variables are ENV_ names for the rest,
            // as in supervisord 4.
            for e in &env_entries {
                self.apply(&mut spec, e, &ctx, &label, first)?;
            }
            ctx.env = spec.env.clone();
            let mut asgroup = [None, None];
            for e in &other_entries {
                self.apply(&mut spec, e, &ctx, &label, first)?;
                match e.key.as_str() {
                    "stopasgroup" => asgroup[0] = Some(spec.policy.group),
                    "killasgroup" => asgroup[1] = Some(spec.policy.group),
                    _ => {}
                }
            }
            // ServiceSpec has one flag for both; when they differ, signal
            // the group rather than orphan grandchildren.
            if let [Some(stop), Some(kill)] = asgroup {
                if stop != kill {
                    spec.policy.group = true;
                    if first {
                        self.warn(
                            s.file,
                            s.line,
                            format!(
                                "stopasgroup and killasgroup differ in {label}; sv has one \
                                 setting for both and signals the process group"
                            ),
                        );
                    }
                }
            }
            processes.push(spec);
        }
        // Checked last, so a misspelt `comand` is reported as such.
        if find("cmd").is_none() && find("command").is_none() && !self.incomplete {
            return Err(self.err(
                s.file,
                s.line,
                format!(
                    "{label} has no command (command = /path/to/program args){}",
                    keys::misspelt_command(&entries)
                ),
            ));
        }
        Ok(Program {
            name: name.to_string(),
            file: self.files[s.file].clone(),
            line: s.line,
            processes,
            keys: entries
                .iter()
                .map(|e| (e.key.clone(), self.files[e.file].clone(), e.line))
                .collect(),
        })
    }

    /// Expands one entry and hands it to [`ServiceSpec::set`].
    fn apply(
        &mut self,
        spec: &mut ServiceSpec,
        e: &Entry,
        ctx: &Ctx,
        label: &str,
        first: bool,
    ) -> Result<(), ConfigError> {
        // Not expanded: another tool's value need not be valid here.
        if !keys::applies(&e.key) {
            self.unknown_program_key(e, label, first);
            return Ok(());
        }
        let place = if e.default {
            format!("[DEFAULT] (for {label})")
        } else {
            label.to_string()
        };
        let mut v = self
            .expand(&e.value, ctx)
            .map_err(|x| self.unexpanded(e, &place, x))?;
        if e.key == "cmd" || e.key == "command" {
            v = v.replace('\n', " ");
        }
        match spec.set(&e.key, &v) {
            Ok(()) => Ok(()),
            Err(SetError::UnknownKey(_)) => {
                self.unknown_program_key(e, label, first);
                Ok(())
            }
            Err(SetError::Invalid(why)) => {
                let hint = if e.comment {
                    " (note: a ; or # after a space starts a comment)"
                } else {
                    ""
                };
                Err(self.err(e.file, e.line, format!("{} in {place}: {why}{hint}", e.key)))
            }
        }
    }

    /// A whole number in `min..=max` (numprocs, numprocs_start).
    fn count(
        &mut self,
        e: &Entry,
        ctx: &Ctx,
        label: &str,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        let v = self
            .expand(&e.value, ctx)
            .map_err(|x| self.unexpanded(e, label, x))?;
        let v = v.trim();
        let Ok(n) = v.parse::<u64>() else {
            return Err(self.err(
                e.file,
                e.line,
                format!(
                    "{} in {label}: '{}' is not a whole number",
                    e.key,
                    shown(v, 40)
                ),
            ));
        };
        if n < min || n > max {
            return Err(self.err(
                e.file,
                e.line,
                format!(
                    "{} in {label} is {n}; it must be from {min} to {max}",
                    e.key
                ),
            ));
        }
        Ok(n)
    }
}

mod keys;
mod order;
mod probe;
#[cfg(test)]
mod tests;

pub use probe::runtime_warnings;
