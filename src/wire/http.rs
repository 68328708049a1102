//! HTTP/1.1 requests as the daemon's web server reads them (SPEC §13): a
//! pure, incremental parser of the small subset supervisorctl, Python's
//! xmlrpc.client and curl send, and the few answers the server writes.
//!
//! Hand-written rather than httparse: the subset is a request line, a
//! bounded list of headers and a Content-Length body (no chunked request
//! bodies, no obs-fold), about as much code as the glue a crate would need.
//! [`parse`] is given everything buffered so far and either finds a whole
//! request, asks for more, or names the error status; it never allocates
//! more than the limits allow and never panics on any input (a fuzz target
//! checks).

/// The request line and headers together, at most (431 past it).
pub const MAX_HEAD: usize = 8 * 1024;
/// Headers in one request, at most (431 past it).
pub const MAX_HEADERS: usize = 100;
/// A request body, at most (413 past it).
pub const MAX_BODY: usize = 1 << 20;

/// HTTP/1.0 or HTTP/1.1; others are refused (505).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V10,
    V11,
}

/// One whole request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// As sent: `/RPC2`, `/logtail/foo?x`.
    pub target: String,
    pub version: Version,
    /// Names lowercased, values trimmed, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection stays open after the answer: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        let has = |token: &str| {
            self.headers
                .iter()
                .filter(|(n, _)| n == "connection")
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        match self.version {
            Version::V11 => !has("close"),
            Version::V10 => has("keep-alive"),
        }
    }

    /// The path of the target, without its query.
    pub fn path(&self) -> &str {
        self.target.split(['?', '#']).next().unwrap_or("")
    }
}

/// What the buffered bytes hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not a whole request yet, and nothing wrong so far.
    Partial,
    /// A request, and how many bytes of the buffer it took.
    Done(Request, usize),
    /// The status to answer before closing the connection, and why.
    Error(u16, &'static str),
}

/// Reads one request from the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed {
    // Blank lines before a request are tolerated (RFC 9112 §2.2).
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    let Some(head_len) = head_end(rest) else {
        if rest.len() > MAX_HEAD {
            return Parsed::Error(431, "the request head is larger than 8 KiB");
        }
        // The request line alone tells a bad request early.
        if let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            if let Err(e) = request_line(&rest[..nl]) {
                return e;
            }
        }
        return Parsed::Partial;
    };
    if head_len > MAX_HEAD {
        return Parsed::Error(431, "the request head is larger than 8 KiB");
    }
    let head = &rest[..head_len];
    let mut lines = head.split(|&b| b == b'\n').map(trim_cr);
    let (method, target, version) = match request_line(lines.next().unwrap_or(b"")) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if headers.len() == MAX_HEADERS {
            return Parsed::Error(431, "more than 100 headers");
        }
        match header(line) {
            Some(h) => headers.push(h),
            None => return Parsed::Error(400, "a malformed header line"),
        }
    }
    let mut req = Request {
        method,
        target,
        version,
        headers,
        body: Vec::new(),
    };
    if let Some(te) = req.header("transfer-encoding") {
        return if te.to_ascii_lowercase().contains("chunked") {
            Parsed::Error(
                411,
                "chunked request bodies are not accepted; send Content-Length",
            )
        } else {
            Parsed::Error(501, "this Transfer-Encoding is not supported")
        };
    }
    let mut length = None;
    for (_, v) in req.headers.iter().filter(|(n, _)| n == "content-length") {
        let n = match v.parse::<u64>() {
            Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Parsed::Error(400, "a bad Content-Length"),
        };
        if length.is_some_and(|l| l != n) {
            return Parsed::Error(400, "two different Content-Lengths");
        }
        length = Some(n);
    }
    let length = length.unwrap_or(0);
    if length > MAX_BODY as u64 {
        return Parsed::Error(413, "the request body is larger than 1 MiB");
    }
    let body_start = start + head_len;
    let end = body_start + length as usize;
    if buf.len() < end {
        return Parsed::Partial;
    }
    req.body = buf[body_start..end].to_vec();
    Parsed::Done(req, end)
}

/// The whole length of the request at the start of `buf` (blank lines
/// before it, its head and its body), once the head is there and its
/// Content-Length reads; `parse` judges the rest.
pub fn request_len(buf: &[u8]) -> Option<usize> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let head = head_end(&buf[start..])?;
    let body = match head_header(buf, "content-length")? {
        Some(v) => v.parse::<usize>().ok()?,
        None => 0,
    };
    Some(start + head + body.min(MAX_BODY + 1))
}

