//! SPEC 5: every config key, in both spellings, checked by its effect on a
//! real child (/proc/PID/{cwd,environ,status}, files the child writes), and
//! the configparser fine points of the file format.
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const N: u8 = 5;

/// Starts the daemon of `sv` on `conf` (written to `work/sv.conf`), with
/// `env` added to its environment.
fn launch(mut sv: Sv, conf: &str, env: &[(&str, &str)]) -> Sv {
    let mut c = sv.config_daemon(conf);
    for (k, v) in env {
        c.env(k, v);
    }
    sv.launch(c);
    sv
}

fn start(conf: &str) -> Sv {
    launch(Sv::new(N), conf, &[])
}

fn names(sv: &Sv) -> Vec<String> {
    sv.sv(&["status"])
        .ok()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until `path` holds `want` exactly.
#[track_caller]
fn wait_file(path: &Path, want: &str) {
    let ok = wait_until(10, || read(path) == want);
    assert!(
        ok,
        "{} holds {:?}, not {want:?}",
        path.display(),
        read(path)
    );
}

/// The environment of a live process.
fn environ(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn env_has(pid: i32, kv: &str) -> bool {
    environ(pid).iter().any(|v| v == kv)
}

/// A field of /proc/PID/status, e.g. `Uid`, `Umask`.
fn proc_status(pid: i32, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn line_count(path: &Path) -> usize {
    read(path).lines().count()
}

fn logs(sv: &Sv) -> PathBuf {
    sv.runtime.path().join(N.to_string()).join("logs")
}

// ------------------------------------------------------------- the command

#[test]
fn command_and_cmd_are_split_like_a_shell() {
    let sv = start(concat!(
        "[program:a]\n",
        "command=/bin/sh -c 'printf \"%%s|\" \"$@\" > a.args; exec sleep 60' argv0 \"a b\" 'c d' e\\ f\n",
        "startsecs=0\n",
        "[program:b]\n",
        "cmd=/bin/sh -c 'printf \"%%s|\" \"$@\" > b.args; exec sleep 60' argv0 one \"two three\"\n",
        "startsecs=0\n",
        "[program:c]\n",
        "cmd=/bin/sleep 60\n",
        "startsecs=0\n",
    ));
    sv.wait_state("a", "RUNNING", 10);
    sv.wait_state("b", "RUNNING", 10);
    sv.wait_state("c", "RUNNING", 10);
    wait_file(&sv.work.path().join("a.args"), "a b|c d|e f|");
    wait_file(&sv.work.path().join("b.args"), "one|two three|");
    // No shell in between: the pid is the program itself.
    let pid = sv.pid("c").unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
        Path::new("/bin/sleep").canonicalize().unwrap()
    );
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"/bin/sleep\x0060\x00");
}

// ------------------------------------------------- numprocs, process_name

#[test]
fn numprocs_and_process_name_name_the_copies() {
    let sv = start(concat!(
        "[program:x]\n",
        "command=/bin/sleep 60\n",
        "numprocs=2\n",
        "startsecs=0\n",
        "environment=NUM=%(process_num)02d,PROG=%(program_name)s,GRP=%(group_name)s\n",
        "[program:w]\n",
        "command=/bin/sleep 60\n",
        "numprocs=3\n",
        "process_name=w-%(process_num)d\n",
        "startsecs=0\n",
    ));
    assert_eq!(names(&sv), ["x:x_00", "x:x_01", "w:w-0", "w:w-1", "w:w-2"]);
    for n in ["x:x_00", "x:x_01", "w:w-0", "w:w-1", "w:w-2"] {
        sv.wait_state(n, "RUNNING", 10);
    }
    let p0 = sv.pid("x_00").unwrap();
    let p1 = sv.pid("x_01").unwrap();
    assert!(env_has(p0, "NUM=00"), "{:?}", environ(p0));
    assert!(env_has(p1, "NUM=01"), "{:?}", environ(p1));
    // Outside a group, %(group_name)s is the program name.
    assert!(env_has(p1, "PROG=x"), "{:?}", environ(p1));
    assert!(env_has(p1, "GRP=x"), "{:?}", environ(p1));
    assert!(env_has(p1, "SV_PROCESS_NAME=x_01"));
    assert!(env_has(p1, "SUPERVISOR_PROCESS_NAME=x_01"));
    assert!(env_has(p1, &format!("SV_INSTANCE={N}")));
    let pids: Vec<i32> = ["w-0", "w-1", "w-2"]
        .iter()
        .map(|n| sv.pid(n).unwrap())
        .collect();
    assert!(pids.iter().all(|p| alive(*p)));
    assert_ne!(pids[0], pids[1]);
    assert_ne!(pids[1], pids[2]);
}

// --------------------------------------------------------------- autostart

#[test]
fn autostart_false_registers_only() {
    let sv = start(concat!(
        "[program:off]\ncommand=/bin/sh -c 'touch ran; exec sleep 60'\nautostart=false\nstartsecs=0\n",
        "[program:on]\ncommand=/bin/sleep 60\nautostart=TRUE\nstartsecs=0\n",
    ));
    sv.wait_state("on", "RUNNING", 10);
    assert_eq!(
        sv.state("off"),
        Some(("STOPPED".to_string(), "Not started".to_string()))
    );
    assert!(sv.pid("off").is_none());
    assert!(!sv.work.path().join("ran").exists());
    assert_eq!(sv.sv(&["start", "off"]).ok(), "off: started\n");
    assert!(wait_until(5, || sv.work.path().join("ran").exists()));
}

// ------------------------------------------------ directory, environment

#[test]
fn directory_and_environment_in_both_spellings() {
    let sv = Sv::new(N);
    let da = sv.work.path().join("da");
    let db = sv.work.path().join("db");
    std::fs::create_dir(&da).unwrap();
    std::fs::create_dir(&db).unwrap();
    let script =
        "/bin/sh -c 'pwd > where; echo \"$FOO|$K2|$K3|$FROM_DAEMON\" > env; exec sleep 60'";
    let conf = format!(
        "[program:a]\ncommand={script}\ndirectory={}\nenvironment=FOO=bar,K2=\"a, b\",K3=c\nstartsecs=0\n\
         [program:b]\ncommand={script}\nworkingdir={}\nenv=FOO=baz,K2=\"x,y\"\nstartsecs=0\n\
         [program:c]\ncommand=/bin/sleep 60\nstartsecs=0\n",
        da.display(),
        db.display()
    );
    let sv = launch(sv, &conf, &[("FROM_DAEMON", "inherited")]);
    for n in ["a", "b", "c"] {
        sv.wait_state(n, "RUNNING", 10);
    }
    let (pa, pb, pc) = (
        sv.pid("a").unwrap(),
        sv.pid("b").unwrap(),
        sv.pid("c").unwrap(),
    );
    wait_file(&da.join("where"), &format!("{}\n", da.display()));
    wait_file(&db.join("where"), &format!("{}\n", db.display()));
    wait_file(&da.join("env"), "bar|a, b|c|inherited\n");
    wait_file(&db.join("env"), "baz|x,y||inherited\n");
    // The process itself (after exec) keeps cwd and environment.
    assert_eq!(std::fs::read_link(format!("/proc/{pa}/cwd")).unwrap(), da);
    assert_eq!(std::fs::read_link(format!("/proc/{pb}/cwd")).unwrap(), db);
    assert!(env_has(pa, "K2=a, b"), "{:?}", environ(pa));
    assert!(env_has(pb, "FOO=baz"), "{:?}", environ(pb));
    // Default: the daemon's directory (the test's work dir) and environment.
    assert_eq!(
        std::fs::read_link(format!("/proc/{pc}/cwd")).unwrap(),
        sv.work.path()
    );
    assert!(env_has(pc, "FROM_DAEMON=inherited"));
    assert!(!environ(pc).iter().any(|v| v.starts_with("FOO=")));
}

/// `environment=` replaces a variable the daemon has, rather than adding a
/// second copy: with two, glibc's getenv took the daemon's (the first).
#[test]
fn environment_replaces_a_variable_of_the_daemon() {
    let sv = Sv::new(N);
    let conf = "[program:o]\ncommand=/bin/sleep 60\nenvironment=FROM_DAEMON=mine,SV_INSTANCE=7\nstartsecs=0\n";
    let sv = launch(sv, conf, &[("FROM_DAEMON", "inherited")]);
    sv.wait_state("o", "RUNNING", 10);
    let pid = sv.pid("o").unwrap();
    let env = environ(pid);
    let copies = |key: &str| {
        env.iter()
            .filter(|v| v.starts_with(&format!("{key}=")))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(copies("FROM_DAEMON"), ["FROM_DAEMON=mine"], "{env:?}");
    // sv's own variables come last and win over the config's.
    assert_eq!(
        copies("SV_INSTANCE"),
        [format!("SV_INSTANCE={}", sv.instance)],
        "{env:?}"
    );
}

// ------------------------------------------------------------------- umask

#[test]
fn umask_sets_the_child_umask() {
    let sv = start(concat!(
        "[program:u]\ncommand=/bin/sh -c 'umask > um; touch made; exec sleep 60'\numask=027\nstartsecs=0\n",
        "[program:v]\ncommand=/bin/sh -c 'umask > vm; exec sleep 60'\numask=0\nstartsecs=0\n",
    ));
    sv.wait_state("u", "RUNNING", 10);
    sv.wait_state("v", "RUNNING", 10);
    wait_file(&sv.work.path().join("um"), "0027\n");
    wait_file(&sv.work.path().join("vm"), "0000\n");
    let pid = sv.pid("u").unwrap();
    assert_eq!(proc_status(pid, "Umask"), "0027");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(sv.work.path().join("made"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

// -------------------------------------------------------------------- user

#[test]
fn user_runs_the_program_as_that_user() {
    if !is_root() {
        eprintln!("skipped: user= needs a root daemon");
        return;
    }
    let sv = Sv::new(N);
    // A directory nobody may write into.
    let open = sv.work.path().join("open");
    std::fs::create_dir(&open).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = format!(
        "[program:nob]\ncommand=/bin/sh -c 'id -u > uid; exec sleep 60'\nuser=nobody\ndirectory={}\nstartsecs=0\n\
         [program:ghost]\ncommand=/bin/sleep 60\nuser=no_such_user_sv\nstartsecs=0\n\
         [program:me]\ncommand=/bin/sleep 60\nstartsecs=0\n",
        open.display()
    );
    let sv = launch(sv, &conf, &[]);
    sv.wait_state("nob", "RUNNING", 10);
    sv.wait_state("me", "RUNNING", 10);
    let detail = sv.wait_state("ghost", "FATAL", 10);
    assert_eq!(detail, "spawn error: no such user: no_such_user_sv");
    let pid = sv.pid("nob").unwrap();
    assert_eq!(proc_status(pid, "Uid"), "65534 65534 65534 65534");
    assert_eq!(proc_status(pid, "Gid"), "65534 65534 65534 65534");
    // Its groups: nobody's (nogroup), not root's.
    let groups = proc_status(pid, "Groups");
    assert!(!groups.split(' ').any(|g| g == "0"), "groups {groups:?}");
    assert!(env_has(pid, "USER=nobody"), "{:?}", environ(pid));
    assert!(env_has(pid, "LOGNAME=nobody"), "{:?}", environ(pid));
    assert!(env_has(pid, "HOME=/nonexistent"), "{:?}", environ(pid));
    wait_file(&open.join("uid"), "65534\n");
    // The others run as the daemon's user.
    let me = sv.pid("me").unwrap();
    assert_eq!(proc_status(me, "Uid"), "0 0 0 0");
}

// -------------------------------------------------- autorestart, exitcodes

/// A program that counts its runs in `NAME.runs`, lives 0.2 s, exits CODE.
fn runner(name: &str, code: i32, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'echo run >> {name}.runs; sleep 0.2; exit {code}'\nstartsecs=0\n{extra}\n"
    )
}

#[test]
fn autorestart_and_exitcodes() {
    let sv = start(&format!(
        "{}{}{}{}{}",
        runner("never", 0, "autorestart=false"),
        runner("always", 0, "autorestart=true"),
        runner("expected", 2, "autorestart=unexpected\nexitcodes=0,2"),
        runner("unexpected", 3, "autorestart=unexpected\nexitcodes=0,2"),
        runner("default", 1, ""),
    ));
    let w = sv.work.path();
    let detail = sv.wait_state("never", "EXITED", 10);
    assert_eq!(detail, "exit 0");
    let detail = sv.wait_state("expected", "EXITED", 10);
    assert_eq!(detail, "exit 2");
    // Restarted at once after each exit (they ran past startsecs=0).
    assert!(wait_until(10, || line_count(&w.join("always.runs")) >= 3));
    assert!(wait_until(10, || line_count(&w.join("unexpected.runs")) >= 3));
    // Default autorestart is unexpected with exitcodes=0: exit 1 restarts.
    assert!(wait_until(10, || line_count(&w.join("default.runs")) >= 3));
    assert_eq!(line_count(&w.join("never.runs")), 1);
    assert_eq!(line_count(&w.join("expected.runs")), 1);
    assert_eq!(sv.state("never").unwrap().0, "EXITED");
}

// --------------------------------------------------- startsecs, startretries

#[test]
fn startsecs_decides_when_a_start_counts() {
    let t = Instant::now();
    let sv = start(concat!(
        "[program:slow]\ncommand=/bin/sleep 60\nstartsecs=2\n",
        // Lives 0.5 s: started with startsecs=0, too quick with startsecs=3.
        "[program:ok]\ncommand=/bin/sh -c 'sleep 0.5; exit 1'\nstartsecs=0\nautorestart=false\n",
        "[program:quick]\ncommand=/bin/sh -c 'sleep 0.5; exit 1'\nstartsecs=3\nstartretries=1\nautorestart=false\n",
    ));
    assert_eq!(sv.state("slow").unwrap().0, "STARTING");
    sv.wait_state("slow", "RUNNING", 10);
    assert!(
        t.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(sv.wait_state("ok", "EXITED", 10), "exit 1");
    assert_eq!(
        sv.wait_state("quick", "FATAL", 10),
        "Exited too quickly (process log may have details)"
    );
}

#[test]
fn startretries_counts_attempts() {
    let sv = start(concat!(
        "[program:two]\ncommand=/bin/sh -c 'echo x >> two.tries; exit 1'\nstartsecs=3\nstartretries=2\n",
        "[program:one]\ncommand=/bin/sh -c 'echo x >> one.tries; exit 1'\nstartsecs=3\nstartretries=1\n",
        "[program:forever]\ncommand=/bin/sh -c 'echo x >> forever.tries; exit 1'\nstartsecs=3\nstartretries=0\n",
    ));
    let w = sv.work.path();
    sv.wait_state("one", "FATAL", 10);
    assert_eq!(line_count(&w.join("one.tries")), 1);
    sv.wait_state("two", "FATAL", 10);
    assert_eq!(line_count(&w.join("two.tries")), 2);
    // 0 keeps trying: a fourth attempt (after 1 + 2 + 3 s), not FATAL.
    assert!(wait_until(15, || line_count(&w.join("forever.tries")) >= 4));
    let (state, _) = sv.state("forever").unwrap();
    assert!(
        state == "BACKOFF" || state == "STARTING",
        "forever is {state}"
    );
}

// ---------------------------------------------- stopsignal, stopwaitsecs

/// Records which of USR1, TERM, HUP it got in `got-NAME`, then exits 0;
/// `ready-NAME` says its traps are set.
fn trapper(name: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'for s in USR1 TERM HUP; do trap \"echo $s > got-{name}; exit 0\" $s; done; touch ready-{name}; while :; do sleep 0.05; done'\nstartsecs=0\n{extra}\n"
    )
}

#[test]
fn stopsignal_by_name_prefixed_name_or_number() {
    let sv = start(&format!(
        "{}{}{}{}",
        trapper("byname", "stopsignal=USR1"),
        trapper("prefixed", "stopsignal=SIGHUP"),
        trapper("number", "stopsignal=10"),
        trapper("default", ""),
    ));
    for n in ["byname", "prefixed", "number", "default"] {
        sv.wait_state(n, "RUNNING", 10);
        let ready = sv.work.path().join(format!("ready-{n}"));
        assert!(wait_until(10, || ready.exists()));
    }
    let r = sv.sv(&["stop", "all"]);
    r.ok();
    let w = sv.work.path();
    wait_file(&w.join("got-byname"), "USR1\n");
    wait_file(&w.join("got-prefixed"), "HUP\n");
    wait_file(&w.join("got-number"), "USR1\n");
    wait_file(&w.join("got-default"), "TERM\n");
}

#[test]
fn stopwaitsecs_then_sigkill() {
    let sv = start(
        "[program:stubborn]\ncommand=/bin/sh -c 'trap \"\" TERM; touch ready; while :; do sleep 0.05; done'\nstopwaitsecs=1\nstartsecs=0\n",
    );
    sv.wait_state("stubborn", "RUNNING", 10);
    // TERM is ignored from here on.
    assert!(wait_until(10, || sv.work.path().join("ready").exists()));
    let pid = sv.pid("stubborn").unwrap();
    let t = Instant::now();
    let r = sv.sv(&["stop", "stubborn"]);
    let took = t.elapsed();
    assert_eq!(r.ok(), "stubborn: stopped\n");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!alive(pid));
    let (state, detail) = sv.state("stubborn").unwrap();
    assert_eq!(state, "STOPPED");
    assert!(detail.contains("SIGKILL"), "{detail}");
}

// -------------------------------------------------- stopasgroup/killasgroup

fn family(name: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'sleep 60 & echo $! > {name}.gc; wait'\nstartsecs=0\n{extra}\n"
    )
}

fn grandchild(sv: &Sv, name: &str) -> i32 {
    let path = sv.work.path().join(format!("{name}.gc"));
    assert!(wait_until(10, || read(&path).ends_with('\n')));
    read(&path).trim().parse().unwrap()
}

#[test]
fn stopasgroup_signals_the_whole_group() {
    let sv = start(&format!(
        "{}{}{}",
        family("grouped", "stopasgroup=true\nkillasgroup=true"),
        family("default", ""),
        family("single", "stopasgroup=false\nkillasgroup=false"),
    ));
    for n in ["grouped", "default", "single"] {
        sv.wait_state(n, "RUNNING", 10);
    }
    let g1 = grandchild(&sv, "grouped");
    let g2 = grandchild(&sv, "default");
    let g3 = grandchild(&sv, "single");
    assert!(alive(g1) && alive(g2) && alive(g3));
    let r = sv.sv(&["stop", "all"]);
    r.ok();
    assert!(wait_until(5, || !alive(g1)), "grouped grandchild left");
    assert!(wait_until(5, || !alive(g2)), "default grandchild left");
    // Only the process itself got the signal: its child lives on.
    let survived = alive(g3);
    // Recorded pid: the grandchild this test's program started.
    kill(g3, libc::SIGKILL);
    assert!(survived, "stopasgroup=false still signalled the group");
}

// ------------------------------------------------------- stdout and stderr

/// Writes `out-NAME` to stdout and `err-NAME` to stderr.
fn talker(name: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'echo out-{name}; echo err-{name} >&2; exec sleep 60'\nstartsecs=0\n{extra}\n"
    )
}

#[test]
fn stdout_and_stderr_destinations() {
    let sv = Sv::new(N);
    let w = sv.work.path().to_path_buf();
    let conf = format!(
        "{}{}{}{}{}{}",
        talker(
            "paths",
            &format!("stdout={0}/paths.out\nstderr={0}/paths.err", w.display())
        ),
        talker(
            "aliases",
            &format!(
                "stdout_logfile={0}/aliases.out\nstderr_logfile={0}/aliases.err",
                w.display()
            )
        ),
        talker("auto", ""),
        talker("autoexplicit", "stdout=AUTO\nstderr_logfile=auto"),
        talker("discard", "stdout_logfile=NONE\nstderr=/dev/null"),
        talker(
            "redirect",
            &format!("stdout={}/redirect.out\nredirect_stderr=true", w.display())
        ),
    );
    let sv = launch(sv, &conf, &[]);
    for n in [
        "paths",
        "aliases",
        "auto",
        "autoexplicit",
        "discard",
        "redirect",
    ] {
        sv.wait_state(n, "RUNNING", 10);
    }
    wait_file(&w.join("paths.out"), "out-paths\n");
    wait_file(&w.join("paths.err"), "err-paths\n");
    wait_file(&w.join("aliases.out"), "out-aliases\n");
    wait_file(&w.join("aliases.err"), "err-aliases\n");
    let l = logs(&sv);
    wait_file(&l.join("auto-stdout.log"), "out-auto\n");
    wait_file(&l.join("auto-stderr.log"), "err-auto\n");
    wait_file(&l.join("autoexplicit-stdout.log"), "out-autoexplicit\n");
    wait_file(&l.join("autoexplicit-stderr.log"), "err-autoexplicit\n");
    // redirect_stderr: both in stdout's file, in order.
    wait_file(&w.join("redirect.out"), "out-redirect\nerr-redirect\n");
    assert!(!l.join("redirect-stderr.log").exists());
    assert!(!l.join("paths-stdout.log").exists());
    // Discarded output makes no file.
    assert!(!l.join("discard-stdout.log").exists());
    assert!(!l.join("discard-stderr.log").exists());
    // /dev/null goes straight to the descriptor; NONE discards too.
    let pid = sv.pid("discard").unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/fd/2")).unwrap(),
        Path::new("/dev/null")
    );
}

