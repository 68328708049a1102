//! SPEC §16: the status page `GET /` of the HTTP servers, without a
//! browser (tests/spec_16_page_browser.rs drives Chromium): its rows
//! against `sv status --json`, `/status.json`, the token and `Origin`
//! that guard `POST /action`, the servers' basic auth, HTML escaping.

mod common;

use common::http::*;
use common::json::{parse_json, Json};
use common::*;
use std::io::Write;

/// Three programs; `c`'s command holds markup that must come out escaped.
const PROGS: &str = "[program:a]\ncommand=sleep 600\n\
    [program:b]\ncommand=sleep 600\nautostart=false\n\
    [program:c]\ncommand=/bin/sh -c 'exec sleep 600' '<script>alert(1)</script>'\n";

/// One request on a new TCP connection: status, headers, body.
fn ask(
    s: &Served,
    method: &str,
    path: &str,
    more: &str,
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut t = s.tcp();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{more}Content-Type: \
         application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        s.port,
        body.len()
    );
    t.write_all(req.as_bytes()).unwrap();
    let (status, headers, body) = read_answer(&mut t);
    (status, headers, String::from_utf8(body).unwrap())
}

/// `sv status --json` as (name, state, pid) rows.
fn status_rows(s: &Served) -> Vec<(String, String, Option<f64>)> {
    let out = s.sv.sv(&["status", "--json"]);
    rows_of(&parse_json(out.ok()).unwrap())
}

fn rows_of(j: &Json) -> Vec<(String, String, Option<f64>)> {
    let Json::Arr(items) = j else {
        panic!("not an array: {j:?}")
    };
    (items.iter())
        .map(|i| {
            let pid = i.num("pid");
            (
                i.str("name").unwrap().into(),
                i.str("state").unwrap().into(),
                pid,
            )
        })
        .collect()
}

/// The token the page carries in its form.
fn token_of(html: &str) -> String {
    let at = html
        .find("name=token value=\"")
        .expect("a token in the page")
        + 18;
    html[at..].split('"').next().unwrap().to_string()
}

fn wait_all_settled(s: &Served) {
    let settled = wait_until(10, || {
        let rows = status_rows(s);
        rows.len() == 3
            && rows
                .iter()
                .all(|(_, st, _)| st == "RUNNING" || st == "STOPPED")
    });
    assert!(settled, "{:?}", status_rows(s));
}

#[test]
fn the_page_and_its_json_list_every_service_as_status_json_does() {
    let mut s = serve("", "", PROGS, &[]);
    wait_all_settled(&s);
    let (status, headers, html) = ask(&s, "GET", "/", "", "");
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&headers, "x-frame-options"), Some("DENY"));
    let rows = status_rows(&s);
    for (name, state, pid) in &rows {
        let tr = format!("<tr data-n=\"{name}\" class=\"S-{state}\"><td class=nm>{name}<td class=st>{state}<td class=n>");
        let at = html
            .find(&tr)
            .unwrap_or_else(|| panic!("no row {tr} in {html}"));
        let pid_cell = html[at + tr.len()..].split('<').next().unwrap();
        assert_eq!(
            pid_cell,
            pid.map(|p| p.to_string()).unwrap_or_default(),
            "{name}"
        );
    }
    assert_eq!(
        html.matches("<tr data-n=").count(),
        rows.len() + 1,
        "rows and the template"
    );
    // The command's markup is text, not markup.
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
    // /status.json: the rows of `sv status --json`, with health.
    let (status, headers, body) = ask(&s, "GET", "/status.json", "", "");
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let j = parse_json(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(rows_of(&j), status_rows(&s));
    let Json::Arr(items) = &j else { unreachable!() };
    assert!(items.iter().all(|i| i.str("health") == Some("")));
    let c = items.iter().find(|i| i.str("name") == Some("c")).unwrap();
    assert!(c
        .str("command")
        .unwrap()
        .contains("<script>alert(1)</script>"));
    // The unix server serves it too.
    let mut u = s.unix();
    u.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let (status, _, body) = read_answer(&mut u);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("<tr data-n=\"a\""));
    // Only GET.
    assert_eq!(ask(&s, "POST", "/", "", "").0, 405);
    assert_eq!(ask(&s, "POST", "/status.json", "", "").0, 405);
    assert_eq!(ask(&s, "GET", "/action", "", "").0, 405);
    s.sv.close();
}

