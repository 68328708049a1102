//! SPEC §4.2: `--json` has one shape, an array of services for every
//! listing (one target too), with `null` for what is absent; a bad name
//! among good ones is reported and the good ones still shown; `init` on a
//! running instance says so in one line.

mod common;

use common::Sv;

const N: u8 = 23;

/// A daemon with `idle` (never started) and `run` (RUNNING).
fn daemon() -> Sv {
    let mut sv = Sv::new(N);
    let conf = "[program:idle]\ncommand=/bin/sleep 60\nautostart=false\n\n\
                [program:run]\ncommand=/bin/sleep 60\nstartsecs=0\n";
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv.wait_state("run", "RUNNING", 10);
    sv
}

/// The objects of a JSON array printed on one line, as text.
#[track_caller]
fn objects(out: &str) -> Vec<String> {
    let t = out.trim();
    assert!(
        t.starts_with("[{") && t.ends_with("}]"),
        "not an array: {t}"
    );
    t[2..t.len() - 2].split("},{").map(str::to_string).collect()
}

#[test]
fn every_listing_is_an_array_with_null_for_what_is_absent() {
    let sv = daemon();
    for args in [
        &["service-status", "idle", "--json"][..],
        &["status", "idle", "--json"][..],
        &["service-status", "idle", "run", "--json"][..],
        &["status", "--json"][..],
        &["list-supervisor", "--json"][..],
    ] {
        let r = sv.sv(args);
        let objs = objects(r.ok());
        let idle = objs
            .iter()
            .find(|o| o.contains("\"name\":\"idle\""))
            .unwrap_or_else(|| panic!("{args:?}: {r:?}"));
        for want in ["\"pid\":null", "\"uptime_secs\":null", "\"last_exit\":null"] {
            assert!(idle.contains(want), "{args:?}: {want} missing: {idle}");
        }
        if let Some(run) = objs.iter().find(|o| o.contains("\"name\":\"run\"")) {
            let pid = sv.pid("run").expect("run has a pid");
            assert!(run.contains(&format!("\"pid\":{pid}")), "{run}");
            assert!(run.contains("\"uptime_secs\":"), "{run}");
            assert!(!run.contains("\"uptime_secs\":null"), "{run}");
        }
    }
    // One target: an array of one, like any other listing.
    assert_eq!(
        objects(sv.sv(&["service-status", "run", "--json"]).ok()).len(),
        1
    );
}

#[test]
fn a_stopped_service_keeps_its_last_exit_and_loses_its_pid() {
    let sv = daemon();
    sv.sv(&["stop", "run"]).ok();
    let r = sv.sv(&["service-status", "run", "--json"]);
    let o = &objects(r.ok())[0];
    assert!(o.contains("\"pid\":null"), "{o}");
    assert!(o.contains("\"uptime_secs\":null"), "{o}");
    assert!(o.contains("\"last_exit\":\"killed by SIGTERM\""), "{o}");
}

#[test]
fn list_supervisors_json_has_null_for_no_config() {
    let sv = Sv::init(N);
    let r = sv.run(&["list-supervisors", "--json"]);
    let objs = objects(r.ok());
    assert_eq!(objs.len(), 1, "{r:?}");
    assert!(objs[0].contains("\"config\":null"), "{r:?}");
}

#[test]
fn a_bad_name_is_reported_and_the_good_ones_still_shown() {
    let sv = daemon();
    let r = sv.sv(&["service-status", "bad", "run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr, "sv: no such service: bad\n");
    assert!(r.stdout.starts_with("name:      run\n"), "{r:?}");

    let r = sv.sv(&["status", "bad", "run", "idle"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr, "sv: no such service: bad\n");
    let names: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["run", "idle"], "{r:?}");

    let r = sv.sv(&["service-status", "run", "bad", "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(objects(&r.stdout).len(), 1, "{r:?}");
}

#[test]
fn init_on_a_running_instance_says_so_in_one_line() {
    let sv = Sv::init(N);
    let pid: u32 = std::fs::read_to_string(sv.runtime.path().join(N.to_string()).join("lock"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let r = sv.run(&["init", "-i", &N.to_string()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        format!("sv init: supervisor {N} is already running (pid {pid})\n")
    );
}
