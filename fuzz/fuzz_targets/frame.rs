//! Bytes as they arrive on the control socket: framing, then the body as a
//! request and as a response; and the same bytes as a state file (of
//! the first format, and of the current one with its framing right). Nothing
//! may panic, hang or allocate beyond the input (SPEC §9).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv::wire::{self, frame, Request, Response};

fuzz_target!(|data: &[u8]| {
    // Walk every frame in the buffer, as the daemon's read loop does.
    let mut rest = data;
    while let Ok(Some((body, used))) = frame::split(rest) {
        assert!(
            used > 0 && used <= rest.len(),
            "split used {used} of {}",
            rest.len()
        );
        assert!(body.len() < used);
        if let Ok(req) = wire::decode::<Request>(body) {
            // What decodes re-encodes to something that decodes the same
            // (not byte-for-byte: a bool may arrive as any non-zero byte).
            let again = wire::encode(&req);
            assert_eq!(wire::decode::<Request>(&again[5..]).ok(), Some(req));
        }
        if let Ok(resp) = wire::decode::<Response>(body) {
            let again = wire::encode(&resp);
            assert_eq!(wire::decode::<Response>(&again[5..]).ok(), Some(resp));
        }
        rest = &rest[used..];
    }
    // The body alone too, without needing a well-formed header.
    let _ = wire::decode::<Request>(data);
    let _ = wire::decode::<Response>(data);
    // The state file: with and without its magic line.
    let _ = sv::core::state_file::decode(data);
    let mut with_magic = b"sv state\n".to_vec();
    with_magic.extend_from_slice(data);
    if let Ok(saved) = sv::core::state_file::decode(&with_magic) {
        let again = sv::core::state_file::encode(&saved);
        assert_eq!(sv::core::state_file::decode(&again).ok(), Some(saved));
    }
    // The current state-file framing, with a right length and checksum so
    // the body decoder is reached; then the same with the data as header.
    let mut framed = b"sv state 2\n".to_vec();
    framed.extend_from_slice(&(data.len() as u64).to_le_bytes());
    framed.extend_from_slice(&sv::core::state_file::crc32(data).to_le_bytes());
    framed.extend_from_slice(data);
    if let Ok(saved) = sv::core::state_file::decode(&framed) {
        let again = sv::core::state_file::encode(&saved);
        assert_eq!(sv::core::state_file::decode(&again).ok(), Some(saved));
    }
    let mut headed = b"sv state 2\n".to_vec();
    headed.extend_from_slice(data);
    let _ = sv::core::state_file::decode(&headed);
});
