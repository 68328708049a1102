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
