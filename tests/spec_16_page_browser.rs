//! SPEC §16: the status page in a real browser, headless Chromium
//! (Debian's `chromium`; scripts/chromium.sh installs it for CI), driven
//! over the DevTools protocol by tests/spec_16_page_cdp.py: the rows match
//! `sv status --json`, stop and start change a row in place (no reload),
//! the filter hides rows, the live tail shows a program's output, and a
//! screenshot is kept in target/artifacts/status-page.png (and
//! status-page-dark.png, in the dark colour scheme). Where Chromium
//! or python3 is missing or cannot run, the test is reported as skipped.

mod common;

use common::http::*;
use common::json::{parse_json, Json};
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

const PROGS: &str = "[program:a]\ncommand=sleep 600\n\
    [program:b]\ncommand=sleep 600\nautostart=false\n\
    [program:c]\ncommand=/bin/sh -c 'exec sleep 600' '<script>alert(1)</script>'\n\
    [program:talk]\ncommand=/bin/sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.3; done'\n\
    [program:sick]\ncommand=sleep 600\nhealth=file:/nonexistent/sv-page-test\nhealth_interval=1\n\
    health_retries=1\nhealth_action=none\n\
    [program:crash]\ncommand=/bin/sh -c 'exit 3'\nstartretries=1\n";

/// The page in a headless Chromium, through the driver script.
struct Browser {
    child: Child,
    to: Option<ChildStdin>,
    from: BufReader<ChildStdout>,
}

