//! Step 1: one file into sections, by configparser's `_read` as supervisord
//! sets it up: `inline_comment_prefixes=(';', '#')`, continuation lines by
//! indentation, `=` or `:` between key and value, lowercased keys, the last
//! of duplicate keys winning.

use super::ConfigError;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) key: String,
    pub(super) value: String,
    /// Index into `Loader::files`.
    pub(super) file: usize,
    pub(super) line: usize,
    /// An inline comment was cut from one of its lines.
    pub(super) comment: bool,
    /// It came from `[DEFAULT]`.
    pub(super) default: bool,
}

#[derive(Debug)]
pub(super) struct Section {
    pub(super) name: String,
    pub(super) file: usize,
    pub(super) line: usize,
    pub(super) entries: Vec<Entry>,
}

/// Lines as Python's universal newlines splits them: `\n`, `\r\n` or `\r`.
pub(super) fn split_lines(text: &str) -> Vec<&str> {
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
pub(super) fn shown(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// What is wrong with a line; each quotes the line, at most 60 characters
/// of it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Syntax {
    /// `[name` with no `]`.
    UnclosedHeader(String),
    /// `[name] more`.
    AfterHeader(String),
    /// `[]`.
    EmptyName,
    /// A `key = value` above the first header.
    BeforeHeader(String),
    /// Neither `key = value` nor a header.
    NotKeyValue(String),
    /// `= value`: the `=` or `:`, and the line.
    NoKey(char, String),
}

impl Syntax {
    fn quoting(make: fn(String) -> Syntax, value: &str) -> Syntax {
        make(shown(value, 60))
    }
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Syntax::UnclosedHeader(v) => write!(f, "section header '{v}' has no closing ]"),
            Syntax::AfterHeader(v) => write!(f, "text after the section header: '{v}'"),
            Syntax::EmptyName => f.write_str("empty section name []"),
            Syntax::BeforeHeader(v) => write!(f, "'{v}' comes before any [section] header"),
            Syntax::NotKeyValue(v) => {
                write!(f, "expected 'key = value' or a [section] header, got '{v}'")
            }
            Syntax::NoKey(sep, v) => write!(f, "no key before the '{sep}' in '{v}'"),
        }
    }
}

/// configparser's `_read`, as supervisord sets it up.
pub(super) fn lex(text: &str, file: usize, path: &Path) -> Result<Vec<Section>, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lexer = Lexer {
        file,
        sections: Vec::new(),
        open: None,
        keys: HashMap::new(),
        indent_level: 0,
    };
    for (n, raw) in split_lines(text).into_iter().enumerate() {
        lexer.line(n + 1, raw).map_err(|message| ConfigError {
            file: path.to_path_buf(),
            line: n + 1,
            message: message.to_string(),
        })?;
    }
    let mut sections = lexer.sections;
    for e in sections.iter_mut().flat_map(|s| s.entries.iter_mut()) {
        let end = e.value.trim_end().len();
        e.value.truncate(end);
    }
    Ok(sections)
}

/// What `lex` knows between one line and the next.
struct Lexer {
    file: usize,
    sections: Vec<Section>,
    /// The entry that an indented line continues, in the last section.
    open: Option<usize>,
    /// Key to index in the last section's entries.
    keys: HashMap<String, usize>,
    indent_level: usize,
}

impl Lexer {
    /// One line: blank, a continuation, a header or a `key = value`.
    fn line(&mut self, line: usize, raw: &str) -> Result<(), Syntax> {
        let cut = comment_start(raw);
        let value = raw[..cut.unwrap_or(raw.len())].trim();
        if value.is_empty() {
            // A blank line inside a value is kept (trailing ones are
            // trimmed at the end); a comment-only line is skipped.
            if let (None, Some(s), Some(o)) = (cut, self.sections.last_mut(), self.open) {
                s.entries[o].value.push('\n');
            }
            return Ok(());
        }
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        if let (Some(s), Some(o)) = (self.sections.last_mut(), self.open) {
            if indent > self.indent_level {
                let e = &mut s.entries[o];
                e.value.push('\n');
                e.value.push_str(value);
                e.comment |= cut.is_some();
                return Ok(());
            }
        }
        self.indent_level = indent;
        match value.strip_prefix('[') {
            Some(rest) => self.header(line, value, rest),
            None => self.entry(line, value, cut.is_some()),
        }
    }

    /// `[name]`: `rest` is what follows the `[`.
    fn header(&mut self, line: usize, value: &str, rest: &str) -> Result<(), Syntax> {
        let Some(close) = rest.rfind(']') else {
            return Err(Syntax::quoting(Syntax::UnclosedHeader, value));
        };
        if !rest[close + 1..].trim().is_empty() {
            return Err(Syntax::quoting(Syntax::AfterHeader, value));
        }
        let name = rest[..close].trim();
        if name.is_empty() {
            return Err(Syntax::EmptyName);
        }
        self.sections.push(Section {
            name: name.to_string(),
            file: self.file,
            line,
            entries: Vec::new(),
        });
        self.open = None;
        self.keys.clear();
        Ok(())
    }

    /// `key = value` or `key: value`, in the last section.
    fn entry(&mut self, line: usize, value: &str, comment: bool) -> Result<(), Syntax> {
        let Some(section) = self.sections.last_mut() else {
            return Err(Syntax::quoting(Syntax::BeforeHeader, value));
        };
        let Some(eq) = value.find(['=', ':']) else {
            return Err(Syntax::quoting(Syntax::NotKeyValue, value));
        };
        let key = value[..eq].trim_end().to_lowercase();
        if key.is_empty() {
            let sep = char::from(value.as_bytes()[eq]);
            return Err(Syntax::NoKey(sep, shown(value, 60)));
        }
        let entry = Entry {
            key,
            value: value[eq + 1..].trim().to_string(),
            file: self.file,
            line,
            comment,
            default: false,
        };
        // The last of duplicate keys wins, in the place of the first.
        match self.keys.get(&entry.key) {
            Some(&i) => {
                section.entries[i] = entry;
                self.open = Some(i);
            }
            None => {
                self.keys.insert(entry.key.clone(), section.entries.len());
                self.open = Some(section.entries.len());
                section.entries.push(entry);
            }
        }
        Ok(())
    }
}
