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
    response_in(Vec::new(), v)
}

/// [`response`], written into `buf` (emptied first): a buffer kept from
/// the last answer saves musl's malloc an mmap, page faults and a munmap
/// for every big answer (they were a third of getAllProcessInfo's time).
pub fn response_in(mut buf: Vec<u8>, v: &Value) -> Vec<u8> {
    buf.clear();
    // An empty buffer is valid UTF-8.
    let mut out = String::from_utf8(buf).unwrap_or_default();
    out.reserve(HEADER.len() + 80 + size(v));
    response_open(&mut out);
    value(&mut out, v);
    response_close(&mut out);
    out.into_bytes()
}

/// The start of a `methodResponse` document, before its one value: for an
/// answer whose value is written in place (see [`lit`]).
pub fn response_open(out: &mut String) {
    out.push_str(HEADER);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
}

/// The end of a document begun by [`response_open`].
pub fn response_close(out: &mut String) {
    out.push_str("</param>\n</params>\n</methodResponse>\n");
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

/// About how long `v` is written (escapes aside): the answer's buffer is
/// taken once instead of doubling its way up (a big answer was copied
/// through every size on the way).
fn size(v: &Value) -> usize {
    const TAGS: usize = 40;
    TAGS + match v {
        Value::Str(s) | Value::DateTime(s) | Value::Base64(s) | Value::Xml(s) => s.len(),
        Value::Array(items) => items.iter().map(size).sum(),
        Value::Struct(members) => members.iter().map(|(k, v)| k.len() + TAGS + size(v)).sum(),
        _ => 24,
    }
}

fn value(out: &mut String, v: &Value) {
    // Tags go in as few pieces as the layout allows: each piece is a copy
    // call, and in a big answer they were most of the time.
    match v {
        Value::Int(i) => {
            lit(out, b"<value><int>");
            int(out, *i);
            lit(out, b"</int></value>\n");
        }
        Value::Bool(true) => lit(out, b"<value><boolean>1</boolean></value>\n"),
        Value::Bool(false) => lit(out, b"<value><boolean>0</boolean></value>\n"),
        Value::Double(d) => {
            let _ = writeln!(out, "<value><double>{d:?}</double></value>");
        }
        Value::Str(s) => {
            lit(out, b"<value><string>");
            escape(out, s);
            lit(out, b"</string></value>\n");
        }
        Value::DateTime(s) => {
            lit(out, b"<value><dateTime.iso8601>");
            escape(out, s);
            lit(out, b"</dateTime.iso8601></value>\n");
        }
        Value::Base64(s) => {
            lit(out, b"<value><base64>\n");
            escape(out, s);
            lit(out, b"\n</base64></value>\n");
        }
        Value::Nil => lit(out, b"<value><nil/></value>\n"),
        Value::Xml(s) => out.push_str(s),
        Value::Array(items) => {
            lit(out, b"<value><array><data>\n");
            for item in items {
                value(out, item);
            }
            lit(out, b"</data></array></value>\n");
        }
        Value::Struct(members) => {
            lit(out, b"<value><struct>\n");
            for (name, v) in members {
                lit(out, b"<member>\n<name>");
                escape(out, name);
                lit(out, b"</name>\n");
                value(out, v);
                lit(out, b"</member>\n");
            }
            lit(out, b"</struct></value>\n");
        }
    }
}

/// Appends a short ASCII literal. Its length is a constant here, so the
/// copy is a few moves in place, not a call into libc's memcpy (musl's
/// costs tens of cycles to start, and an answer has thousands of tags).
#[inline(always)]
pub fn lit<const N: usize>(out: &mut String, s: &'static [u8; N]) {
    // Callers pass literals: the check folds away.
    if !s.is_ascii() {
        return out.push_str(&String::from_utf8_lossy(s));
    }
    // SAFETY: `s` is ASCII (checked above), so the String stays UTF-8.
    let v = unsafe { out.as_mut_vec() };
    v.reserve(N);
    let len = v.len();
    // SAFETY: `reserve` made room for N more bytes after `len`; the
    // source is a distinct static array of exactly N bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), v.as_mut_ptr().add(len), N);
        v.set_len(len + N);
    }
}

/// An integer in decimal, without the formatting machinery.
pub fn int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = i.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // Digits only: ASCII.
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or("0"));
}

/// Text as XML character data. A character XML 1.0 cannot carry at all
/// (most C0 controls; a log line may hold them) becomes U+FFFD, so a log
/// with a stray control byte still reaches the client; `\r` goes as a
/// character reference, which a parser does not normalise away. Runs with
/// nothing to escape are copied whole (most text is such a run).
pub fn escape(out: &mut String, s: &str) {
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
