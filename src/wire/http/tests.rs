use super::*;

fn done(buf: &[u8]) -> (Request, usize) {
    match parse(buf) {
        Parsed::Done(r, n) => (r, n),
        other => panic!("{other:?}"),
    }
}

fn status(buf: &[u8]) -> u16 {
    match parse(buf) {
        Parsed::Error(s, _) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_post_with_a_body() {
    let buf = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET";
    let (r, n) = done(buf);
    assert_eq!(n, buf.len() - 3);
    assert_eq!(r.method, "POST");
    assert_eq!(r.path(), "/RPC2");
    assert_eq!(r.version, Version::V11);
    assert_eq!(r.header("host"), Some("x"));
    assert_eq!(r.body, b"hello");
    assert!(r.keep_alive());
}

#[test]
fn every_prefix_is_partial() {
    let buf = b"\r\nPOST /RPC2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    for i in 0..buf.len() {
        assert_eq!(parse(&buf[..i]), Parsed::Partial, "at {i}");
    }
    assert_eq!(done(buf).1, buf.len());
}

#[test]
fn keep_alive_by_version_and_connection() {
    let ka = |s: &[u8]| done(s).0.keep_alive();
    assert!(!ka(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
    assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    assert!(ka(b"GET / HTTP/1.1\n\n"));
}

#[test]
fn errors_have_their_status() {
    assert_eq!(status(b"GARBAGE\r\n"), 400);
    assert_eq!(status(b"GET /\r\n\r\n"), 400);
    assert_eq!(status(b"GET / HTTP/2.0\r\n\r\n"), 505);
    assert_eq!(status(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
    assert_eq!(status(b"GET / HTTP/1.1\r\n folded: x\r\n\r\n"), 400);
    assert_eq!(status(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400);
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        400
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"),
        413
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        411
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
        501
    );
}

#[test]
fn head_limits() {
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.resize(MAX_HEAD + 10, b'a');
    assert_eq!(status(&big), 431);
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("h{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(status(&many), 431);
}

#[test]
fn responses() {
    let r = response(200, &[("Content-Type", "text/xml")], b"<x/>", false);
    assert_eq!(
        r,
        b"HTTP/1.1 200 OK\r\nServer: sv\r\nContent-Type: text/xml\r\nContent-Length: 4\r\n\r\n<x/>"
    );
    let e = String::from_utf8(error(401, "no")).unwrap();
    assert!(e.contains("WWW-Authenticate: Basic realm=\"default\"\r\n"));
    assert!(e.contains("Connection: close\r\n"));
    assert_eq!(chunk(b"abc"), b"3\r\nabc\r\n");
    assert_eq!(chunk(b""), b"");
}

#[test]
fn expect_continue_once_the_head_is_whole() {
    let head = b"POST /RPC2 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
    assert!(expects_continue(head));
    assert!(!expects_continue(&head[..head.len() - 2]));
    assert!(!expects_continue(
        b"POST /RPC2 HTTP/1.1\r\nContent-Length: 3\r\n\r\n"
    ));
}

#[test]
fn decoding() {
    assert_eq!(percent_decode("g%3Aa%2f").unwrap(), b"g:a/");
    assert_eq!(percent_decode("%4"), None);
    assert_eq!(percent_decode("%zz"), None);
    assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
    assert_eq!(base64_decode("YQ==").unwrap(), b"a");
    assert_eq!(base64_decode("a b"), None);
}

#[test]
fn a_header_is_found_once_the_head_is_whole() {
    let head = b"POST /RPC2 HTTP/1.1\r\nAuthorization: Basic x\r\nContent-Length: 9\r\n";
    assert_eq!(head_header(head, "authorization"), None);
    let mut whole = head.to_vec();
    whole.extend_from_slice(b"\r\n<?x");
    assert_eq!(
        head_header(&whole, "authorization"),
        Some(Some("Basic x".into()))
    );
    assert_eq!(head_header(&whole, "expect"), Some(None));
}

#[test]
fn a_request_tells_its_length_once_its_head_is_there() {
    let head = b"POST /RPC2 HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
    assert_eq!(request_len(&head[..20]), None);
    assert_eq!(request_len(head), Some(head.len() + 1000));
    let mut blank = b"\r\n".to_vec();
    blank.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(request_len(&blank), Some(blank.len()));
    let huge = b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n";
    assert_eq!(request_len(huge), Some(huge.len() + MAX_BODY + 1));
    let bad = b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n";
    assert_eq!(request_len(bad), None);
}

#[test]
fn only_addresses_localhost_and_the_hosts_name_are_its_own() {
    for h in [
        "127.0.0.1:9001",
        "127.0.0.1",
        "10.1.2.3:80",
        "[::1]:9001",
        "[::1]",
        "localhost:9001",
        "LocalHost",
        "localhost.:9001",
        "box:9001",
        "BOX",
    ] {
        assert!(own_host(h, "box"), "{h}");
    }
    for h in [
        "evil.example:9001",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "[::1",
        "[evil]:9001",
        "",
        "box.example",
    ] {
        assert!(!own_host(h, "box"), "{h}");
    }
    assert!(!own_host("x", ""));
}

#[test]
fn a_405_names_the_methods_allowed() {
    let a = String::from_utf8(not_allowed("GET, HEAD", "it takes GET", true)).unwrap();
    assert!(a.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{a}");
    assert!(a.contains("\r\nAllow: GET, HEAD\r\n"), "{a}");
    assert!(a.contains("Connection: close"), "{a}");
}
