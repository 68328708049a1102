//! SPEC 7 and 11: rotation at a line boundary whether or not a `tail -f`
//! follows, whole lines at a full disk, and how `tail` ends or refuses.
mod common;
use common::tmpfs::Tmpfs;
use common::*;
use std::path::{Path, PathBuf};

const N: u8 = 7;
const MAXBYTES: u64 = 20 * 1024;
const BACKUPS: u32 = 3;
/// How far SPEC 11 lets a rotated file pass maxbytes.
const OVER: u64 = 64 * 1024;
/// Lines the burst program prints.
const LINES: u64 = 6000;

/// Starts the daemon of a fresh `Sv` on `conf` (where `AWK` stands for the
/// burst script written into the work directory) and waits until it answers.
fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let script = sv.work.path().join("burst.awk");
    std::fs::write(&script, BURST).expect("write burst.awk");
    let conf = conf
        .replace("AWK", &script.display().to_string())
        .replace("GO", &sv.work.path().join("go").display().to_string());
    let c = sv.config_daemon(&conf);
    sv.launch(c);
    sv
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", path.display()))
}

/// Prints `LINES` numbered lines of varying length as fast as awk can (so
/// the pipe holds many lines, cut anywhere).
const BURST: &str = "BEGIN { for (i = 0; i < 6000; i++) { s = sprintf(\"line %d \", i); \
                     for (j = 0; j < i % 37; j++) s = s \"x\"; print s } }\n";

/// A program printing `ready`, then the burst once the file `go` exists in
/// the work directory, then sleeping.
fn burst(name: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'echo ready; while [ ! -e GO ]; do sleep 0.02; done; awk -f AWK; exec sleep 60'\nstartsecs=0\nautorestart=false\nstdout_maxbytes={MAXBYTES}\nstdout_backups={BACKUPS}\n"
    )
}

/// The line numbers in `text`; panics on any line that is not a whole
/// `line N xxx` line (a cut one, or two glued together).
#[track_caller]
fn whole_lines(what: &str, text: &[u8]) -> Vec<u64> {
    let text = std::str::from_utf8(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{what} ends mid-line: ...{:?}",
        &text[text.len().saturating_sub(60)..]
    );
    text.lines()
        .filter(|l| *l != "ready")
        .map(|l| {
            let parse = || -> Option<u64> {
                let mut w = l.split(' ');
                let (word, n, xs) = (w.next()?, w.next()?.parse::<u64>().ok()?, w.next()?);
                let whole = word == "line" && w.next().is_none();
                let whole = whole && xs.len() as u64 == n % 37 && xs.bytes().all(|b| b == b'x');
                whole.then_some(n)
            };
            parse().unwrap_or_else(|| panic!("{what}: not a whole line: {l:?}"))
        })
        .collect()
}

/// The longest line the burst prints, newline included.
fn longest_line() -> u64 {
    format!("line {LINES} ").len() as u64 + 36 + 1
}

/// Waits for the burst to be in the current file, then checks every file:
/// whole lines only, oldest backup to current one contiguous sequence
/// ending at the last line, every rotated file within
/// [maxbytes - longest line, maxbytes + 64 KiB].
fn check_rotated(file: &Path) {
    let last = format!("line {} ", LINES - 1);
    let done = wait_until(30, || {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|t| t.lines().last().map(|l| l.starts_with(&last)))
            .unwrap_or(false)
    });
    assert!(done, "{} never got the last line", file.display());
    let mut all = Vec::new();
    for n in (1..=BACKUPS).rev() {
        let p = numbered(file, n);
        let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let size = data.len() as u64;
        assert!(
            size >= MAXBYTES - longest_line() && size <= MAXBYTES + OVER,
            "{} has {size} bytes (maxbytes {MAXBYTES})",
            p.display()
        );
        all.extend(whole_lines(&p.display().to_string(), &data));
    }
    assert!(!numbered(file, BACKUPS + 1).exists(), "too many backups");
    let current = std::fs::read(file).unwrap();
    assert!(current.len() as u64 <= MAXBYTES + OVER);
    all.extend(whole_lines(&file.display().to_string(), &current));
    let first = all[0];
    assert_eq!(
        all,
        (first..LINES).collect::<Vec<_>>(),
        "lines lost or repeated across the files"
    );
}

/// What `rx` gives until it holds `want` or ends, for at most `secs`.
fn gather(rx: &std::sync::mpsc::Receiver<Vec<u8>>, want: &str, secs: u64) -> Vec<u8> {
    let mut got = Vec::new();
    gather_into(rx, &mut got, want, secs);
    got
}

