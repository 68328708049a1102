//! `%(name)s` expansions, as Python's `value % names` does them for
//! supervisord: `%(name)s`, `%(name)02d`..., `%%`; the names a value may
//! use depend on where it is (`Ctx`).

use super::build::Loader;
use super::lex::{shown, Entry};
use super::ConfigError;
use std::fmt;
use std::path::Path;

/// Width or precision in an expansion such as `%(process_num)02d`, so no
/// input can make the parser allocate without bound.
const MAX_WIDTH: usize = 100;

/// The names `%(...)s` may use in one value.
pub(super) struct Ctx<'a> {
    here: String,
    /// program_name and group_name.
    pub(super) program: Option<(&'a str, &'a str)>,
    /// process_num and numprocs.
    pub(super) num: Option<(u64, u64)>,
    /// The program's own environment= entries, which are ENV_ names too.
    pub(super) env: Vec<(String, String)>,
}

impl Ctx<'_> {
    /// The names of a section in `file`: `here`, `host_node_name`, `ENV_`.
    pub(super) fn new(file: &Path) -> Self {
        Ctx {
            here: dir_of(file).to_string_lossy().into_owned(),
            program: None,
            num: None,
            env: Vec::new(),
        }
    }

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

/// The directory holding `file`, `.` for a bare file name.
fn dir_of(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

enum Value {
    Text(String),
    Num(u64),
}

/// A failed expansion: the `%(...)` text and why.
pub(super) struct Unexpanded {
    pub(super) token: String,
    pub(super) why: Why,
}

/// Why a `%(...)` could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Why {
    /// A `%` followed by neither `%` nor `(`.
    LonePercent,
    Unclosed,
    /// A width or precision above [`MAX_WIDTH`].
    TooWide,
    /// The text ends after `%(name)`.
    NoType,
    /// A conversion other than `s` or `d` (`i`, `u`).
    BadType,
    /// `d` of a name whose value is text.
    TextAsNumber,
    /// No such name here; the names that are, listed.
    UnknownName(String),
    /// `%(ENV_X)s` and no X.
    Unset(String),
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::LonePercent => f.write_str(
                "a lone % starts an expansion like %(program_name)s; write %% for a literal %",
            ),
            Why::Unclosed => f.write_str("the expansion has no closing )"),
            Why::TooWide => write!(f, "widths above {MAX_WIDTH} are not supported"),
            Why::NoType => {
                f.write_str("the expansion has no type; end it with s or d, as in %(program_name)s")
            }
            Why::BadType => {
                f.write_str("unsupported conversion; use s or d, as in %(process_num)02d")
            }
            Why::TextAsNumber => f.write_str("d needs a number, but this name is text; use s"),
            Why::UnknownName(usable) => write!(f, "unknown name; usable here: {usable}"),
            Why::Unset(var) => write!(f, "environment variable {var} is not set"),
        }
    }
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
fn conversion(s: &str) -> Result<(Conversion, usize), Why> {
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
    let number = |i: &mut usize| -> Result<usize, Why> {
        let mut n = 0usize;
        while let Some(d) = b.get(*i).filter(|d| d.is_ascii_digit()) {
            n = n * 10 + usize::from(d - b'0');
            if n > MAX_WIDTH {
                return Err(Why::TooWide);
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
        Some(_) => Err(Why::BadType),
        None => Err(Why::NoType),
    }
}

impl Conversion {
    fn apply(&self, v: Value) -> Result<String, Why> {
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
            (true, Value::Text(_)) => return Err(Why::TextAsNumber),
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

impl Loader<'_> {
    /// The host name, asked of the host once.
    fn hostname(&mut self) -> String {
        if self.hostname.is_none() {
            self.hostname = Some(self.host.hostname());
        }
        self.hostname.clone().unwrap_or_default()
    }

    fn lookup(&mut self, name: &str, ctx: &Ctx) -> Result<Value, Why> {
        if let Some(var) = name.strip_prefix("ENV_") {
            if let Some((_, v)) = ctx.env.iter().rev().find(|(k, _)| k == var) {
                return Ok(Value::Text(v.clone()));
            }
            return self
                .host
                .var(var)
                .map(Value::Text)
                .ok_or_else(|| Why::Unset(var.to_string()));
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
        value.ok_or_else(|| Why::UnknownName(ctx.usable()))
    }

    /// Python's `value % names`: `%(name)s`, `%(name)02d`..., `%%`.
    pub(super) fn expand(&mut self, v: &str, ctx: &Ctx) -> Result<String, Unexpanded> {
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
                    why: Why::LonePercent,
                });
            };
            let Some(close) = inner.find(')') else {
                return Err(Unexpanded {
                    token: shown(&rest[i..], 20),
                    why: Why::Unclosed,
                });
            };
            let (name, after) = (&inner[..close], &inner[close + 1..]);
            let used = self.one(name, after, ctx, &mut out)?;
            rest = &after[used..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `%(name)` and the conversion that starts `after`, onto `out`;
    /// how much of `after` it took.
    fn one(
        &mut self,
        name: &str,
        after: &str,
        ctx: &Ctx,
        out: &mut String,
    ) -> Result<usize, Unexpanded> {
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
        Ok(used)
    }

    /// The error of a failed expansion of `e` in `place` (a section).
    pub(super) fn unexpanded(&self, e: &Entry, place: &str, x: Unexpanded) -> ConfigError {
        self.err(
            e.file,
            e.line,
            format!("{} in {} of {place}: {}", x.token, e.key, x.why),
        )
    }
}
