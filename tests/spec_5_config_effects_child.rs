//! SPEC 5: the config keys that shape the child (command, numprocs and
//! process_name, autostart, directory, environment, umask, user), in both
//! spellings, checked by their effect on a real child
//! (/proc/PID/{cwd,environ,status}, files the child writes).
//!
//! Helpers shared with the other spec_5_config_effects_* files (the
//! instance, a daemon on a config, a file the child writes) are in
//! tests/common/config_effects.rs.
mod common;
use common::config_effects::{launch, start, wait_file, N};
use common::*;
use std::path::Path;
use std::process::Stdio;

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
    assert_eq!(
        names(&sv, &[]),
        ["x:x_00", "x:x_01", "w:w-0", "w:w-1", "w:w-2"]
    );
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
    if !require_root("run a program as another user (user=)") {
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
    if !require_root("start a daemon as nobody") {
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
    if !require_root("start a daemon as nobody") {
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
