//! The blocking reader and writer: short reads, interrupts, EOF and I/O
//! errors.
use super::*;

// ---------------------------------------------------------------------------
// 4. Blocking reader and writer
// ---------------------------------------------------------------------------

#[test]
fn write_then_read_every_message() {
    let mut out = Vec::new();
    for req in all_requests() {
        write_msg(&mut out, &req).unwrap();
    }
    let expected: Vec<u8> = all_requests().iter().flat_map(encode).collect();
    assert_eq!(out, expected);
    let mut r = Cursor::new(out);
    for req in all_requests() {
        assert_eq!(read_msg::<Request>(&mut r).unwrap(), Some(req));
    }
    assert_eq!(read_msg::<Request>(&mut r).unwrap(), None);
    assert_eq!(read_msg::<Request>(&mut r).unwrap(), None);

    let mut out = Vec::new();
    for resp in all_responses() {
        write_msg(&mut out, &resp).unwrap();
    }
    let mut r = Cursor::new(out);
    for resp in all_responses() {
        assert_eq!(read_msg::<Response>(&mut r).unwrap(), Some(resp));
    }
    assert_eq!(read_msg::<Response>(&mut r).unwrap(), None);
}

#[test]
fn read_clean_eof_is_none() {
    let mut r = Cursor::new(Vec::<u8>::new());
    assert_eq!(read_msg::<Request>(&mut r).unwrap(), None);
}

#[test]
fn read_eof_mid_header_is_truncated() {
    let frame = encode(&Request::Act(Action::Stop, texts(&["web", "db"])));
    for n in 1..4 {
        let err = read_msg::<Request>(&mut Cursor::new(&frame[..n])).unwrap_err();
        assert_eq!(frame_error(&err), &FrameError::Truncated, "cut at {n}");
    }
}

#[test]
fn read_eof_mid_body_is_truncated() {
    let frame = encode(&Response::Status(List(vec![full_service_info()])));
    for n in 4..frame.len() {
        let err = read_msg::<Response>(&mut Cursor::new(&frame[..n])).unwrap_err();
        assert_eq!(frame_error(&err), &FrameError::Truncated, "cut at {n}");
    }
}

#[test]
fn read_oversized_header_does_not_read_the_body() {
    for len in [(MAX_FRAME + 1) as u32, u32::MAX] {
        let mut buf = len.to_le_bytes().to_vec();
        buf.push(PROTOCOL_VERSION);
        buf.extend_from_slice(&[0; 100]);
        let mut r = Cursor::new(buf);
        let err = read_msg::<Request>(&mut r).unwrap_err();
        assert_eq!(frame_error(&err), &FrameError::TooLarge(len as u64));
        assert_eq!(
            r.position(),
            4,
            "read past the header of a {len}-byte frame"
        );
    }
}

#[test]
fn read_zero_length_bad_version_and_malformed() {
    let mut r = Cursor::new(vec![0, 0, 0, 0, 1, 0, 0]);
    let err = read_msg::<Request>(&mut r).unwrap_err();
    assert_eq!(frame_error(&err), &FrameError::Empty);
    assert_eq!(r.position(), 4);

    let mut frame = encode(&Request::Ping);
    frame[4] = 2;
    let err = read_msg::<Request>(&mut Cursor::new(frame)).unwrap_err();
    assert_eq!(frame_error(&err), &FrameError::BadVersion(2));

    // Ping read as a Response: variant 0 is Ok(Text), whose length is missing.
    let err = read_msg::<Response>(&mut Cursor::new(encode(&Request::Ping))).unwrap_err();
    assert!(
        matches!(frame_error(&err), FrameError::Malformed(_)),
        "{err}"
    );

    // Trailing bytes inside the frame.
    let mut body = body_of(&encode(&Request::Ping)).to_vec();
    body.push(7);
    let err = read_msg::<Request>(&mut Cursor::new(frame_of(&body))).unwrap_err();
    assert!(
        matches!(frame_error(&err), FrameError::Malformed(_)),
        "{err}"
    );
}

/// Hands out one byte per read and an `Interrupted` error before each.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    interrupt: bool,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        if self.at == self.data.len() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.data[self.at];
        self.at += 1;
        Ok(1)
    }
}

#[test]
fn read_survives_short_reads_and_interrupts() {
    let mut data = Vec::new();
    let msgs = all_requests();
    for m in &msgs {
        write_msg(&mut data, m).unwrap();
    }
    let mut r = Trickle {
        data,
        at: 0,
        interrupt: false,
    };
    for m in msgs {
        assert_eq!(read_msg::<Request>(&mut r).unwrap(), Some(m));
    }
    assert_eq!(read_msg::<Request>(&mut r).unwrap(), None);
}

struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::ConnectionReset))
    }
}

#[test]
fn read_passes_io_errors_through() {
    let err = read_msg::<Request>(&mut Failing).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    // Mid-body too: a header, then the reader fails.
    let mut r = Cursor::new(vec![10u8, 0, 0, 0]).chain(Failing);
    let err = read_msg::<Request>(&mut r).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[test]
fn frame_errors_display_and_convert() {
    let cases = [
        (FrameError::TooLarge(5_000_000), "5000000"),
        (FrameError::Empty, "length 0"),
        (FrameError::BadVersion(9), "version 9"),
        (FrameError::Malformed("why".into()), "why"),
        (FrameError::Truncated, "closed"),
    ];
    for (e, needle) in cases {
        let text = e.to_string();
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
        let io: io::Error = e.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert_eq!(frame_error(&io), &e);
    }
}