/// Waits until `file` holds `ready`.
fn wait_ready_line(file: &Path) {
    let ok = wait_until(10, || {
        std::fs::read_to_string(file).is_ok_and(|t| t.starts_with("ready\n"))
    });
    assert!(ok, "{} never said ready", file.display());
}

#[test]
fn rotation_keeps_whole_lines_with_no_follower() {
    let sv = start(&burst("plain"));
    let file = logs(&sv).join("plain-stdout.log");
    wait_ready_line(&file);
    std::fs::write(sv.work.path().join("go"), "").unwrap();
    check_rotated(&file);
}

#[test]
fn rotation_keeps_whole_lines_while_tail_follows() {
    let sv = start(&burst("followed"));
    let file = logs(&sv).join("followed-stdout.log");
    wait_ready_line(&file);
    let mut tail = sv
        .tail_follow("followed")
        .spawn()
        .expect("spawn sv tail -f");
    let out = chunks_of(&mut tail);
    // Its first answer (the last line) comes once it is registered.
    let first = gather(&out, "ready\n", 10);
    if first != b"ready\n" {
        // Recorded pid: the tail this test started.
        let _ = tail.kill();
        let _ = tail.wait();
        panic!("tail -f began with {:?}", String::from_utf8_lossy(&first));
    }
    std::fs::write(sv.work.path().join("go"), "").unwrap();
    check_rotated(&file);
    // The follower saw every line, in order, once.
    let last = format!("line {} ", LINES - 1);
    let got = gather(&out, &last, 30);
    // Recorded pid: the tail this test started.
    let _ = tail.kill();
    let _ = tail.wait();
    assert_eq!(whole_lines("tail -f", &got), (0..LINES).collect::<Vec<_>>());
}

/// The numbers of `line N ppp...` lines; panics on a cut or glued one.
#[track_caller]
fn padded_lines(what: &str, text: &str) -> Vec<u64> {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{what} ends mid-line: ...{:?}",
        &text[text.len().saturating_sub(40)..]
    );
    text.lines()
        .map(|l| {
            let n = l
                .strip_prefix("line ")
                .and_then(|r| r.split_once(' '))
                .filter(|(_, pad)| *pad == PAD)
                .and_then(|(n, _)| n.parse().ok());
            n.unwrap_or_else(|| panic!("{what}: not a whole line: {l:?}"))
        })
        .collect()
}

/// 90 bytes, so lines straddle every page where a tmpfs fills up.
const PAD: &str =
    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp";

#[test]
fn a_full_disk_drops_whole_lines_and_writing_resumes_when_space_returns() {
    let mut sv = Sv::new(N);
    let Some(disk) = Tmpfs::mount(sv.work.path().join("small"), "64k") else {
        return;
    };
    // Room for about 240 of the first 500 lines; the last 100, written
    // once `go` exists, fit after the filler is gone.
    let filler = disk.0.join("filler");
    std::fs::write(&filler, vec![0u8; 40 * 1024]).unwrap();
    let log = disk.0.join("out.log");
    let go = sv.work.path().join("go");
    let line = format!("echo \"line $i {PAD}\"; i=$((i+1))");
    let conf = format!(
        "[program:chatty]\ncommand=/bin/sh -c 'i=0; while [ $i -lt 500 ]; do {line}; [ $((i %% 20)) -ne 0 ] || sleep 0.01; done; while [ ! -e {} ]; do sleep 0.05; done; while [ $i -lt 600 ]; do {line}; done; exec sleep 60'\nstartsecs=0\nstdout_logfile={}\nstdout_logfile_maxbytes=0\n",
        go.display(),
        log.display()
    );
    let c = sv.config_daemon(&conf);
    sv.launch(c);
    let mut last = None;
    let full = wait_until(20, || {
        last = sv.state("chatty");
        last.as_ref()
            .is_some_and(|(_, d)| d.contains("log error") && d.contains("No space left"))
    });
    assert!(full, "never reported the full disk: {last:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    padded_lines("the log at the full disk", &text);
    // Space returns: writing resumes with whole lines, and the error goes.
    std::fs::remove_file(&filler).unwrap();
    std::fs::write(&go, "").unwrap();
    let resumed = wait_until(20, || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.ends_with(&format!("line 599 {PAD}\n"))
    });
    assert!(resumed, "never resumed: {:?}", sv.state("chatty"));
    let (_, detail) = sv.state("chatty").unwrap();
    assert!(!detail.contains("log error"), "{detail}");
    let numbers = padded_lines("the log", &std::fs::read_to_string(&log).unwrap());
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "lines out of order or repeated"
    );
    assert!(
        numbers.windows(2).any(|w| w[1] > w[0] + 1),
        "no line was dropped: was the disk ever full?"
    );
    sv.close();
    drop(disk);
}
