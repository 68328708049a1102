//! `[group:x]`, and supervisord's own sections read past.

use super::*;

// ---- groups ----

#[test]
fn groups_set_the_group_of_their_programs() {
    let c = parse_str(
        "[program:web]\ncommand=/bin/web\nnumprocs=2\n[program:db]\ncommand=/bin/db\n\
         [program:other]\ncommand=/bin/o\n[group:site]\nprograms = web , db,\npriority=10\n",
    )
    .unwrap();
    assert_eq!(
        c.groups,
        vec![(
            "site".to_string(),
            vec!["web".to_string(), "db".to_string()]
        )]
    );
    let groups: Vec<_> = processes(&c).map(|s| s.group.as_deref()).collect();
    assert_eq!(groups, [Some("site"), Some("site"), Some("site"), None]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // The group's priority orders its programs; a program alone has none.
    let prios: Vec<_> = processes(&c)
        .map(|s| (s.group_priority, s.rank()))
        .collect();
    assert_eq!(
        prios,
        [(Some(10), 10), (Some(10), 10), (Some(10), 10), (None, 999)]
    );
}

#[test]
fn group_errors() {
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprograms=a,b\n");
    assert_eq!(
        e,
        "config:4: [group:g] lists 'b', but there is no [program:b]"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprograms=a\n[group:h]\nprograms=a\n");
    assert!(
        e.starts_with("config:6: [group:h] lists 'a', which is in [group:g] already"),
        "{e}"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprogram=a\n");
    assert_eq!(
        e,
        "config:3: [group:g] has no programs = line (programs = a,b); \
         'program' (line 4) is not a key: did you mean programs?"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\n");
    assert_eq!(
        e,
        "config:3: [group:g] has no programs = line (programs = a,b)"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprograms= ,\n");
    assert_eq!(e, "config:4: programs in [group:g] lists no program");
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprograms=a\npriority=high\n");
    assert_eq!(
        e,
        "config:5: priority in [group:g]: 'high' is not a whole number"
    );
    let e =
        err("[program:a]\ncommand=/bin/a\n[program:b]\ncommand=/bin/b\n[group:a]\nprograms=b\n");
    assert!(
        e.starts_with("config:5: [group:a] has the name of [program:a]"),
        "{e}"
    );
    // A group may share its name with a member.
    parse_str("[program:a]\ncommand=/bin/a\n[group:a]\nprograms=a\n").unwrap();
}

// ---- supervisord's own sections and keys ----

#[test]
fn supervisord_sections_and_keys_are_warnings() {
    let c = parse_str(
        "[unix_http_server]\nfile=/tmp/s.sock\n[supervisord]\nnodaemon=true\nenvironment=A=1\n\
         [supervisorctl]\nserverurl=unix:///tmp/s.sock\n[inet_http_server]\nport=9001\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
         [eventlistener:mem]\ncommand=memmon\nevents=TICK_60\n[fcgi-program:f]\ncommand=/bin/f\n[ctlplugin:p]\nx=y\n\
         [program:a]\ncommand=/bin/a\nnumprocs=2\nstdout_events_enabled=true\nstderr_syslog=true\n",
    )
    .unwrap();
    assert_eq!(
        c.warnings,
        [
            "config:15: [fcgi-program:f] is not used by sv; ignored (its processes are not started)",
            "config:17: [ctlplugin:p] is not used by sv; ignored",
            "config:23: stderr_syslog in [program:a] is not used by sv; ignored",
        ]
    );
    assert_eq!(names(&c), ["mem", "a_00", "a_01"]);
}
