//! Issue 14's drop-in gaps, SPEC §8 with §13: a program sv started from
//! its config, still running after a `kill -9` of the daemon, but gone from
//! the config the next daemon reads. supervisord would not have it at all,
//! so the next daemon takes it back as its own and stops it by its stop
//! rules, then drops it: it is neither left running unsupervised nor kept
//! as an adopted process that `remove` and `shutdown` cannot touch.
mod common;
mod crash_harness;
use common::*;
use crash_harness::*;

#[test]
fn a_program_gone_from_the_config_after_a_crash_is_stopped_and_dropped() {
    let (k, g) = (uniq(1401), uniq(1402));
    let conf = format!(
        "[program:keep]\ncmd=/bin/sleep {k}\nstartsecs=0\n\n\
         [program:gone]\ncmd=/bin/sleep {g}\nstartsecs=0\n"
    );
    let mut c = Crashy::new(Some(&conf));
    c.sv.wait_state("keep", "RUNNING", 10);
    c.sv.wait_state("gone", "RUNNING", 10);
    let keep = c.pid("keep");
    let gone = c.pid("gone");
    c.crash();
    assert!(alive(gone), "gone died with the daemon");
    std::fs::write(
        c.conf.as_ref().unwrap(),
        format!("[program:keep]\ncmd=/bin/sleep {k}\nstartsecs=0\n"),
    )
    .unwrap();
    c.boot();
    assert!(
        wait_until(10, || !alive(gone)),
        "a program no longer in the config was left running: {:?}",
        c.sv(&["status"])
    );
    assert!(
        wait_until(10, || c.names() == vec!["keep".to_string()]),
        "it is still listed: {:?}",
        c.names()
    );
    assert_eq!(c.sv.pid("keep"), Some(keep), "keep was started twice");
    assert_eq!(sleeps(&k), vec![keep]);
    let log = c.log(2);
    assert!(
        log.contains("gone: no longer in the config"),
        "the daemon does not say why it stopped gone: {log}"
    );
    c.close();
    assert!(sleeps(&k).is_empty(), "close left keep running");
}
