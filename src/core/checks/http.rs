//! `http://HOST:PORT/PATH`: ready on a 2xx status line. The request is the
//! least HTTP/1.1 allows (`Host:`, `Connection: close`); of the answer only
//! the status line is read, at most [`MAX_STATUS_LINE`] bytes of it.

use super::Outcome;

/// The most of an answer read: a status line is far shorter.
pub const MAX_STATUS_LINE: usize = 512;

/// `GET PATH HTTP/1.1` with `Host:` and `Connection: close`.
pub fn request(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: sv\r\n\r\n")
        .into_bytes()
}

/// Reads the status line from what has arrived: None while it may still
/// be coming (`end`: nothing more will come), else a 2xx is Ok and any
/// other status, or anything that is not a status line, says what it was.
pub fn status(buf: &[u8], end: bool) -> Option<Outcome> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line = match line_end {
        Some(i) => &buf[..i],
        None if end || buf.len() >= MAX_STATUS_LINE => &buf[..buf.len().min(MAX_STATUS_LINE)],
        None => return None,
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    let mut words = text.splitn(3, ' ');
    let version = words.next().unwrap_or("");
    let code = words.next().unwrap_or("");
    let valid =
        version.starts_with("HTTP/") && code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        let shown: String = text.chars().take(40).collect();
        return Some(Err(format!("not an HTTP status line: {shown:?}")));
    }
    if code.starts_with('2') {
        Some(Ok(()))
    } else {
        let reason: String = words.next().unwrap_or("").chars().take(40).collect();
        Some(Err(format!("HTTP {code} {reason}").trim_end().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_within_bounds() {
        assert_eq!(status(b"HTTP/1.1 200 OK\r\n", false), Some(Ok(())));
        assert_eq!(
            status(b"HTTP/1.0 204 No Content\r\nX: y", false),
            Some(Ok(()))
        );
        assert_eq!(status(b"HTTP/1.1 299\n", false), Some(Ok(())));
        assert_eq!(
            status(b"HTTP/1.1 503 Service Unavailable\r\n", false),
            Some(Err("HTTP 503 Service Unavailable".into()))
        );
        assert_eq!(
            status(b"HTTP/1.1 404\r\n", false),
            Some(Err("HTTP 404".into()))
        );
        // Not yet a whole line: wait for more, unless nothing more comes.
        assert_eq!(status(b"HTTP/1.1 20", false), None);
        assert!(matches!(status(b"HTTP/1.1 20", true), Some(Err(_))));
        assert!(matches!(status(b"", true), Some(Err(_))));
        // Hostile or broken answers.
        for bad in [
            &b"SSH-2.0-OpenSSH\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/1.1 2x0 OK\r\n",
            b"HTTP/1.1  200\r\n",
            b"\xff\xfe\x00 200\r\n",
            b"200 OK\r\n",
        ] {
            assert!(matches!(status(bad, false), Some(Err(_))), "{bad:?}");
        }
        // A line that never ends is judged at the bound, not waited for.
        let long = vec![b'A'; MAX_STATUS_LINE];
        let got = status(&long, false).unwrap().unwrap_err();
        assert!(got.len() < 80, "{got}");
        let mut huge = b"HTTP/1.1 200 ".to_vec();
        huge.extend(vec![b'x'; 10 * MAX_STATUS_LINE]);
        assert_eq!(status(&huge, false), Some(Ok(())));
    }

    #[test]
    fn the_request_is_minimal() {
        let r = String::from_utf8(request("127.0.0.1:80", "/h")).unwrap();
        assert!(r.starts_with("GET /h HTTP/1.1\r\nHost: 127.0.0.1:80\r\n"));
        assert!(r.contains("Connection: close\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
    }
}
