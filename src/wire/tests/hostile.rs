//! Hostile input at the boundaries: cut, oversized, trailing, huge lengths,
//! invalid UTF-8 and unknown variants are refused, never a panic.
use super::*;

// ---------------------------------------------------------------------------
// 3. Hostile input
// ---------------------------------------------------------------------------

fn assert_malformed<T: DeBin + Debug>(body: &[u8], what: &str) {
    match decode::<T>(body) {
        Err(FrameError::Malformed(_)) => {}
        other => panic!("{what}: expected Malformed, got {other:?}"),
    }
}

#[test]
fn every_prefix_of_a_frame_is_incomplete() {
    for frame in all_frames() {
        for n in 0..frame.len() {
            assert_eq!(split(&frame[..n]), Ok(None), "prefix {n} of {frame:?}");
        }
        assert!(split(&frame).unwrap().is_some());
    }
}

#[test]
fn every_cut_body_is_malformed() {
    for req in all_requests() {
        let frame = encode(&req);
        let body = body_of(&frame);
        for n in 0..body.len() {
            assert_malformed::<Request>(&body[..n], &format!("{req:?} cut at {n}"));
            // Also as a well-formed frame whose body is simply short.
            let short = frame_of(&body[..n]);
            let (b, used) = split(&short).unwrap().unwrap();
            assert_eq!(used, short.len());
            assert_malformed::<Request>(b, &format!("{req:?} framed cut at {n}"));
        }
    }
    for resp in all_responses() {
        let frame = encode(&resp);
        let body = body_of(&frame);
        // The big Bytes sample: every cut would be quadratic; sample them.
        let step = if body.len() > 4096 { 997 } else { 1 };
        for n in (0..body.len()).step_by(step) {
            assert_malformed::<Response>(&body[..n], &format!("{resp:?} cut at {n}"));
        }
    }
}

#[test]
fn oversized_length_is_refused_from_the_header_alone() {
    let over = (MAX_FRAME + 1) as u32;
    assert_eq!(
        split(&over.to_le_bytes()),
        Err(FrameError::TooLarge(MAX_FRAME as u64 + 1))
    );
    assert_eq!(
        split(&u32::MAX.to_le_bytes()),
        Err(FrameError::TooLarge(u32::MAX as u64))
    );
    // With some of the body present: still refused.
    let mut buf = u32::MAX.to_le_bytes().to_vec();
    buf.extend_from_slice(&[1, 0, 0]);
    assert_eq!(split(&buf), Err(FrameError::TooLarge(u32::MAX as u64)));
    // Exactly MAX_FRAME is allowed and just waits for the body.
    assert_eq!(split(&(MAX_FRAME as u32).to_le_bytes()), Ok(None));
    // Fewer than 4 bytes of a huge header: nothing to say yet.
    assert_eq!(split(&[0xff, 0xff, 0xff]), Ok(None));
}

#[test]
fn frame_of_exactly_max_size_is_accepted() {
    // Bytes body: u16 variant + u64 length + n bytes, plus the version byte.
    let n = MAX_FRAME - 1 - 2 - 8;
    let resp = Response::Bytes(List(vec![0xab; n]));
    let frame = encode(&resp);
    assert_eq!(frame.len(), 4 + MAX_FRAME);
    let (body, used) = split(&frame).unwrap().unwrap();
    assert_eq!(used, frame.len());
    assert_eq!(decode::<Response>(body).unwrap(), resp);
    let mut r = Cursor::new(frame);
    assert_eq!(read_msg::<Response>(&mut r).unwrap(), Some(resp));

    // One more byte is over the limit.
    let frame = encode(&Response::Bytes(List(vec![0xab; n + 1])));
    assert_eq!(
        split(&frame),
        Err(FrameError::TooLarge(MAX_FRAME as u64 + 1))
    );
    let err = read_msg::<Response>(&mut Cursor::new(frame)).unwrap_err();
    assert_eq!(
        frame_error(&err),
        &FrameError::TooLarge(MAX_FRAME as u64 + 1)
    );
}

#[test]
fn zero_length_is_empty() {
    assert_eq!(split(&[0, 0, 0, 0]), Err(FrameError::Empty));
    assert_eq!(split(&[0, 0, 0, 0, 1, 0, 0]), Err(FrameError::Empty));
}

