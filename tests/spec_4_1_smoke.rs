//! A first end-to-end check: create, status, stop, close.
mod common;
use common::*;

#[test]
fn create_status_stop_close() {
    let mut sv = Sv::daemon(4);
    let r = sv.run(&["create-service", "/bin/sleep", "60", "-r", "3", "-i", "4"]);
    assert!(r.ok().starts_with("sleep: started, pid "), "{r:?}");
    sv.wait_state("sleep", "RUNNING", 10);
    let pid = sv.pid("sleep").expect("pid");
    assert!(alive(pid));
    let r = sv.sv(&["stop", "sleep"]);
    assert_eq!(r.ok(), "sleep: stopped\n");
    assert!(wait_until(5, || !alive(pid)));
    let r = sv.close();
    assert_eq!(r.ok(), "supervisor 4: stopped\n");
}

/// A test that cannot run here is reported, never a silent pass: one
/// `SKIPPED: FILE::TEST: REASON` line per skip in the file CI lists
/// (`$SV_SKIP_LOG`, see scripts/ci.sh).
#[test]
fn a_skip_is_recorded_with_the_test_and_the_reason() {
    let dir = TempDir::new("skips");
    let log = dir.path().join("skips");
    skip_to(Some(&log), "a check of the skip report itself");
    skip_to(Some(&log), "and a second one");
    let me = "spec_4_1_smoke::a_skip_is_recorded_with_the_test_and_the_reason";
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!(
            "SKIPPED: {me}: a check of the skip report itself\n\
             SKIPPED: {me}: and a second one\n"
        )
    );
}