#[test]
fn an_action_needs_the_page_token_and_the_page_origin() {
    let mut s = serve("", "", PROGS, &[]);
    wait_all_settled(&s);
    let before = status_rows(&s);
    let token = token_of(&ask(&s, "GET", "/", "", "").2);
    assert_eq!(token.len(), 32, "{token}");
    let origin = format!("Origin: http://127.0.0.1:{}\r\n", s.port);
    let refused = [
        ("", "stop=a".to_string()),
        ("", "stop=all&token=".to_string()),
        ("", format!("stop=a&token={}0", &token[1..])),
        (
            "Origin: http://evil.example\r\n",
            format!("stop=a&token={token}"),
        ),
        (
            "Origin: http://127.0.0.1:1\r\n",
            format!("action=stop&name=all&token={token}"),
        ),
    ];
    for (more, body) in refused {
        let (status, _, why) = ask(&s, "POST", "/action", more, &body);
        assert_eq!(status, 403, "{more}{body}: {why}");
        assert!(
            why.contains("token") || why.contains("other web pages"),
            "{why}"
        );
    }
    assert_eq!(
        status_rows(&s),
        before,
        "a refused action changed something"
    );
    // With the token (and the page's own origin): stop, then start.
    let (status, headers, _) = ask(
        &s,
        "POST",
        "/action",
        &origin,
        &format!("token={token}&stop=a"),
    );
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), Some("./"));
    s.sv.wait_state("a", "STOPPED", 10);
    let body = format!("action=start&name=a&token={token}");
    assert_eq!(ask(&s, "POST", "/action", "", &body).0, 303);
    s.sv.wait_state("a", "RUNNING", 10);
    // All at once; an unknown name or action says so.
    assert_eq!(
        ask(
            &s,
            "POST",
            "/action",
            "",
            &format!("token={token}&stop=all")
        )
        .0,
        303
    );
    for name in ["a", "b", "c"] {
        s.sv.wait_state(name, "STOPPED", 10);
    }
    let (status, _, why) = ask(
        &s,
        "POST",
        "/action",
        "",
        &format!("token={token}&start=nope"),
    );
    assert_eq!(status, 404, "{why}");
    assert!(why.contains("no such service: nope"), "{why}");
    let (status, _, why) = ask(
        &s,
        "POST",
        "/action",
        "",
        &format!("token={token}&action=kill&name=a"),
    );
    assert_eq!(status, 400, "{why}");
    assert!(why.contains("no such action"), "{why}");
    // The token is the daemon's: the same on every page.
    assert_eq!(token_of(&ask(&s, "GET", "/", "", "").2), token);
    s.sv.close();
}

#[test]
fn the_servers_basic_auth_guards_the_page() {
    let mut s = serve("", "username=u\npassword=p", PROGS, &[]);
    assert_eq!(ask(&s, "GET", "/", "", "").0, 401);
    assert_eq!(ask(&s, "GET", "/status.json", "", "").0, 401);
    assert_eq!(ask(&s, "POST", "/action", "", "stop=all").0, 401);
    // "u:p" in base64.
    let auth = "Authorization: Basic dTpw\r\n";
    let (status, _, html) = ask(&s, "GET", "/", auth, "");
    assert_eq!(status, 200);
    assert!(html.contains("data-n=\"a\""), "{html}");
    s.sv.close();
}

/// The `health` of a service in `/status.json` and its cell on the page.
fn health_of(s: &Served, name: &str) -> (String, String) {
    let body = ask(s, "GET", "/status.json", "", "").2;
    let Json::Arr(items) = parse_json(&body).unwrap() else {
        panic!("{body}")
    };
    let i = items.iter().find(|i| i.str("name") == Some(name)).unwrap();
    let html = ask(s, "GET", "/", "", "").2;
    let row = html
        .split(&format!("<tr data-n=\"{name}\""))
        .nth(1)
        .unwrap();
    let cell = row.split("<td class=\"h ").nth(1).unwrap();
    let cell = cell.split('>').nth(1).unwrap().split('<').next().unwrap();
    (i.str("health").unwrap().to_string(), cell.to_string())
}

#[test]
fn health_shows_where_checks_are_configured() {
    let dir = TempDir::new("page-health");
    let ready = dir.path().join("ready");
    let alive = dir.path().join("alive");
    let progs = format!(
        "[program:r]\ncommand=sleep 600\nready=file:{}\nready_interval=1\n\
         [program:h]\ncommand=sleep 600\nhealth=file:{}\nhealth_interval=1\n\
         health_retries=1\nhealth_action=none\n",
        ready.display(),
        alive.display()
    );
    let mut s = serve("", "", &progs, &[]);
    let want = |s: &Served, name: &str, h: &str| {
        let ok = wait_until(10, || health_of(s, name) == (h.to_string(), h.to_string()));
        assert!(ok, "{name}: {:?}, wanted {h}", health_of(s, name));
    };
    want(&s, "r", "not ready");
    want(&s, "h", "unhealthy");
    std::fs::write(&ready, "").unwrap();
    std::fs::write(&alive, "").unwrap();
    want(&s, "r", "ready");
    want(&s, "h", "healthy");
    s.sv.close();
}

/// A notify `STATUS=` that reads like a failing check does not make a
/// healthy service unhealthy on the page: health is the supervisor's flag.
#[test]
fn a_status_text_cannot_fake_unhealthy() {
    let dir = TempDir::new("page-fake");
    let alive = dir.path().join("alive");
    std::fs::write(&alive, "").unwrap();
    let script = dir.path().join("fake.py");
    std::fs::write(
        &script,
        "import os, socket, time\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.sendto(b'READY=1\\nSTATUS=unhealthy (9/9: faked)', os.environ['NOTIFY_SOCKET'])\n\
         time.sleep(600)\n",
    )
    .unwrap();
    let progs = format!(
        "[program:f]\ncommand=python3 {}\nstartsecs=0\nready=notify\n\
         health=file:{}\nhealth_interval=1\nhealth_retries=1\nhealth_action=none\n",
        script.display(),
        alive.display()
    );
    let mut s = serve("", "", &progs, &[]);
    // The text is there for `status` to show...
    let shown = wait_until(10, || {
        s.sv.sv(&["status", "f"]).stdout.contains("unhealthy (9/9")
    });
    assert!(shown, "{}", s.sv.sv(&["status", "f"]).stdout);
    // ...and the page still says what the check says.
    assert_eq!(
        health_of(&s, "f"),
        ("healthy".to_string(), "healthy".to_string())
    );
    s.sv.close();
}
