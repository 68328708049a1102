//! The bus with real pipes: what a listener reads, its answers, the queue.

use super::*;
use crate::core::sys;

const ALL: u32 = (1 << types::NAMES.len()) - 1;

/// A listener's ends: what it reads (our stdin end's other side) and
/// where it writes (our stdout end's other side).
struct Peer {
    reads: OwnedFd,
    writes: OwnedFd,
}

impl Peer {
    fn say(&self, s: &str) {
        // SAFETY: writing our buffer to our pipe.
        let n = unsafe { libc::write(self.writes.as_raw_fd(), s.as_ptr().cast(), s.len()) };
        assert_eq!(n as usize, s.len());
    }

    /// Everything sent to it so far.
    fn heard(&self) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            // SAFETY: reading into our buffer from our pipe.
            let n =
                unsafe { libc::read(self.reads.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        String::from_utf8(out).unwrap()
    }
}

fn bus(buffer_size: usize) -> Bus {
    let mut b = Bus {
        ident: "supervisor".into(),
        ..Default::default()
    };
    let conf = PoolConf {
        events: ALL,
        buffer_size,
    };
    b.member_added(1, "l", "pool", &conf);
    b
}

/// Member 1 gets fresh pipes and runs.
fn attach(b: &mut Bus) -> Peer {
    let (in_r, in_w) = sys::pipe().unwrap();
    let (out_r, out_w) = sys::pipe().unwrap();
    for fd in [&in_w, &out_r, &in_r] {
        sys::set_nonblocking(fd).unwrap();
    }
    b.attach(1, in_w, out_r);
    b.set_running(1, true);
    Peer {
        reads: in_r,
        writes: out_w,
    }
}

fn remote(b: &mut Bus, data: &str) {
    b.raise(types::REMOTE_COMMUNICATION, || format!("type:t\n{data}"));
}

#[test]
fn an_event_goes_to_a_ready_listener_and_again_after_fail() {
    let mut b = bus(10);
    let peer = attach(&mut b);
    remote(&mut b, "h\u{e9}");
    b.send();
    assert_eq!(peer.heard(), "", "not READY yet");
    peer.say("READY\n");
    b.readable(1);
    b.send();
    let first = "ver:3.0 server:supervisor serial:0 pool:pool poolserial:0 \
                 eventname:REMOTE_COMMUNICATION len:9\ntype:t\nh\u{e9}";
    assert_eq!(peer.heard(), first);
    // Busy: the next waits.
    remote(&mut b, "2");
    b.send();
    assert_eq!(peer.heard(), "");
    // FAIL: the same event again, first.
    peer.say("RESULT 4\nFAILREADY\n");
    b.readable(1);
    b.send();
    assert_eq!(peer.heard(), first);
    assert!(b.notes.iter().any(|(_, n)| n == "l: event was rejected"));
    peer.say("RESULT 2\nOKREADY\n");
    b.readable(1);
    b.send();
    assert!(peer
        .heard()
        .contains("serial:1 pool:pool poolserial:1 eventname:REMOTE"));
}

#[test]
fn the_event_of_a_listener_that_dies_busy_comes_again() {
    let mut b = bus(10);
    let peer = attach(&mut b);
    peer.say("READY\n");
    b.readable(1);
    remote(&mut b, "x");
    b.send();
    assert!(peer.heard().contains("serial:0"));
    b.process_gone(1);
    let peer = attach(&mut b);
    peer.say("READY\n");
    b.readable(1);
    b.send();
    assert!(peer.heard().contains("serial:0 pool:pool poolserial:0"));
}

#[test]
fn past_buffer_size_the_oldest_is_dropped_and_logged() {
    let mut b = bus(2);
    for _ in 0..3 {
        remote(&mut b, "x");
    }
    let queued: Vec<u64> = b.pools[0].queue.iter().map(|q| q.ev.serial).collect();
    assert_eq!(queued, [1, 2]);
    assert_eq!(
        b.notes,
        [(
            true,
            "pool pool event buffer overflowed, discarding event 0".to_string()
        )]
    );
}

#[test]
fn a_listener_that_does_not_read_keeps_its_envelope_and_the_rest_waits() {
    let mut b = bus(10);
    let peer = attach(&mut b);
    peer.say("READY\n");
    b.readable(1);
    // More than a pipe holds.
    b.process_log("p", "p", 7, Stream::Stdout, &vec![b'a'; 200_000]);
    remote(&mut b, "next");
    b.send();
    assert!(b
        .fds()
        .any(|(_, ev, id, w)| id == 1 && w && ev == libc::POLLOUT));
    assert_eq!(b.pools[0].queue.len(), 1);
    let got = peer.heard();
    let head = "ver:3.0 server:supervisor serial:0 pool:pool poolserial:0 \
                eventname:PROCESS_LOG_STDOUT len:200047\n\
                processname:p groupname:p pid:7 channel:stdout\naaa";
    assert!(got.starts_with(head), "{}", &got[..200]);
    // As the listener reads, the rest goes, and then the next event.
    let mut total = got.len();
    while b.fds().any(|(_, _, _, w)| w) {
        b.writable(1);
        total += peer.heard().len();
    }
    assert_eq!(total, head.len() - 3 + 200_000);
    peer.say("RESULT 2\nOKREADY\n");
    b.readable(1);
    b.send();
    assert!(peer.heard().ends_with("type:t\nnext"));
}

#[test]
fn nobody_subscribed_no_serial_no_payload() {
    let mut b = Bus::default();
    b.raise(types::TICK_5, || unreachable!());
    assert!(!b.wants_process_log() && b.tick_due(Instant::now()).is_none());
    let mut b = bus(10);
    assert!(b.wants_process_log());
    let now = Instant::now();
    let due = b.tick_due(now).unwrap();
    assert!(due > now && due <= now + Duration::from_secs(6));
    b.member_removed(1);
    assert!(b.pools.is_empty() && b.tick_due(now).is_none());
}
