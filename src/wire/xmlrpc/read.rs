//! Reading XML-RPC documents: a pull reader over the text and a recursive
//! descent over XML-RPC's elements, nesting bounded by [`MAX_DEPTH`]. A DTD
//! is refused (no entity can expand), so the work is linear in the input.

use super::{Call, Fault, Value};
use std::fmt;

/// Deepest nesting of arrays and structs read; deeper is refused rather
/// than recursed into (a hostile body cannot exhaust the stack).
pub const MAX_DEPTH: usize = 32;

/// Why a document is not XML-RPC, and at which byte.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub at: usize,
    pub what: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "bad XML-RPC at byte {}: {}", self.at, self.what)
    }
}

impl std::error::Error for ParseError {}

/// A `methodCall` document.
pub fn parse_call(doc: &[u8]) -> Result<Call, ParseError> {
    let mut r = Reader::new(doc)?;
    r.open("methodCall")?;
    r.open("methodName")?;
    let method = r.text()?;
    r.close("methodName")?;
    let mut params = Vec::new();
    match r.tag()? {
        Tag::Start("params", empty) => {
            if !empty {
                while let Tag::Start("param", _) = r.peek_tag()? {
                    r.open("param")?;
                    params.push(r.value(0)?);
                    r.close("param")?;
                }
                r.close("params")?;
            }
            r.close("methodCall")?;
        }
        Tag::End("methodCall") => {}
        t => return Err(r.unexpected(t, "<params> or </methodCall>")),
    }
    r.end()?;
    Ok(Call {
        method: method.trim().to_string(),
        params,
    })
}

/// A `methodResponse` document: its value, or its fault.
pub fn parse_response(doc: &[u8]) -> Result<Result<Value, Fault>, ParseError> {
    let mut r = Reader::new(doc)?;
    r.open("methodResponse")?;
    let answer = match r.tag()? {
        Tag::Start("params", false) => {
            r.open("param")?;
            let v = r.value(0)?;
            r.close("param")?;
            r.close("params")?;
            Ok(v)
        }
        Tag::Start("fault", false) => {
            let at = r.pos;
            let v = r.value(0)?;
            r.close("fault")?;
            let code = v.get("faultCode").and_then(Value::as_int);
            let message = v.get("faultString").and_then(Value::as_str);
            match (code, message) {
                (Some(code), Some(message)) => Err(Fault {
                    code,
                    message: message.to_string(),
                }),
                _ => return Err(r.error_at(at, "a fault without faultCode and faultString")),
            }
        }
        t => return Err(r.unexpected(t, "<params> or <fault>")),
    };
    r.close("methodResponse")?;
    r.end()?;
    Ok(answer)
}