/// Whether `buf` holds the whole head of a request that asks for
/// `100 Continue` before it sends its body (curl does, for bodies over
/// 1 KiB).
pub fn expects_continue(buf: &[u8]) -> bool {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let Some(n) = head_end(&buf[start..]) else {
        return false;
    };
    (buf[start..start + n].split(|&b| b == b'\n'))
        .skip(1)
        .filter_map(|l| header(trim_cr(l)))
        .any(|(name, v)| name == "expect" && v.eq_ignore_ascii_case("100-continue"))
}

/// Header `name` (lowercase) of the request at the start of `buf`, once
/// its head is all there: None before, Some(None) when it has none.
pub fn head_header(buf: &[u8], name: &str) -> Option<Option<String>> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let n = head_end(&buf[start..])?;
    let found = (buf[start..start + n].split(|&b| b == b'\n'))
        .skip(1)
        .filter_map(|l| header(trim_cr(l)))
        .find(|(n, _)| n == name);
    Some(found.map(|(_, v)| v))
}

/// The length of the head with its blank line, once it is all there.
fn head_end(buf: &[u8]) -> Option<usize> {
    // Bare LF line ends are tolerated (RFC 9112 §2.2).
    let limit = buf.len().min(MAX_HEAD + 4);
    let mut i = 0;
    while i < limit {
        if buf[i] == b'\n' {
            match buf.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `METHOD TARGET HTTP/1.x`.
fn request_line(line: &[u8]) -> Result<(String, String, Version), Parsed> {
    const BAD: Parsed = Parsed::Error(400, "a malformed request line");
    let line = std::str::from_utf8(trim_cr(line)).map_err(|_| BAD)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BAD);
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(BAD);
    }
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BAD);
    }
    let version = match version {
        "HTTP/1.1" => Version::V11,
        "HTTP/1.0" => Version::V10,
        v if v.starts_with("HTTP/") => {
            return Err(Parsed::Error(505, "only HTTP/1.0 and HTTP/1.1 are served"))
        }
        _ => return Err(BAD),
    };
    Ok((method.to_string(), target.to_string(), version))
}

/// `name: value`, the name lowercased; None when malformed.
fn header(line: &[u8]) -> Option<(String, String)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    if value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
        return None;
    }
    let name = String::from_utf8(name.to_ascii_lowercase()).ok()?;
    let value = String::from_utf8_lossy(value).trim().to_string();
    Some((name, value))
}

/// A token character (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The reason phrase of the statuses the server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// A whole answer with a Content-Length body; `close` adds
/// `Connection: close`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8], close: bool) -> Vec<u8> {
    let mut out = response_head(status, headers, body.len(), close);
    out.extend_from_slice(body);
    out
}

/// The head of [`response`], for a body sent after it as it is (a big
/// answer is not copied behind its head).
pub fn response_head(status: u16, headers: &[(&str, &str)], len: usize, close: bool) -> Vec<u8> {
    let mut out = head(status, headers);
    out.extend_from_slice(format!("Content-Length: {len}\r\n").as_bytes());
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The status line and `headers`, without the blank line that ends them.
pub fn head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\nServer: sv\r\n", reason(status)).into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out
}

/// An error answer with a short text body; the connection closes after it.
pub fn error(status: u16, why: &str) -> Vec<u8> {
    let body = format!("{status} {}: {why}\n", reason(status));
    let mut extra: Vec<(&str, &str)> = vec![("Content-Type", "text/plain; charset=utf-8")];
    if status == 401 {
        extra.push(("WWW-Authenticate", "Basic realm=\"default\""));
    }
    response(status, &extra, body.as_bytes(), true)
}

/// A 405 with the `Allow` header RFC 9110 asks of it (`GET, HEAD` or
/// `POST`).
pub fn not_allowed(allow: &str, why: &str, close: bool) -> Vec<u8> {
    let body = format!("405 Method Not Allowed: {why}\n");
    let headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Allow", allow),
    ];
    response(405, &headers, body.as_bytes(), close)
}

/// Whether a `Host` header names the server itself rather than a name
/// another site may point at it (DNS rebinding): an IP literal (a page
/// loaded by address has that address as its origin), `localhost`, or
/// the machine's own name `hostname`. The port is not compared: a
/// browser sends the one it reached anyway.
pub fn own_host(host: &str, hostname: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, _)) => return ip.parse::<std::net::Ipv6Addr>().is_ok(),
            None => return false,
        },
        None => host.split(':').next().unwrap_or(""),
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || (!hostname.is_empty() && name.eq_ignore_ascii_case(hostname))
}

/// `data` as one chunk of a chunked body (an empty `data` would end it, so
/// it gives nothing).
pub fn chunk(data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        return Vec::new();
    }
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// `%XX` escapes decoded; None for a broken escape.
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Standard base64 (with padding) decoded, for `Authorization: Basic`.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
