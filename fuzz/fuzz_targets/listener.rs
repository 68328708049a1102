//! What an event listener writes on its stdout (SPEC §14), as the daemon
//! takes it: first a listener that is sent an event at each READY, in
//! pieces of any size; then one busy with an event, whose answer comes in
//! one read or in many. Nothing may panic; what the parser holds stays
//! bounded; after a protocol error it says nothing more; and for the busy
//! one the pieces make no difference: the same bytes say the same things.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv::core::events::protocol::{ListenerState, Parser, Said, MAX_LINE};

/// Feeds `data` in pieces of `step` bytes (0: at once); an event is sent
/// at each READY when `send`. What it said, with what a protocol error
/// showed left out (that depends on the pieces).
fn run(p: &mut Parser, data: &[u8], step: usize, send: bool) -> Vec<Said> {
    let mut all = Vec::new();
    let step = if step == 0 { data.len().max(1) } else { step };
    for piece in data.chunks(step) {
        let mut out = Vec::new();
        p.feed(piece, &mut out);
        assert!(p.held() <= MAX_LINE + 8, "held {}", p.held());
        for s in out {
            assert!(!matches!(all.last(), Some(Said::Bad(_))), "{all:?} then {s:?}");
            match s {
                Said::Ready if send && p.state == ListenerState::Ready => p.sent(),
                Said::Bad(_) => assert_eq!(p.state, ListenerState::Unknown),
                _ => {}
            }
            all.push(match s {
                Said::Bad(_) => Said::Bad(String::new()),
                s => s,
            });
        }
    }
    all
}

fn busy() -> Parser {
    let mut p = Parser::default();
    p.feed(b"READY\n", &mut Vec::new());
    p.sent();
    p
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let step = step as usize % 16;
    run(&mut Parser::default(), rest, step, true);
    let whole = run(&mut busy(), rest, 0, false);
    assert_eq!(whole, run(&mut busy(), rest, step, false));
});
