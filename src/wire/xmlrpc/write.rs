//! Writing XML-RPC documents, laid out as Python's `xmlrpc.client.dumps`
//! lays them out (one element per line), so that a diff against a real
//! supervisord's answer shows only what differs.

use super::Value;
use std::fmt::Write as _;

const HEADER: &str = "<?xml version='1.0'?>\n";

/// A `methodCall` document.
pub fn call(method: &str, params: &[Value]) -> Vec<u8> {
    let mut out = String::from(HEADER);
    out.push_str("<methodCall>\n<methodName>");
    escape(&mut out, method);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n");
        value(&mut out, p);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out.into_bytes()
}

/// A `methodResponse` document carrying one value.
pub fn response(v: &Value) -> Vec<u8> {
    let mut out = String::from(HEADER);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
    value(&mut out, v);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out.into_bytes()
}

/// A `methodResponse` document carrying a fault.
pub fn fault(code: i64, message: &str) -> Vec<u8> {
    let mut out = String::from(HEADER);
    out.push_str("<methodResponse>\n<fault>\n");
    let v = Value::object([
        ("faultCode", Value::Int(code)),
        ("faultString", Value::from(message)),
    ]);
    value(&mut out, &v);
    out.push_str("</fault>\n</methodResponse>\n");
    out.into_bytes()
}

fn value(out: &mut String, v: &Value) {
    out.push_str("<value>");
    match v {
        Value::Int(i) => {
            let _ = write!(out, "<int>{i}</int>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
        }
        Value::Double(d) => {
            let _ = write!(out, "<double>{d:?}</double>");
        }
        Value::Str(s) => {
            out.push_str("<string>");
            escape(out, s);
            out.push_str("</string>");
        }
        Value::DateTime(s) => {
            out.push_str("<dateTime.iso8601>");
            escape(out, s);
            out.push_str("</dateTime.iso8601>");
        }
        Value::Base64(s) => {
            out.push_str("<base64>\n");
            escape(out, s);
            out.push_str("\n</base64>");
        }
        Value::Nil => out.push_str("<nil/>"),
        Value::Array(items) => {
            out.push_str("<array><data>\n");
            for item in items {
                value(out, item);
            }
            out.push_str("</data></array>");
        }
        Value::Struct(members) => {
            out.push_str("<struct>\n");
            for (name, v) in members {
                out.push_str("<member>\n<name>");
                escape(out, name);
                out.push_str("</name>\n");
                value(out, v);
                out.push_str("</member>\n");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>\n");
}

/// Text as XML character data. A character XML 1.0 cannot carry at all
/// (most C0 controls; a log line may hold them) becomes U+FFFD, so a log
/// with a stray control byte still reaches the client; `\r` goes as a
/// character reference, which a parser does not normalise away. Runs with
/// nothing to escape are copied whole (most text is such a run).
fn escape(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.bytes().position(special) {
        out.push_str(&rest[..i]);
        // `special` bytes are ASCII or the lead byte of U+FFFE/U+FFFF's
        // neighbours: the char at i starts there.
        let c = rest[i..].chars().next().unwrap_or('\u{FFFD}');
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if !super::read::xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}

/// Bytes that may need escaping: markup, controls other than tab and
/// newline, and 0xEF, the first byte of U+FFFE and U+FFFF (and of other
/// characters, which are then copied as they are).
fn special(b: u8) -> bool {
    matches!(b, b'&' | b'<' | b'>' | 0xEF) || (b < 0x20 && b != b'\t' && b != b'\n')
}