// ------------------------------------------------------ the file format

#[test]
fn configparser_fine_points() {
    let sv = Sv::new(N);
    let w = sv.work.path().to_path_buf();
    std::fs::create_dir(w.join("conf.d")).unwrap();
    std::fs::write(
        w.join("conf.d/inc.conf"),
        "[program:included]\ncommand=/bin/sh -c 'echo \"%(here)s\" > included.here; exec sleep 60'\nstartsecs=0\n",
    )
    .unwrap();
    std::fs::write(
        w.join("conf.d/skip.txt"),
        "[program:notme]\ncommand=/bin/true\n",
    )
    .unwrap();
    let conf = [
        "; a comment",
        "# another comment",
        "[program:fine]",
        "command = /bin/sh -c 'echo \"$A|$B|$C|$D|$E|$F\" > fine.env; exec sleep 60' ; a comment",
        "startsecs = 0",
        "autostart = Yes",
        "environment = A=100%%,",
        "  B=\"x, y\",",
        "\tC=%(ENV_SVTEST_VAR)s,D=%(program_name)s;kept,",
        "  E=%(host_node_name)s,F=%(here)s",
        "stopsignal = KILL",
        "stopsignal = USR1",
        "[program:g1]",
        "command=/bin/sh -c 'echo %(group_name)s > g1.grp; exec sleep 60'",
        "startsecs=0",
        "[program:g2]",
        "command=/bin/sleep 60",
        "startsecs=0",
        "autostart=off",
        "[group:grp]",
        "programs=g1,g2",
        "[include]",
        "files = conf.d/*.conf",
    ]
    .join("\r\n")
        + "\r\n";
    let path = sv.write_conf(&conf);
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.starts_with(&format!(
            "error: {}:7: %(ENV_SVTEST_VAR)s in environment of [program:fine]: ",
            path.display()
        )),
        "{r:?}"
    );
    let out = sv
        .command()
        .args(["check".as_ref(), "-c".as_ref(), path.as_os_str()])
        .env("SVTEST_VAR", "from-env")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let listed: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(listed, ["fine", "g1", "g2", "included"], "{out}");

    let sv = launch(sv, &conf, &[("SVTEST_VAR", "from-env")]);
    for n in ["fine", "grp:g1", "included"] {
        sv.wait_state(n, "RUNNING", 10);
    }
    assert_eq!(sv.state("grp:g2").unwrap().0, "STOPPED");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    wait_file(
        &w.join("fine.env"),
        &format!(
            "100%|x, y|from-env|fine;kept|{}|{}\n",
            host.trim(),
            w.display()
        ),
    );
    wait_file(&w.join("g1.grp"), "grp\n");
    wait_file(
        &w.join("included.here"),
        &format!("{}\n", w.join("conf.d").display()),
    );
    // The last stopsignal wins.
    let r = sv.sv(&["stop", "fine"]);
    r.ok();
    assert_eq!(sv.state("fine").unwrap().1, "Stopped (killed by SIGUSR1)");
    // grp:* targets the group's members; like `all`, it passes over g2,
    // never started (supervisorctl does too).
    let r = sv.sv(&["stop", "grp:*"]);
    assert_eq!(r.ok(), "grp:g1: stopped\n");
    assert_eq!(r.stderr, "");
    let r = sv.sv(&["start", "grp:*"]);
    assert_eq!(r.ok(), "grp:g1: started\ngrp:g2: started\n");
}