/// A markup token.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag<'a> {
    /// A start tag, and whether it closes itself (`<nil/>`).
    Start(&'a str, bool),
    End(&'a str),
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(doc: &'a [u8]) -> Result<Self, ParseError> {
        match std::str::from_utf8(doc) {
            Ok(s) => match s.find(|c| !xml_char(c)) {
                // As expat: a character XML cannot carry is an error, not
                // data that would come back changed.
                Some(at) => Err(ParseError {
                    at,
                    what: format!(
                        "character U+{:04X} is not allowed in XML",
                        s[at..].chars().next().map_or(0, u32::from)
                    ),
                }),
                None => Ok(Reader { s, pos: 0 }),
            },
            Err(e) => Err(ParseError {
                at: e.valid_up_to(),
                what: "not UTF-8".into(),
            }),
        }
    }

    fn error_at(&self, at: usize, what: &str) -> ParseError {
        ParseError {
            at,
            what: what.to_string(),
        }
    }

    fn error(&self, what: &str) -> ParseError {
        self.error_at(self.pos, what)
    }

    fn unexpected(&self, t: Tag, wanted: &str) -> ParseError {
        let got = match t {
            Tag::Start(n, _) => format!("<{n}>"),
            Tag::End(n) => format!("</{n}>"),
        };
        self.error(&format!("expected {wanted}, found {got}"))
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    /// Skips whitespace, comments and processing instructions.
    fn skip_misc(&mut self) -> Result<(), ParseError> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("<?") {
                self.skip_past("?>")?;
            } else if trimmed.starts_with("<!--") {
                self.skip_past("-->")?;
            } else {
                return Ok(());
            }
        }
    }

    fn skip_past(&mut self, end: &str) -> Result<(), ParseError> {
        match self.rest().find(end) {
            Some(i) => {
                self.pos += i + end.len();
                Ok(())
            }
            None => Err(self.error(&format!("no {end} before the end"))),
        }
    }

    /// The next tag after whitespace and comments; text there is an error.
    fn tag(&mut self) -> Result<Tag<'a>, ParseError> {
        self.skip_misc()?;
        let rest = self.rest();
        if !rest.starts_with('<') {
            return Err(if rest.is_empty() {
                self.error("unexpected end of document")
            } else {
                self.error("text where an element was expected")
            });
        }
        if rest.starts_with("<!") {
            return Err(self.error("a DTD or CDATA where an element was expected"));
        }
        let Some(close) = rest.find('>') else {
            return Err(self.error("a tag without '>'"));
        };
        let inner = &rest[1..close];
        self.pos += close + 1;
        if let Some(name) = inner.strip_prefix('/') {
            return Ok(Tag::End(name.trim_end()));
        }
        let (inner, empty) = match inner.strip_suffix('/') {
            Some(i) => (i, true),
            None => (inner, false),
        };
        // Attributes (XML-RPC has none) are skipped; a '>' inside a quoted
        // attribute value is not supported.
        let name = inner.split([' ', '\t', '\r', '\n']).next().unwrap_or("");
        if name.is_empty() {
            return Err(self.error_at(self.pos - close - 1, "a tag without a name"));
        }
        Ok(Tag::Start(name, empty))
    }

    fn peek_tag(&mut self) -> Result<Tag<'a>, ParseError> {
        let at = self.pos;
        let t = self.tag();
        self.pos = at;
        t
    }

    /// `<name>`, not self-closed.
    fn open(&mut self, name: &str) -> Result<(), ParseError> {
        match self.tag()? {
            Tag::Start(n, false) if n == name => Ok(()),
            t => Err(self.unexpected(t, &format!("<{name}>"))),
        }
    }

    fn close(&mut self, name: &str) -> Result<(), ParseError> {
        match self.tag()? {
            Tag::End(n) if n == name => Ok(()),
            t => Err(self.unexpected(t, &format!("</{name}>"))),
        }
    }

    /// Nothing but whitespace and comments is left.
    fn end(&mut self) -> Result<(), ParseError> {
        self.skip_misc()?;
        if self.rest().is_empty() {
            Ok(())
        } else {
            Err(self.error("more after the document's end"))
        }
    }

    /// Character data up to the next tag: entities and character
    /// references decoded, CDATA taken as is, comments skipped.
    fn text(&mut self) -> Result<String, ParseError> {
        let mut out = String::new();
        loop {
            let rest = self.rest();
            let stop = rest.find(['<', '&']).unwrap_or(rest.len());
            out.push_str(&rest[..stop]);
            self.pos += stop;
            let rest = self.rest();
            if rest.starts_with('&') {
                let window = &rest.as_bytes()[..rest.len().min(12)];
                let Some(semi) = window.iter().position(|&b| b == b';') else {
                    return Err(self.error("an '&' that starts no reference"));
                };
                let c = entity(&rest[1..semi]).ok_or_else(|| {
                    self.error(&format!("unknown reference &{};", &rest[1..semi]))
                })?;
                out.push(c);
                self.pos += semi + 1;
            } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
                let Some(end) = cdata.find("]]>") else {
                    return Err(self.error("CDATA without its end"));
                };
                out.push_str(&cdata[..end]);
                self.pos += "<![CDATA[".len() + end + 3;
            } else if rest.starts_with("<!--") {
                self.skip_past("-->")?;
            } else if rest.is_empty() {
                return Err(self.error("unexpected end of document"));
            } else {
                return Ok(out);
            }
        }
    }

    /// `<value>...</value>` (or `<value/>`, an empty string).
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("values nested deeper than {MAX_DEPTH}")));
        }
        match self.tag()? {
            Tag::Start("value", true) => return Ok(Value::Str(String::new())),
            Tag::Start("value", false) => {}
            t => return Err(self.unexpected(t, "<value>")),
        }
        let text = self.text()?;
        let v = match self.tag()? {
            // No type element: a string.
            Tag::End("value") => return Ok(Value::Str(text)),
            Tag::Start(ty, empty) => {
                if !text.trim().is_empty() {
                    return Err(self.error("text beside a typed value"));
                }
                self.typed(ty, empty, depth)?
            }
            t => return Err(self.unexpected(t, "a type or </value>")),
        };
        self.close("value")?;
        Ok(v)
    }

    /// The inside of a type element whose start tag was just read.
    fn typed(&mut self, ty: &str, empty: bool, depth: usize) -> Result<Value, ParseError> {
        let at = self.pos;
        match ty {
            "nil" | "ex:nil" => {
                if !empty {
                    self.close(ty)?;
                }
                Ok(Value::Nil)
            }
            "array" if empty => Ok(Value::Array(Vec::new())),
            "array" => {
                let mut items = Vec::new();
                match self.tag()? {
                    Tag::Start("data", true) => {}
                    Tag::Start("data", false) => {
                        while let Tag::Start("value", _) = self.peek_tag()? {
                            items.push(self.value(depth + 1)?);
                        }
                        self.close("data")?;
                    }
                    t => return Err(self.unexpected(t, "<data>")),
                }
                self.close("array")?;
                Ok(Value::Array(items))
            }
            "struct" if empty => Ok(Value::Struct(Vec::new())),
            "struct" => {
                let mut members = Vec::new();
                while let Tag::Start("member", _) = self.peek_tag()? {
                    self.open("member")?;
                    self.open("name")?;
                    let name = self.text()?;
                    self.close("name")?;
                    let v = self.value(depth + 1)?;
                    self.close("member")?;
                    members.push((name.into(), v));
                }
                self.close("struct")?;
                Ok(Value::Struct(members))
            }
            _ => {
                let text = if empty {
                    String::new()
                } else {
                    let t = self.text()?;
                    self.close(ty)?;
                    t
                };
                scalar(ty, text).ok_or_else(|| self.error_at(at, &format!("a bad <{ty}>")))
            }
        }
    }
}

/// A scalar of type `ty` from its text; None when the text does not fit
/// the type (or the type is unknown).
fn scalar(ty: &str, text: String) -> Option<Value> {
    let t = text.trim();
    Some(match ty {
        "int" | "i4" | "i8" => Value::Int(t.parse().ok()?),
        "boolean" => Value::Bool(match t {
            "1" | "true" => true,
            "0" | "false" => false,
            _ => return None,
        }),
        "double" => Value::Double(t.parse().ok()?),
        "string" => Value::Str(text),
        "dateTime.iso8601" => Value::DateTime(t.to_string()),
        "base64" => Value::Base64(t.to_string()),
        _ => return None,
    })
}

/// The character a reference (between `&` and `;`) stands for.
fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let n = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(n).filter(|&c| xml_char(c))
        }
    }
}

/// Whether XML 1.0 allows the character at all.
pub fn xml_char(c: char) -> bool {
    !matches!(c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f' | '\u{FFFE}' | '\u{FFFF}')
}
