//! `[eventlistener:x]` (SPEC §14): a program's keys plus events,
//! buffer_size and result_handler, checked as supervisord checks them.

use super::*;
use crate::core::events::types::{bit, mask_of};
use crate::core::spec::OutputSpec;

#[test]
fn a_listener_pool_is_its_processes_with_the_pool_settings() {
    let c = parse_str(
        "[eventlistener:crash]\ncommand=crashmail -a\nevents=PROCESS_STATE_EXITED, tick_60\n\
         numprocs=2\nprocess_name=%(program_name)s_%(process_num)s\nbuffer_size=3\n\
         result_handler=supervisor.dispatchers:default_handler\nstdout_logfile=/tmp/x\n",
    )
    .unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(names(&c), ["crash_0", "crash_1"]);
    for p in processes(&c) {
        let conf = p.listener.as_deref().unwrap();
        assert_eq!(conf.events, bit(1) | bit(16));
        assert_eq!(conf.buffer_size, 3);
        assert_eq!(p.program.as_deref(), Some("crash"));
        // Started first, stopped last (its group's -1, its own 999, as
        // supervisord's `avail` shows); stdout is the protocol.
        assert_eq!((p.rank(), p.priority), (-1, 999));
        assert_eq!(p.stdout, OutputSpec::Discard);
    }
    let p = one("[eventlistener:e]\ncommand=/bin/l\nevents=EVENT\npriority=5\n");
    let conf = p.listener.clone().unwrap();
    assert_eq!(
        (conf.events, conf.buffer_size),
        (mask_of("EVENT").unwrap(), 10)
    );
    assert_eq!((p.rank(), p.priority), (5, 5));
    assert!(one("[program:p]\ncommand=/bin/p\n").listener.is_none());
}

#[test]
fn bad_listener_settings_are_errors_with_file_and_line() {
    let e = err("[eventlistener:e]\ncommand=/bin/l\nevents=PROCESS_STATE,PROCES_LOG\n");
    assert_eq!(
        e,
        "config:3: unknown event type PROCES_LOG in [eventlistener:e] events; \
         did you mean PROCESS_LOG?"
    );
    // supervisord: "Unknown event type  in [eventlistener:e] events".
    let e = err("[eventlistener:e]\ncommand=/bin/l\nevents=TICK_5,\n");
    assert_eq!(
        e,
        "config:3: unknown event type  in [eventlistener:e] events \
         (an empty name: a comma too many?)"
    );
    let e = err("[eventlistener:e]\ncommand=/bin/l\n");
    assert!(
        e.starts_with("config:1: [eventlistener:e] requires an events line"),
        "{e}"
    );
    let e = err("[eventlistener:e]\ncommand=/bin/l\nevents=TICK_5\nbuffer_size=0\n");
    assert!(
        e.starts_with("config:4: buffer_size in [eventlistener:e]"),
        "{e}"
    );
    let e = err("[eventlistener:e]\ncommand=/bin/l\nevents=TICK_5\nresult_handler=my:handler\n");
    assert!(
        e.starts_with("config:4: result_handler in [eventlistener:e]: only"),
        "{e}"
    );
    let e = err("[eventlistener:e]\ncommand=/bin/l\nevents=TICK_5\nredirect_stderr=true\n");
    assert!(
        e.starts_with("config:4: [eventlistener:e] sets redirect_stderr=true"),
        "{e}"
    );
    // The keys are a listener's only.
    let c = parse_str("[program:p]\ncommand=/bin/p\nevents=TICK_5\n").unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
}
