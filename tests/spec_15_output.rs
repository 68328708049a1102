//! SPEC §15, shared stdout: programs writing to the daemon's own stdout
//! never interleave within a line; `log_prefix` and `log_timestamps`
//! shape each line, on the shared stdout and in log files alike.

mod common;

use common::*;
use std::io::Read;
use std::process::{Child, Stdio};
use std::sync::mpsc;

const N: u8 = 1;

/// Everything the daemon writes to its stdout, once it has exited.
fn collect_stdout(child: &mut Child) -> mpsc::Receiver<Vec<u8>> {
    let mut out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = out.read_to_end(&mut all);
        let _ = tx.send(all);
    });
    rx
}

fn start(mut sv: Sv, conf: &str) -> (Sv, mpsc::Receiver<Vec<u8>>) {
    let mut c = sv.config_daemon(conf);
    c.stdout(Stdio::piped());
    sv.launch(c);
    let rx = collect_stdout(sv.child.as_mut().unwrap());
    (sv, rx)
}

/// Closes the daemon and returns what it wrote to its stdout.
fn finish(mut sv: Sv, rx: mpsc::Receiver<Vec<u8>>) -> String {
    assert_eq!(sv.close().code, 0);
    let out = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the daemon's stdout ends with it");
    String::from_utf8(out).expect("utf-8")
}

/// Two programs write 8 KB lines to the daemon's stdout, each line in three
/// writes: whatever the pipe and the scheduling, every line comes out
/// whole, all of them, each program's in order.
#[test]
fn programs_sharing_stdout_never_interleave_within_a_line() {
    let lines = 300;
    let script = format!(
        "x=$(printf '%4000s' '' | tr ' ' \"$1\"); i=0; \
         while [ ! -e go ]; do sleep 0.01; done; \
         while [ $i -lt {lines} ]; do printf '%s %d ' \"$1\" $i; printf '%s' \"$x\"; \
         printf '%s\\n' \"$x\"; i=$((i+1)); done"
    );
    let sv = Sv::new(N);
    let path = sv.work.path().join("writer.sh");
    std::fs::write(&path, script).unwrap();
    let path = path.display().to_string();
    let program = |tag: &str| {
        format!(
            "[program:{tag}]\ncommand=/bin/sh {path} {tag}\nstdout_logfile=/dev/stdout\n\
             startsecs=0\nautorestart=false\n"
        )
    };
    let (sv, rx) = start(sv, &(program("A") + &program("B")));
    // Both at once: each waits for `go`.
    for tag in ["A", "B"] {
        sv.wait_state(tag, "RUNNING", 10);
    }
    std::fs::write(sv.work.path().join("go"), "").unwrap();
    for tag in ["A", "B"] {
        sv.wait_state(tag, "EXITED", 30);
    }
    let out = finish(sv, rx);
    for tag in ["A", "B"] {
        let mine: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with(&format!("{tag} ")))
            .collect();
        assert_eq!(mine.len(), lines, "lines of {tag}");
        let body = tag.repeat(8000);
        for (i, l) in mine.iter().enumerate() {
            assert_eq!(
                *l,
                format!("{tag} {i} {body}"),
                "line {i} of {tag} is not whole"
            );
        }
    }
    assert_eq!(out.lines().count(), 2 * lines, "no stray pieces");
}

/// `HH:MM:SS.mmmZ ` after the date: the RFC 3339 UTC stamp with milliseconds.
fn stamped(line: &str) -> Option<&str> {
    let (stamp, rest) = line.split_at_checked(25)?;
    let b = stamp.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
    let ok = digits.iter().all(|i| b[*i].is_ascii_digit())
        && &stamp[4..5] == "-"
        && &stamp[10..11] == "T"
        && &stamp[19..20] == "."
        && &stamp[23..] == "Z ";
    ok.then_some(rest)
}

/// A line split across two writes gets its prefix and its stamp once; a
/// last line with no newline is ended when the process is; a log file
/// gets the same lines; a program without the keys is copied as it is.
#[test]
fn log_prefix_and_timestamps_shape_each_line_on_stdout_and_in_files() {
    let sv = Sv::new(N);
    let file = sv.work.path().join("b.log");
    let plain = sv.work.path().join("c.log");
    let script = "printf 'hello\\nwor'; sleep 0.3; printf 'ld\\n'; printf 'last'";
    let conf = format!(
        "[program:a]\ncommand=/bin/sh -c \"{script}\"\nstdout_logfile=/dev/stdout\n\
         log_prefix = %(program_name)s |\nlog_timestamps = true\nstartsecs=0\nautorestart=false\n\
         [program:b]\ncommand=/bin/sh -c \"{script}\"\nstdout_logfile={}\n\
         log_prefix = \"[%(program_name)s:%(process_num)d] \"\nstartsecs=0\nautorestart=false\n\
         [program:c]\ncommand=/bin/sh -c \"{script}\"\nstdout_logfile={}\n\
         startsecs=0\nautorestart=false\n",
        file.display(),
        plain.display()
    );
    let (sv, rx) = start(sv, &conf);
    for name in ["a", "b", "c"] {
        sv.wait_state(name, "EXITED", 10);
    }
    let b = std::fs::read_to_string(&file).unwrap();
    let c = std::fs::read_to_string(&plain).unwrap();
    let out = finish(sv, rx);
    let shown: Vec<&str> = out.lines().map(|l| stamped(l).unwrap_or(l)).collect();
    assert_eq!(shown, ["a | hello", "a | world", "a | last"], "{out:?}");
    assert!(out.lines().all(|l| stamped(l).is_some()), "{out:?}");
    // A file keeps its bytes: no newline is added after "last".
    assert_eq!(b, "[b:0] hello\n[b:0] world\n[b:0] last");
    assert_eq!(c, "hello\nworld\nlast");
}

/// `tail -f` shows the lines as the log file has them, prefix included.
#[test]
fn tail_follow_shows_the_prefixed_lines() {
    use std::io::BufRead;
    let sv = Sv::new(N);
    let conf =
        "[program:f]\ncommand=/bin/sh -c \"echo first; while [ ! -e go ]; do sleep 0.01; done; \
                echo second; exec sleep 60\"\nlog_prefix = \"f> \"\nstartsecs=0\n";
    let (sv, rx) = start(sv, conf);
    assert!(wait_until(10, || sv.sv(&["tail", "f"]).stdout == "f> first\n"));
    let mut tail = sv.tail_follow("f").spawn().expect("spawn tail -f");
    let out = tail.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || lines.recv_timeout(std::time::Duration::from_secs(10)).ok();
    assert_eq!(next().as_deref(), Some("f> first"));
    std::fs::write(sv.work.path().join("go"), "").unwrap();
    assert_eq!(next().as_deref(), Some("f> second"));
    let _ = tail.kill();
    let _ = tail.wait();
    finish(sv, rx);
}