#[test]
fn wrong_version_is_refused() {
    let mut frame = encode(&Request::Ping);
    for v in [0u8, 2, 3, 0x7f, 0xff] {
        frame[4] = v;
        assert_eq!(split(&frame), Err(FrameError::BadVersion(v)));
    }
    // A one-byte frame holding only a bad version byte.
    assert_eq!(split(&[1, 0, 0, 0, 9]), Err(FrameError::BadVersion(9)));
}

#[test]
fn empty_body_and_garbage_are_malformed() {
    // A frame of just the version byte.
    let (body, used) = split(&[1, 0, 0, 0, 1]).unwrap().unwrap();
    assert_eq!((body, used), (&[][..], 5));
    assert_malformed::<Request>(body, "empty body");
    assert_malformed::<Response>(body, "empty body");
    assert_malformed::<Request>(&[0], "one byte");
    assert_malformed::<Request>(&[0xff, 0xff], "variant 65535");
    assert_malformed::<Request>(&[0xde, 0xad, 0xbe, 0xef, 0x01], "garbage");
    assert_malformed::<Response>(&[0xff; 64], "all ones");
    assert_malformed::<Response>(&[0x03, 0x00, 0xff, 0xff], "Status with a short length");
}

#[test]
fn trailing_bytes_are_malformed() {
    for req in all_requests() {
        let frame = encode(&req);
        let mut body = body_of(&frame).to_vec();
        body.push(0);
        match decode::<Request>(&body) {
            Err(FrameError::Malformed(why)) => {
                assert!(why.contains("1 bytes left over"), "{why}")
            }
            other => panic!("{req:?} + 1 byte: {other:?}"),
        }
        // As a frame whose length covers the extra byte.
        let f = frame_of(&body);
        let (b, _) = split(&f).unwrap().unwrap();
        assert_malformed::<Request>(b, "framed trailing byte");
    }
    let mut body = body_of(&encode(&Response::Ok(t("x")))).to_vec();
    body.extend_from_slice(&[1, 2, 3]);
    assert_malformed::<Response>(&body, "Ok + 3 bytes");
}

#[test]
fn huge_text_lengths_are_malformed() {
    let lengths = [
        u64::MAX,
        1 << 40,
        (usize::MAX - 3) as u64,
        usize::MAX as u64,
        i64::MAX as u64,
        (i64::MAX as u64) + 1,
        // Just one more than is there.
        6,
    ];
    for len in lengths {
        // Response::Ok(Text) with five bytes of text present.
        let mut body = u16le(0).to_vec();
        body.extend_from_slice(&u64le(len));
        body.extend_from_slice(b"hello");
        assert_malformed::<Response>(&body, &format!("Ok text len {len}"));

        // A Text inside a list inside Request::Status.
        let mut body = u16le(6).to_vec();
        body.extend_from_slice(&u64le(1));
        body.extend_from_slice(&u64le(len));
        body.extend_from_slice(b"hello");
        assert_malformed::<Request>(&body, &format!("Status target len {len}"));

        // CreateSpec.cwd after an empty argv and a None name.
        let mut body = u16le(3).to_vec();
        body.extend_from_slice(&u64le(0));
        body.push(0);
        body.extend_from_slice(&u64le(len));
        body.extend_from_slice(b"hello");
        assert_malformed::<Request>(&body, &format!("cwd len {len}"));

        // A Text decoded on its own.
        let mut body = u64le(len).to_vec();
        body.extend_from_slice(b"hello");
        assert_malformed::<Text>(&body, &format!("Text len {len}"));
    }
}