#[test]
fn config_errors_name_file_and_line() {
    let sv = Sv::new(N);
    let cases: &[(&str, usize)] = &[
        ("[program:a]\ncommand=/bin/true\nautostart=maybe\n", 3),
        ("[program:a]\ncommand=/bin/true\numask=089\n", 3),
        ("[program:a]\ncommand=/bin/true\nstopsignal=NOPE\n", 3),
        ("[program:a]\ncommand=/bin/true\nautorestart=sometimes\n", 3),
        ("[program:a]\ncommand=/bin/true\nstdout_maxbytes=lots\n", 3),
        (
            "[program:a]\ncommand=/bin/true\n[program:a]\ncommand=/bin/true\n",
            3,
        ),
        (
            "[program:a]\ncommand=/bin/true\n[group:g]\nprograms=a,zzz\n",
            4,
        ),
        ("[nonsense]\nx=1\n", 1),
        ("[program:a]\ncommand='unclosed\n", 2),
    ];
    for (conf, line) in cases {
        let path = sv.write_conf(conf);
        let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
        assert_eq!(r.code, 1, "{conf:?} accepted: {r:?}");
        assert!(
            r.stderr
                .starts_with(&format!("error: {}:{line}: ", path.display())),
            "{conf:?}: {r:?}"
        );
    }
}