impl Browser {
    /// Opens `url`; None (the test reported as skipped) where Chromium or
    /// python3 is not there or cannot run.
    fn open(url: &str, profile: &Path) -> Option<Browser> {
        let Some(chromium) = find_chromium() else {
            skip("no chromium (Debian's chromium package; scripts/chromium.sh installs it)");
            return None;
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec_16_page_cdp.py");
        let spawned = Command::new("python3")
            .arg(&script)
            .arg(&chromium)
            .arg(url)
            .arg(profile)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                skip(&format!("cannot run python3 for the DevTools driver: {e}"));
                return None;
            }
        };
        let to = child.stdin.take().unwrap();
        let mut from = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        from.read_line(&mut first).unwrap();
        if let Some(why) = first.strip_prefix("cannot run chromium") {
            let _ = child.wait();
            skip(&format!(
                "cannot run {}{}",
                chromium.display(),
                why.trim_end()
            ));
            return None;
        }
        if first.trim_end() != "ready" {
            let log = std::fs::read_to_string(profile.join("chromium.log")).unwrap_or_default();
            panic!("the driver failed to load {url}: {first}\nchromium's log:\n{log}");
        }
        Some(Browser {
            child,
            to: Some(to),
            from,
        })
    }

    /// One request to the driver, its answer's value (a JS exception fails).
    fn ask(&mut self, req: &str) -> Json {
        let line = format!("{}\n", json_string(req));
        let to = self.to.as_mut().unwrap();
        to.write_all(line.as_bytes()).unwrap();
        let mut answer = String::new();
        self.from.read_line(&mut answer).unwrap();
        let j = parse_json(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?} to {req}"));
        if let Some(e) = j.get("error") {
            panic!("{req}: {e:?}");
        }
        j.get("value").cloned().unwrap_or(Json::Null)
    }

    /// [`Browser::ask`], or None for an error (a page between two loads).
    fn try_text(&mut self, js: &str) -> Option<String> {
        let line = format!("{}\n", json_string(js));
        let to = self.to.as_mut().unwrap();
        to.write_all(line.as_bytes()).unwrap();
        let mut answer = String::new();
        self.from.read_line(&mut answer).unwrap();
        match parse_json(&answer).ok()?.get("value")? {
            Json::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// A JavaScript expression's value, as a string.
    fn text(&mut self, js: &str) -> String {
        match self.ask(js) {
            Json::Str(s) => s,
            other => panic!("{js}: not a string: {other:?}"),
        }
    }

    /// The state cell of `name`'s row.
    fn state(&mut self, name: &str) -> String {
        self.text(&format!(
            "document.querySelector('tr[data-n=\"{name}\"]').cells[1].textContent"
        ))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The end of its stdin closes the browser; the driver then exits.
        drop(self.to.take());
        let _ = self.child.wait();
    }
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SV_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    let names = ["chromium", "chromium-browser", "google-chrome"];
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `sv status --json` as `[name, state, pid]` rows, the pid as the page
/// shows it (empty without a process).
fn status_rows(s: &Served) -> Vec<[String; 3]> {
    let out = s.sv.sv(&["status", "--json"]);
    let Json::Arr(items) = parse_json(out.ok()).unwrap() else {
        panic!("not an array: {}", out.stdout)
    };
    (items.iter())
        .map(|i| {
            let pid = i.num("pid").map(|p| p.to_string()).unwrap_or_default();
            [
                i.str("name").unwrap().into(),
                i.str("state").unwrap().into(),
                pid,
            ]
        })
        .collect()
}

/// The rows the page shows now, as [`status_rows`].
const PAGE_ROWS: &str = "JSON.stringify([...document.querySelectorAll('#rows tr')]\
    .filter(r=>!r.hidden).map(r=>[r.dataset.n,r.cells[1].textContent,r.cells[2].textContent]))";

fn page_rows(b: &mut Browser) -> Vec<[String; 3]> {
    let text = b.text(PAGE_ROWS);
    let Json::Arr(rows) = parse_json(&text).unwrap() else {
        panic!("{text}")
    };
    (rows.into_iter())
        .map(|r| match r {
            Json::Arr(c) => [0, 1, 2].map(|i| match &c[i] {
                Json::Str(s) => s.clone(),
                other => panic!("{other:?}"),
            }),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn the_page_in_chromium_shows_the_services_and_acts_on_them_in_place() {
    let mut s = serve("", "", PROGS, &[]);
    let settled = wait_until(10, || {
        let rows = status_rows(&s);
        let done = |st: &str| ["RUNNING", "STOPPED", "FATAL"].contains(&st);
        rows.len() == 6 && rows.iter().all(|r| done(&r[1]))
    });
    assert!(settled, "{:?}", status_rows(&s));
    let profile = s.sv.work.path().join("chromium-profile");
    let url = format!("http://127.0.0.1:{}/", s.port);
    let Some(mut b) = Browser::open(&url, &profile) else {
        s.sv.close();
        return;
    };
    // The rows, as `sv status --json` has them, once the script has run.
    assert!(
        wait_until(10, || page_rows(&mut b) == status_rows(&s)),
        "page {:?}\nsv {:?}",
        page_rows(&mut b),
        status_rows(&s)
    );
    let title = b.text("document.querySelector('tr[data-n=\"c\"] .dt').title");
    assert!(title.contains("<script>alert(1)</script>"), "{title}");
    assert_eq!(
        b.ask("document.querySelectorAll('script').length===1"),
        Json::Bool(true)
    );
    // Stop, then start, pressed on the page: the row changes in place.
    b.ask("window.notReloaded=1");
    b.ask("document.querySelector('tr[data-n=\"a\"] button[name=stop]').click()");
    assert!(
        wait_until(10, || b.state("a") == "STOPPED"),
        "{}",
        b.state("a")
    );
    assert_eq!(s.sv.state("a").unwrap().0, "STOPPED");
    b.ask("document.querySelector('tr[data-n=\"a\"] button[name=start]').click()");
    assert!(
        wait_until(10, || b.state("a") == "RUNNING"),
        "{}",
        b.state("a")
    );
    assert_eq!(s.sv.state("a").unwrap().0, "RUNNING");
    assert_eq!(
        b.ask("window.notReloaded"),
        Json::Num(1.0),
        "the page was reloaded"
    );
    assert!(wait_until(10, || page_rows(&mut b) == status_rows(&s)));
    // The filter: by state.
    b.ask("(q=>{q.value='stopped';q.dispatchEvent(new Event('input'))})(document.getElementById('q'))");
    let shown: Vec<String> = page_rows(&mut b)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(shown, ["b"]);
    b.ask("(q=>{q.value='';q.dispatchEvent(new Event('input'))})(document.getElementById('q'))");
    assert_eq!(page_rows(&mut b).len(), 6);
    let sick = "document.querySelector('tr[data-n=\"sick\"] .h').textContent";
    assert!(
        wait_until(10, || b.text(sick) == "unhealthy"),
        "{}",
        b.text(sick)
    );
    // The live tail of `talk`: lines arrive while it is open.
    b.ask("document.querySelector('tr[data-n=\"talk\"] a.log').click()");
    assert!(wait_until(10, || b
        .text("document.getElementById('to').textContent")
        .contains("tick")));
    let first = b.text("document.getElementById('to').textContent").len();
    assert!(
        wait_until(10, || b
            .text("document.getElementById('to').textContent")
            .len()
            > first),
        "the tail did not grow"
    );
    // The screenshot, kept as an artifact of the run.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("status-page.png");
    b.ask(&format!("!shot {}", shot.display()));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
    // Dark, as the system's colour scheme asks.
    let bg = "getComputedStyle(document.body).backgroundColor";
    assert_eq!(b.text(bg), "rgb(255, 255, 255)");
    b.ask(r#"!cdp Emulation.setEmulatedMedia {"features":[{"name":"prefers-color-scheme","value":"dark"}]}"#);
    assert_eq!(b.text(bg), "rgb(13, 17, 23)");
    b.ask(&format!(
        "!shot {}",
        dir.join("status-page-dark.png").display()
    ));
    // Without JavaScript: the server's table, and a button is a plain form
    // POST answered with a 303 back to the page.
    b.ask("!nojs");
    assert_eq!(
        b.ask("document.getElementById('q').hidden"),
        Json::Bool(true),
        "the script ran"
    );
    assert_eq!(page_rows(&mut b), status_rows(&s));
    b.ask("document.querySelector('tr[data-n=\"b\"] button[name=start]').click()");
    let b_state = "location.pathname+' '+document.readyState+' '+\
        document.querySelector('tr[data-n=\"b\"]').cells[1].textContent";
    let reloaded = wait_until(10, || {
        let now = b.try_text(b_state).unwrap_or_default();
        now == "/ complete STARTING" || now == "/ complete RUNNING"
    });
    assert!(reloaded, "{:?}", b.try_text(b_state));
    s.sv.wait_state("b", "RUNNING", 10);
    drop(b);
    s.sv.close();
}
