//! SPEC §13 ("never a stalled daemon"): one client cannot take the HTTP
//! server from the others. A long multicall is made in slices of loop
//! time, so a call from another client is answered in between; a TCP
//! client that leaves while its call waits is dropped at once, with its
//! waiter; request bodies arriving at once are bounded in total (16 MiB),
//! past which a request gets a 503 (and the room comes back as requests
//! are taken).

mod common;

use common::http::*;
use common::*;
use std::io::{Read, Write};
use std::time::Instant;

/// A `methodCall` of `method` with `params` (`<value>`s).
fn call_xml(method: &str, params: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName>\
         <params>{params}</params></methodCall>"
    )
}

/// `POST /RPC2` of `xml`, as bytes.
fn post_bytes(xml: &str) -> Vec<u8> {
    format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\n\r\n{xml}",
        xml.len()
    )
    .into_bytes()
}

#[test]
fn a_long_multicall_lets_another_client_in_between_its_calls() {
    let programs: String = (0..20)
        .map(|i| format!("[program:p{i}]\ncommand=/bin/sleep 600\nautostart=false\n"))
        .collect();
    let s = serve("", "", &programs, &[]);
    // 1000 reloadConfig calls: each reads the config again (a millisecond
    // or more each), far more than one slice of loop time in all.
    let one = "<value><struct><member><name>methodName</name><value>\
               <string>supervisor.reloadConfig</string></value></member></struct></value>";
    let xml = call_xml(
        "system.multicall",
        &format!(
            "<param><value><array><data>{}</data></array></value></param>",
            one.repeat(1000)
        ),
    );
    let mut a = s.unix();
    a.write_all(&post_bytes(&xml)).unwrap();
    // A's answer is read as it comes, and when.
    let reader = std::thread::spawn(move || {
        let answer = read_answer(&mut a);
        (answer, Instant::now())
    });
    let mut b = s.unix();
    b.write_all(&post_bytes(&call_xml("supervisor.getState", "")))
        .unwrap();
    let (status, _, body) = read_answer(&mut b);
    let b_done = Instant::now();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("RUNNING"));
    let ((status, _, body), a_done) = reader.join().unwrap();
    assert_eq!(status, 200);
    let body = String::from_utf8_lossy(&body);
    assert!(!is_fault(body.as_bytes()), "{body}");
    // Every call was made, and none is a fault: 1000 [[added, changed,
    // removed]], each list empty.
    let empty = "<value><array><data>\n</data></array></value>";
    assert_eq!(body.matches(empty).count(), 3000);
    assert!(!body.contains("faultCode"), "{body}");
    assert!(
        b_done < a_done,
        "getState waited for the whole multicall of another client"
    );
}

#[test]
fn a_multicall_whose_client_left_makes_no_more_calls() {
    let programs: String = (0..20)
        .map(|i| format!("[program:p{i}]\ncommand=/bin/sleep 600\nautostart=false\n"))
        .collect();
    let s = serve("", "", &programs, &[]);
    let one = "<value><struct><member><name>methodName</name><value>\
               <string>supervisor.reloadConfig</string></value></member></struct></value>";
    let xml = call_xml(
        "system.multicall",
        &format!(
            "<param><value><array><data>{}</data></array></value></param>",
            one.repeat(1000)
        ),
    );
    let mut t = s.tcp();
    t.write_all(&post_bytes(&xml)).unwrap();
    let err = daemon_err(&s.sv);
    let reloads = || {
        (lines_of(&err).iter())
            .filter(|l| l.contains("reloadConfig: added"))
            .count()
    };
    assert!(wait_until(10, || reloads() > 0));
    drop(t);
    let gone = "went away before the answer to system.multicall";
    let has_gone = || lines_of(&err).iter().any(|l| l.contains(gone));
    assert!(wait_until(20, has_gone), "{:?}", lines_of(&err));
    let made = reloads();
    assert!(made < 1000, "all {made} calls were made");
    // A round trip later (a pass or more): not one call more.
    let mut u = s.unix();
    u.write_all(&post_bytes(&call_xml("supervisor.getState", "")))
        .unwrap();
    assert_eq!(read_answer(&mut u).0, 200);
    assert_eq!(reloads(), made);
}

#[test]
fn a_tcp_client_that_leaves_while_its_call_waits_is_dropped_at_once() {
    let s = serve(
        "",
        "",
        "[program:slow]\ncommand=/bin/sleep 600\nautostart=false\nstartsecs=60\n",
        &[],
    );
    let mut t = s.tcp();
    let xml = call_xml(
        "supervisor.startProcess",
        "<param><value><string>slow</string></value></param>",
    );
    t.write_all(&post_bytes(&xml)).unwrap();
    let err = daemon_err(&s.sv);
    let has = |what: &str| lines_of(&err).iter().any(|l| l.contains(what));
    assert!(wait_until(10, || has("supervisor.startProcess(\"slow\")")));
    drop(t);
    // The call would answer in 60 s (startsecs): the client is seen gone
    // long before.
    let gone = "went away before the answer to supervisor.startProcess";
    assert!(wait_until(20, || has(gone)), "{:?}", lines_of(&err));
    // The daemon serves on, and the start goes on without a waiter.
    let mut u = s.unix();
    u.write_all(&post_bytes(&call_xml(
        "supervisor.getProcessInfo",
        "<param><value><string>slow</string></value></param>",
    )))
    .unwrap();
    let (status, _, body) = read_answer(&mut u);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("STARTING"));
}

#[test]
fn request_bodies_arriving_at_once_are_bounded_in_total() {
    let s = serve("", "", "", &[]);
    const LEN: usize = 1_000_000;
    let head = |len: usize| {
        format!(
            "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\
             Content-Length: {len}\r\n\r\n"
        )
    };
    // 16 heads of 1 MB bodies, the bodies not sent yet: 16 MB granted.
    let mut held: Vec<_> = (0..16)
        .map(|_| {
            let mut t = s.tcp();
            t.write_all(head(LEN).as_bytes()).unwrap();
            t
        })
        .collect();
    // The 17th does not fit in 16 MiB: a 503, and the connection closes.
    let mut over = s.tcp();
    over.write_all(head(LEN).as_bytes()).unwrap();
    let (status, _, body) = read_answer(&mut over);
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    assert!(closed(&mut over));
    let err = daemon_err(&s.sv);
    let logged = "its request body would pass the 16 MiB";
    assert!(wait_until(10, || lines_of(&err)
        .iter()
        .any(|l| l.contains(logged))));
    // A small request still gets in.
    let mut small = s.tcp();
    small
        .write_all(&post_bytes(&call_xml("supervisor.getPID", "")))
        .unwrap();
    assert_eq!(read_answer(&mut small).0, 200);
    // One of the 16 sends its body: answered, and its room comes back.
    let call = call_xml("supervisor.getPID", "");
    let mut body = call.into_bytes();
    body.resize(LEN, b' ');
    held[0].write_all(&body).unwrap();
    assert_eq!(read_answer(&mut held[0]).0, 200);
    let mut next = s.tcp();
    next.write_all(head(LEN).as_bytes()).unwrap();
    next.write_all(&body).unwrap();
    assert_eq!(read_answer(&mut next).0, 200);
    // The one that left its body half sent: dropped, its room back too.
    held[1].write_all(&body[..LEN / 2]).unwrap();
    drop(held.remove(1));
    assert!(wait_until(10, || {
        let mut t = s.tcp();
        t.write_all(head(LEN).as_bytes()).unwrap();
        t.write_all(&body).is_ok() && {
            let mut first = [0u8; 12];
            t.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/1.1 200")
        }
    }));
}