#[test]
fn environment_entry_without_equals_is_an_error() {
    let sv = Sv::new(N);
    let path = sv.write_conf("[program:a]\ncommand=/bin/true\nenvironment=A=1,NOEQUALS\n");
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 1, "accepted: {r:?}");
    assert!(
        r.stderr
            .starts_with(&format!("error: {}:3: ", path.display())),
        "{r:?}"
    );
}

/// A daemon running as `nobody` (the test is root): its runtime and work
/// dirs handed to nobody first.
fn launch_as_nobody(mut sv: Sv, conf: &str) -> Sv {
    use std::os::unix::process::CommandExt;
    let path = sv.write_conf(conf);
    for dir in [sv.runtime.path(), sv.work.path()] {
        let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        // SAFETY: chown of this test's own temp dir.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    }
    let err = std::fs::File::create(sv.work.path().join("daemon.err")).expect("daemon.err");
    let child = sv
        .command()
        .args(["daemon", &N.to_string(), "-c"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(err)
        .uid(65534)
        .gid(65534)
        .spawn()
        .expect("spawn sv daemon as nobody");
    sv.child = Some(child);
    sv.wait_ready();
    sv
}

#[test]
fn user_under_a_non_root_daemon_fails_with_the_reason() {
    if !is_root() {
        eprintln!("skipped: needs root to start a daemon as nobody");
        return;
    }
    let sv = launch_as_nobody(
        Sv::new(N),
        concat!(
            "[program:asroot]\ncommand=/bin/sleep 60\nuser=root\nstartsecs=0\n",
            "[program:ghost]\ncommand=/bin/sleep 60\nuser=no_such_user_sv\nstartsecs=0\n",
            "[program:plain]\ncommand=/bin/sleep 60\nstartsecs=0\n",
        ),
    );
    sv.wait_state("plain", "RUNNING", 10);
    assert_eq!(
        sv.wait_state("asroot", "FATAL", 10),
        "spawn error: cannot run as root: the daemon is not root"
    );
    assert_eq!(
        sv.wait_state("ghost", "FATAL", 10),
        "spawn error: no such user: no_such_user_sv"
    );
    let pid = sv.pid("plain").unwrap();
    assert_eq!(proc_status(pid, "Uid"), "65534 65534 65534 65534");
}

#[test]
fn user_naming_the_daemons_own_user_runs() {
    if !is_root() {
        eprintln!("skipped: needs root to start a daemon as nobody");
        return;
    }
    let sv = launch_as_nobody(
        Sv::new(N),
        "[program:same]\ncommand=/bin/sleep 60\nuser=nobody\nstartsecs=0\n",
    );
    let mut last = None;
    let ok = wait_until(10, || {
        last = sv.state("same");
        last.as_ref()
            .is_some_and(|(s, _)| s == "RUNNING" || s == "FATAL")
    });
    assert!(ok, "{last:?}");
    assert_eq!(last.unwrap().0, "RUNNING", "{:?}", sv.state("same"));
    let pid = sv.pid("same").unwrap();
    assert_eq!(proc_status(pid, "Uid"), "65534 65534 65534 65534");
}