#[test]
fn huge_list_lengths_are_malformed() {
    for len in [
        u64::MAX,
        1 << 40,
        (usize::MAX - 3) as u64,
        1 << 32,
        1_000_000,
    ] {
        // Request::Status(List<Text>)
        let mut body = u16le(6).to_vec();
        body.extend_from_slice(&u64le(len));
        body.extend_from_slice(&u64le(1));
        body.push(b'a');
        assert_malformed::<Request>(&body, &format!("Status list len {len}"));

        // Response::Bytes(List<u8>)
        let mut body = u16le(5).to_vec();
        body.extend_from_slice(&u64le(len));
        body.extend_from_slice(&[1, 2, 3]);
        assert_malformed::<Response>(&body, &format!("Bytes len {len}"));

        // Response::Status(List<ServiceInfo>)
        let mut body = u16le(3).to_vec();
        body.extend_from_slice(&u64le(len));
        body.extend_from_slice(&[0; 16]);
        assert_malformed::<Response>(&body, &format!("rows len {len}"));

        // CreateSpec.settings, the last field.
        let mut body = u16le(3).to_vec();
        body.extend_from_slice(&u64le(0)); // argv
        body.push(0); // name
        body.extend_from_slice(&u64le(0)); // cwd
        body.extend_from_slice(&[0, 0, 0]); // delay, restarts, stopped
        body.extend_from_slice(&u64le(len));
        assert_malformed::<Request>(&body, &format!("settings len {len}"));
    }
    // A Bytes length equal to the bytes left is fine; one more is not.
    let mut body = u16le(5).to_vec();
    body.extend_from_slice(&u64le(3));
    body.extend_from_slice(&[1, 2, 3]);
    assert_eq!(
        decode::<Response>(&body).unwrap(),
        Response::Bytes(List(vec![1, 2, 3]))
    );
    body[2] = 4;
    assert_malformed::<Response>(&body, "Bytes len 4 of 3");
    // A list of Texts whose length fits the bytes but whose items do not.
    let mut body = u16le(6).to_vec();
    body.extend_from_slice(&u64le(16));
    body.extend_from_slice(&[0; 16]);
    assert_malformed::<Request>(&body, "16 targets in 16 bytes");
}

#[test]
fn invalid_utf8_is_malformed() {
    let bad: [&[u8]; 7] = [
        &[0xc3, 0x28],             // bad continuation
        &[0xff],                   // never valid
        &[0xc0, 0x80],             // overlong NUL
        &[0xed, 0xa0, 0x80],       // UTF-16 surrogate
        &[0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
        &[b'a', 0xe2, 0x82],       // cut multi-byte sequence
        &[0x80, b'a'],             // lone continuation
    ];
    for bytes in bad {
        let mut body = u16le(0).to_vec(); // Response::Ok
        body.extend_from_slice(&u64le(bytes.len() as u64));
        body.extend_from_slice(bytes);
        assert_malformed::<Response>(&body, &format!("Ok({bytes:?})"));

        let mut body = u16le(6).to_vec(); // Request::Status
        body.extend_from_slice(&u64le(2));
        body.extend_from_slice(&u64le(2));
        body.extend_from_slice(b"ok");
        body.extend_from_slice(&u64le(bytes.len() as u64));
        body.extend_from_slice(bytes);
        assert_malformed::<Request>(&body, &format!("Status(ok, {bytes:?})"));
    }
    // A length that splits "é" leaves invalid UTF-8 (and a trailing byte).
    let mut body = u16le(0).to_vec();
    body.extend_from_slice(&u64le(1));
    body.extend_from_slice("é".as_bytes());
    assert_malformed::<Response>(&body, "half of é");
}

#[test]
fn unknown_variants_are_malformed() {
    for v in [REQUEST_VARIANTS, REQUEST_VARIANTS + 1, 999, u16::MAX] {
        assert_malformed::<Request>(&u16le(v), &format!("Request variant {v}"));
        let mut body = u16le(v).to_vec();
        body.extend_from_slice(&[0; 32]);
        assert_malformed::<Request>(&body, &format!("Request variant {v} + zeros"));
    }
    for v in [RESPONSE_VARIANTS, 999, u16::MAX] {
        let mut body = u16le(v).to_vec();
        body.extend_from_slice(&[0; 32]);
        assert_malformed::<Response>(&body, &format!("Response variant {v}"));
    }
    for v in [ACTION_VARIANTS, 999, u16::MAX] {
        let mut body = u16le(5).to_vec(); // Request::Act
        body.extend_from_slice(&u16le(v));
        body.extend_from_slice(&u64le(0));
        assert_malformed::<Request>(&body, &format!("Action variant {v}"));
    }
    // The last known ones still decode (the boundary is where we think).
    assert_eq!(
        decode::<Request>(&nanoserde::SerBin::serialize_bin(&Request::Avail)).unwrap(),
        Request::Avail
    );
    assert_eq!(
        nanoserde::SerBin::serialize_bin(&Request::Avail)[..2],
        u16le(REQUEST_VARIANTS - 1)
    );
    let mut body = u16le(5).to_vec();
    body.extend_from_slice(&u16le(ACTION_VARIANTS - 1));
    body.extend_from_slice(&(-2i32).to_le_bytes());
    body.extend_from_slice(&u64le(0));
    assert_eq!(
        decode::<Request>(&body).unwrap(),
        Request::Act(Action::Signal(-2), texts(&[]))
    );
}
