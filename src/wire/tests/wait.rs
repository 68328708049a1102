//! `Request::Wait` (`sv wait`): its bytes pinned by hand, every condition
//! round-tripped, and an unknown condition refused.
use super::*;

#[test]
fn wait_bytes_pinned_by_hand() {
    let mut want = Vec::new();
    want.extend_from_slice(&u16le(10)); // Request::Wait
    want.extend_from_slice(&u64le(2)); // two targets
    want.extend_from_slice(&u64le(3));
    want.extend_from_slice(b"web");
    want.extend_from_slice(&u64le(2));
    want.extend_from_slice(b"db");
    want.extend_from_slice(&u16le(2)); // WaitFor::Completed
    let req = Request::Wait(WaitSpec {
        targets: texts(&["web", "db"]),
        until: WaitFor::Completed,
    });
    assert_eq!(encode(&req), frame_of(&want));
}

#[test]
fn every_condition_round_trips() {
    for (i, until) in [WaitFor::Running, WaitFor::Stopped, WaitFor::Completed]
        .into_iter()
        .enumerate()
    {
        let frame = roundtrip(&until);
        assert_eq!(body_of(&frame), u16le(i as u16));
        roundtrip(&Request::Wait(WaitSpec {
            targets: texts(&["all"]),
            until,
        }));
    }
    assert_eq!(WaitSpec::default().until, WaitFor::Running);
}

#[test]
fn unknown_condition_is_malformed() {
    let mut body = u16le(10).to_vec();
    body.extend_from_slice(&u64le(0));
    body.extend_from_slice(&u16le(3));
    assert!(decode::<Request>(&body).is_err());
    // A cut one too.
    assert!(decode::<Request>(&body[..body.len() - 1]).is_err());
}
