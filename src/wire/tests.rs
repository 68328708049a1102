//! Tests of the wire format: round trips of every message, golden frames that
//! pin the byte layout (variants are append-only), hostile input, and the
//! blocking reader and writer.

use super::frame::{read_msg, split, write_msg};
use super::*;
use nanoserde::{DeBin, SerBin, SerJson};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::io::{self, Cursor, Read};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn t(s: &str) -> Text {
    Text::from(s)
}

fn texts(items: &[&str]) -> List<Text> {
    items.iter().map(|s| Text::from(*s)).collect()
}

/// A frame around `body` built by hand: LE length, version byte, body.
fn frame_of(body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 1) as u32).to_le_bytes().to_vec();
    out.push(PROTOCOL_VERSION);
    out.extend_from_slice(body);
    out
}

/// The body of a frame produced by `encode` (after header and version byte).
fn body_of(frame: &[u8]) -> &[u8] {
    &frame[5..]
}

fn u16le(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn u64le(v: u64) -> [u8; 8] {
    v.to_le_bytes()
}

/// encode, split, decode; the frame must be consumed exactly, the header must
/// count the version byte and the body, and the value must come back equal.
fn roundtrip<T: SerBin + DeBin + PartialEq + Debug>(value: &T) -> Vec<u8> {
    let frame = encode(value);
    assert!(frame.len() >= 5, "frame too short for {value:?}: {frame:?}");
    let header = u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize;
    assert_eq!(header, frame.len() - 4, "length prefix of {value:?}");
    assert_eq!(frame[4], PROTOCOL_VERSION, "version byte of {value:?}");

    let (body, used) = split(&frame)
        .unwrap_or_else(|e| panic!("split failed for {value:?}: {e}"))
        .unwrap_or_else(|| panic!("split wants more bytes for a whole frame of {value:?}"));
    assert_eq!(used, frame.len(), "used for {value:?}");
    assert_eq!(body, body_of(&frame), "body slice for {value:?}");
    let back: T = decode(body).unwrap_or_else(|e| panic!("decode failed for {value:?}: {e}"));
    assert_eq!(&back, value);

    // The same frame followed by more bytes: still exactly one frame used.
    let mut stream = frame.clone();
    stream.extend_from_slice(&frame);
    stream.extend_from_slice(&[9, 9]);
    let (body2, used2) = split(&stream).unwrap().unwrap();
    assert_eq!(used2, frame.len());
    assert_eq!(decode::<T>(body2).unwrap(), *value);
    let (body3, used3) = split(&stream[used2..]).unwrap().unwrap();
    assert_eq!(used3, frame.len());
    assert_eq!(decode::<T>(body3).unwrap(), *value);
    assert_eq!(split(&stream[used2 + used3..]), Ok(None));
    frame
}

/// Position of each variant on the wire. The matches are exhaustive on
/// purpose: a new variant fails to compile here until it gets a number.
fn request_index(r: &Request) -> u16 {
    match r {
        Request::Ping => 0,
        Request::Info => 1,
        Request::Shutdown => 2,
        Request::Create(_) => 3,
        Request::Adopt(_) => 4,
        Request::Act(..) => 5,
        Request::Status(_) => 6,
        Request::Tail(_) => 7,
        Request::Reload => 8,
        Request::CreateWait(_) => 9,
    }
}
const REQUEST_VARIANTS: u16 = 10;

fn action_index(a: &Action) -> u16 {
    match a {
        Action::Start => 0,
        Action::Stop => 1,
        Action::Restart => 2,
        Action::Suspend => 3,
        Action::Resume => 4,
        Action::Remove => 5,
        Action::Cancel => 6,
        Action::Signal(_) => 7,
    }
}
const ACTION_VARIANTS: u16 = 8;

fn response_index(r: &Response) -> u16 {
    match r {
        Response::Ok(_) => 0,
        Response::Error(_) => 1,
        Response::Outcomes(_) => 2,
        Response::Status(_) => 3,
        Response::Info(_) => 4,
        Response::Bytes(_) => 5,
        Response::StatusPart(_) => 6,
        Response::OutcomesPart(_) => 7,
    }
}
const RESPONSE_VARIANTS: u16 = 8;

fn all_actions() -> Vec<Action> {
    vec![
        Action::Start,
        Action::Stop,
        Action::Restart,
        Action::Suspend,
        Action::Resume,
        Action::Remove,
        Action::Cancel,
        Action::Signal(9),
        Action::Signal(0),
        Action::Signal(-15),
        Action::Signal(i32::MIN),
        Action::Signal(i32::MAX),
    ]
}

fn full_create_spec() -> CreateSpec {
    CreateSpec {
        argv: texts(&[
            "/usr/bin/env",
            "python3",
            "-c",
            "print('héllo 世界 🚀')",
            "",
        ]),
        name: Some(t("wörker-1")),
        cwd: t("/home/ünï/project dir"),
        delay_secs: Some(u64::MAX),
        restarts: Some(0),
        stopped: true,
        settings: List(vec![
            Setting {
                key: t("stop_signal"),
                value: t("INT"),
            },
            Setting {
                key: t("env.LANG"),
                value: t("ja_JP.UTF-8"),
            },
            Setting {
                key: t(""),
                value: t(""),
            },
        ]),
    }
}

fn golden_create_spec() -> CreateSpec {
    CreateSpec {
        argv: texts(&["/bin/sleep", "60"]),
        name: None,
        cwd: t("/tmp"),
        delay_secs: None,
        restarts: Some(3),
        stopped: false,
        settings: List(vec![]),
    }
}

fn all_requests() -> Vec<Request> {
    let mut out = vec![
        Request::Ping,
        Request::Info,
        Request::Shutdown,
        Request::Create(full_create_spec()),
        Request::Create(golden_create_spec()),
        Request::Create(CreateSpec::default()),
        Request::Create(CreateSpec {
            argv: texts(&["sleep"]),
            name: Some(t("")),
            cwd: t("/"),
            delay_secs: Some(0),
            restarts: None,
            stopped: false,
            settings: List(vec![Setting {
                key: t("ключ"),
                value: t("значение=with=equals"),
            }]),
        }),
        Request::Adopt(AdoptSpec {
            pid: 4242,
            name: Some(t("legacy-døemon")),
        }),
        Request::Adopt(AdoptSpec {
            pid: -1,
            name: None,
        }),
        Request::Adopt(AdoptSpec {
            pid: i32::MAX,
            name: Some(t("")),
        }),
        Request::Status(List(vec![])),
        Request::Status(texts(&["web", "日本語", "python:*", "all"])),
        Request::Tail(TailSpec {
            target: t("web"),
            stream: 1,
            lines: 100,
            follow: true,
        }),
        Request::Tail(TailSpec {
            target: t(""),
            stream: 255,
            lines: u32::MAX,
            follow: false,
        }),
        Request::Reload,
        Request::CreateWait(golden_create_spec()),
    ];
    let target_lists = [
        texts(&[]),
        texts(&["web"]),
        texts(&["web", "db"]),
        texts(&["1234", "python:*", "all", "ñandú 🦤"]),
    ];
    for (i, action) in all_actions().into_iter().enumerate() {
        out.push(Request::Act(
            action,
            target_lists[i % target_lists.len()].clone(),
        ));
    }
    out
}

fn full_service_info() -> ServiceInfo {
    ServiceInfo {
        name: t("web-ünï"),
        state: t("RUNNING"),
        pid: 31337,
        uptime_secs: 86_400 * 365,
        restarts: 7,
        last_exit: t("killed by SIGSEGV"),
        detail: t("up 365d, 7 restarts"),
        command: t("/usr/bin/python3 -m http.server 8080 — «quoted»"),
        adopted: true,
    }
}

fn all_responses() -> Vec<Response> {
    vec![
        Response::Ok(t("")),
        Response::Ok(t("done ✓\nsecond line\ttab")),
        Response::Error(t("no such service: 'x' — 見つかりません")),
        Response::Error(t("")),
        Response::Outcomes(List(vec![])),
        Response::Outcomes(List(vec![
            Outcome {
                name: t("web"),
                ok: true,
                message: t("stopped"),
            },
            Outcome {
                name: t("db"),
                ok: false,
                message: t("no such service"),
            },
            Outcome {
                name: t("🚀"),
                ok: true,
                message: t(""),
            },
        ])),
        Response::Status(List(vec![])),
        Response::Status(List(vec![
            full_service_info(),
            ServiceInfo {
                name: t("idle"),
                state: t("STOPPED"),
                pid: 0,
                uptime_secs: 0,
                restarts: u32::MAX,
                last_exit: t("exit status unknown"),
                detail: t(""),
                command: t(""),
                adopted: false,
            },
            ServiceInfo {
                pid: -1,
                uptime_secs: u64::MAX,
                ..ServiceInfo::default()
            },
        ])),
        Response::Info(DaemonInfo {
            instance: 7,
            pid: 1,
            uptime_secs: u64::MAX,
            services: 3,
            config: t("/etc/sv/sv.conf"),
        }),
        Response::Info(DaemonInfo::default()),
        Response::Bytes(List(vec![])),
        Response::Bytes(List((0..=255u8).collect())),
        Response::Bytes(List((0..70_000u32).map(|i| (i * 31 % 251) as u8).collect())),
        Response::StatusPart(List(vec![ServiceInfo {
            name: t("part"),
            state: t("RUNNING"),
            pid: 9,
            ..ServiceInfo::default()
        }])),
        Response::OutcomesPart(List(vec![])),
        Response::OutcomesPart(List(vec![Outcome {
            name: t("part"),
            ok: false,
            message: t("exited: exit 1"),
        }])),
    ]
}

// ---------------------------------------------------------------------------
// 1. Round trips
// ---------------------------------------------------------------------------

#[test]
fn roundtrip_every_request() {
    let mut seen = BTreeSet::new();
    for req in all_requests() {
        let frame = roundtrip(&req);
        let body = body_of(&frame);
        assert_eq!(body[..2], u16le(request_index(&req)), "variant of {req:?}");
        seen.insert(request_index(&req));
    }
    assert_eq!(seen, (0..REQUEST_VARIANTS).collect::<BTreeSet<_>>());
}

#[test]
fn roundtrip_every_action() {
    let mut seen = BTreeSet::new();
    for action in all_actions() {
        // On its own...
        let frame = roundtrip(&action);
        assert_eq!(body_of(&frame)[..2], u16le(action_index(&action)));
        // ...and inside Act, where it follows the Request variant.
        let req = Request::Act(action, texts(&["x"]));
        let frame = roundtrip(&req);
        assert_eq!(body_of(&frame)[..4], [5, 0, action_index(&action) as u8, 0]);
        seen.insert(action_index(&action));
    }
    assert_eq!(seen, (0..ACTION_VARIANTS).collect::<BTreeSet<_>>());
}

#[test]
fn roundtrip_every_response() {
    let mut seen = BTreeSet::new();
    for resp in all_responses() {
        let frame = roundtrip(&resp);
        assert_eq!(body_of(&frame)[..2], u16le(response_index(&resp)));
        seen.insert(response_index(&resp));
    }
    assert_eq!(seen, (0..RESPONSE_VARIANTS).collect::<BTreeSet<_>>());
}

#[test]
fn roundtrip_inner_structs() {
    roundtrip(&full_create_spec());
    roundtrip(&CreateSpec::default());
    roundtrip(&AdoptSpec {
        pid: i32::MIN,
        name: Some(t("x")),
    });
    roundtrip(&TailSpec {
        target: t("db"),
        stream: 1,
        lines: 10,
        follow: true,
    });
    roundtrip(&full_service_info());
    roundtrip(&Setting {
        key: t("k"),
        value: t("v ✓"),
    });
    roundtrip(&t("a\0b"));
    roundtrip(&List::<u8>(vec![0, 255]));
}

#[test]
fn signal_numbers_keep_their_sign() {
    for sig in [-1, -9, -15, i32::MIN, 1, 9, 15, 64, i32::MAX] {
        let frame = roundtrip(&Request::Act(Action::Signal(sig), texts(&[])));
        // variant 5, action 7, then the i32 little-endian, then an empty list.
        let mut want = vec![5, 0, 7, 0];
        want.extend_from_slice(&sig.to_le_bytes());
        want.extend_from_slice(&u64le(0));
        assert_eq!(body_of(&frame), &want[..], "signal {sig}");
    }
}

#[test]
fn text_and_list_encode_like_string_and_vec() {
    let s = "héllo 世界 🚀";
    assert_eq!(t(s).serialize_bin(), s.to_string().serialize_bin());
    let v: Vec<String> = vec!["a".into(), "".into(), "ü".into()];
    assert_eq!(texts(&["a", "", "ü"]).serialize_bin(), v.serialize_bin());
    let bytes: Vec<u8> = vec![1, 2, 3, 255];
    assert_eq!(List(bytes.clone()).serialize_bin(), bytes.serialize_bin());
    // And what nanoserde encodes as String/Vec decodes as Text/List.
    let back: List<Text> = decode(body_of(&frame_of(&v.serialize_bin()))).unwrap();
    assert_eq!(back, texts(&["a", "", "ü"]));
}

#[test]
fn text_and_list_helpers() {
    let x = t("ab");
    assert_eq!(format!("[{x:<5}]"), "[ab   ]");
    assert_eq!(format!("[{x:>4}]"), "[  ab]");
    assert_eq!(format!("{x}"), "ab");
    assert_eq!(format!("{x:?}"), "\"ab\"");
    assert_eq!(x.len(), 2);
    assert_eq!(&*x, "ab");
    assert_eq!(Text::from(String::from("ab")), x);
    let l: List<u8> = vec![1, 2, 3].into();
    assert_eq!(l.len(), 3);
    assert_eq!(format!("{l:?}"), "[1, 2, 3]");
    assert_eq!(l[2], 3);
}

#[test]
fn json_of_rows_uses_plain_strings_and_arrays() {
    let json = full_service_info().serialize_json();
    assert!(json.contains("\"name\":\"web-ünï\""), "{json}");
    assert!(json.contains("\"pid\":31337"), "{json}");
    assert!(json.contains("\"adopted\":true"), "{json}");
    let outcomes = List(vec![Outcome {
        name: t("web"),
        ok: false,
        message: t("say \"hi\""),
    }])
    .serialize_json();
    assert!(outcomes.starts_with('['), "{outcomes}");
    assert!(
        outcomes.contains("\"message\":\"say \\\"hi\\\"\""),
        "{outcomes}"
    );
    let info = DaemonInfo {
        instance: 2,
        pid: 99,
        uptime_secs: 5,
        services: 1,
        config: t("/etc/sv.conf"),
    }
    .serialize_json();
    assert!(info.contains("\"config\":\"/etc/sv.conf\""), "{info}");
}

// ---------------------------------------------------------------------------
// 2. Golden frames and hand-pinned bytes
// ---------------------------------------------------------------------------

fn golden_values() -> Vec<(&'static str, GoldenValue)> {
    vec![
        ("ping.bin", GoldenValue::Req(Request::Ping)),
        (
            "act_stop_two.bin",
            GoldenValue::Req(Request::Act(Action::Stop, texts(&["web", "db"]))),
        ),
        (
            "act_signal.bin",
            GoldenValue::Req(Request::Act(Action::Signal(-9), texts(&["all"]))),
        ),
        (
            "create.bin",
            GoldenValue::Req(Request::Create(golden_create_spec())),
        ),
        (
            "tail.bin",
            GoldenValue::Req(Request::Tail(TailSpec {
                target: t("web"),
                stream: 1,
                lines: 20,
                follow: true,
            })),
        ),
        ("reload.bin", GoldenValue::Req(Request::Reload)),
        (
            "outcomes.bin",
            GoldenValue::Resp(Response::Outcomes(List(vec![
                Outcome {
                    name: t("web"),
                    ok: true,
                    message: t("stopped"),
                },
                Outcome {
                    name: t("db"),
                    ok: false,
                    message: t("no such service"),
                },
            ]))),
        ),
        (
            "status.bin",
            GoldenValue::Resp(Response::Status(List(vec![ServiceInfo {
                name: t("web"),
                state: t("RUNNING"),
                pid: 4242,
                uptime_secs: 3600,
                restarts: 2,
                last_exit: t("exit 3"),
                detail: t("up 1h"),
                command: t("/bin/sleep 60"),
                adopted: false,
            }]))),
        ),
        (
            "info.bin",
            GoldenValue::Resp(Response::Info(DaemonInfo {
                instance: 1,
                pid: 100,
                uptime_secs: 42,
                services: 3,
                config: t("/etc/sv.conf"),
            })),
        ),
        (
            "bytes.bin",
            GoldenValue::Resp(Response::Bytes(List(b"hello\n".to_vec()))),
        ),
        (
            "outcomes_part.bin",
            GoldenValue::Resp(Response::OutcomesPart(List(vec![Outcome {
                name: t("web"),
                ok: true,
                message: t("stopped"),
            }]))),
        ),
    ]
}

enum GoldenValue {
    Req(Request),
    Resp(Response),
}

impl GoldenValue {
    fn encode(&self) -> Vec<u8> {
        match self {
            GoldenValue::Req(r) => encode(r),
            GoldenValue::Resp(r) => encode(r),
        }
    }

    /// Decodes `frame` as the same kind of message and compares.
    fn check_decodes(&self, frame: &[u8], file: &str) {
        let (body, used) = split(frame)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .unwrap_or_else(|| panic!("{file}: incomplete frame"));
        assert_eq!(used, frame.len(), "{file}");
        match self {
            GoldenValue::Req(r) => assert_eq!(&decode::<Request>(body).unwrap(), r, "{file}"),
            GoldenValue::Resp(r) => assert_eq!(&decode::<Response>(body).unwrap(), r, "{file}"),
        }
    }
}

fn golden_path(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/wire")
        .join(file)
}

/// Run with `cargo test --lib wire::tests::write_golden_frames -- --ignored`
/// only when adding a golden file. Existing files must never change: a
/// difference means the wire format changed.
#[test]
#[ignore = "writes testdata/wire/*.bin; run by hand when adding a golden frame"]
fn write_golden_frames() {
    std::fs::create_dir_all(golden_path("")).unwrap();
    for (file, value) in golden_values() {
        let path = golden_path(file);
        if !path.exists() {
            std::fs::write(&path, value.encode()).unwrap();
        }
    }
}

#[test]
fn golden_frames_match_encoding() {
    for (file, value) in golden_values() {
        let golden = std::fs::read(golden_path(file))
            .unwrap_or_else(|e| panic!("testdata/wire/{file}: {e}"));
        assert_eq!(
            value.encode(),
            golden,
            "encoding differs from testdata/wire/{file}: the wire format changed"
        );
        value.check_decodes(&golden, file);
    }
}

#[test]
fn ping_bytes_pinned_by_hand() {
    assert_eq!(PROTOCOL_VERSION, 1);
    assert_eq!(encode(&Request::Ping), [3, 0, 0, 0, 1, 0, 0]);
    assert_eq!(encode(&Request::Reload), [3, 0, 0, 0, 1, 8, 0]);
    assert_eq!(encode(&Request::Info), [3, 0, 0, 0, 1, 1, 0]);
    assert_eq!(encode(&Request::Shutdown), [3, 0, 0, 0, 1, 2, 0]);
}

#[test]
fn act_stop_two_bytes_pinned_by_hand() {
    let mut want = Vec::new();
    want.extend_from_slice(&u16le(5)); // Request::Act
    want.extend_from_slice(&u16le(1)); // Action::Stop
    want.extend_from_slice(&u64le(2)); // two targets
    want.extend_from_slice(&u64le(3));
    want.extend_from_slice(b"web");
    want.extend_from_slice(&u64le(2));
    want.extend_from_slice(b"db");
    let frame = frame_of(&want);
    assert_eq!(frame[..4], [34, 0, 0, 0]);
    assert_eq!(
        encode(&Request::Act(Action::Stop, texts(&["web", "db"]))),
        frame
    );
}

#[test]
fn create_bytes_pinned_by_hand() {
    let mut want = Vec::new();
    want.extend_from_slice(&u16le(3)); // Request::Create
    want.extend_from_slice(&u64le(2)); // argv
    want.extend_from_slice(&u64le(10));
    want.extend_from_slice(b"/bin/sleep");
    want.extend_from_slice(&u64le(2));
    want.extend_from_slice(b"60");
    want.push(0); // name: None
    want.extend_from_slice(&u64le(4)); // cwd
    want.extend_from_slice(b"/tmp");
    want.push(0); // delay_secs: None
    want.push(1); // restarts: Some(3)
    want.extend_from_slice(&3u32.to_le_bytes());
    want.push(0); // stopped: false
    want.extend_from_slice(&u64le(0)); // settings: []
    assert_eq!(
        encode(&Request::Create(golden_create_spec())),
        frame_of(&want)
    );
}

#[test]
fn response_bytes_pinned_by_hand() {
    let mut ok = u16le(0).to_vec(); // Response::Ok
    ok.extend_from_slice(&u64le(0));
    assert_eq!(encode(&Response::Ok(t(""))), frame_of(&ok));

    let mut err = u16le(1).to_vec(); // Response::Error
    err.extend_from_slice(&u64le(3));
    err.extend_from_slice("✗".as_bytes());
    assert_eq!(encode(&Response::Error(t("✗"))), frame_of(&err));

    let mut outcomes = u16le(2).to_vec(); // Response::Outcomes
    outcomes.extend_from_slice(&u64le(1));
    outcomes.extend_from_slice(&u64le(1));
    outcomes.push(b'a');
    outcomes.push(1); // ok
    outcomes.extend_from_slice(&u64le(0));
    let one = Response::Outcomes(List(vec![Outcome {
        name: t("a"),
        ok: true,
        message: t(""),
    }]));
    assert_eq!(encode(&one), frame_of(&outcomes));

    let mut info = u16le(4).to_vec(); // Response::Info
    info.push(2);
    info.extend_from_slice(&(-5i32).to_le_bytes());
    info.extend_from_slice(&u64le(6));
    info.extend_from_slice(&7u32.to_le_bytes());
    info.extend_from_slice(&u64le(0));
    let di = DaemonInfo {
        instance: 2,
        pid: -5,
        uptime_secs: 6,
        services: 7,
        config: t(""),
    };
    assert_eq!(encode(&Response::Info(di)), frame_of(&info));

    let mut bytes = u16le(5).to_vec(); // Response::Bytes
    bytes.extend_from_slice(&u64le(3));
    bytes.extend_from_slice(&[0, 255, 10]);
    assert_eq!(
        encode(&Response::Bytes(List(vec![0, 255, 10]))),
        frame_of(&bytes)
    );
}

// ---------------------------------------------------------------------------
// 3. Hostile input
// ---------------------------------------------------------------------------

fn assert_malformed<T: DeBin + Debug>(body: &[u8], what: &str) {
    match decode::<T>(body) {
        Err(FrameError::Malformed(_)) => {}
        other => panic!("{what}: expected Malformed, got {other:?}"),
    }
}

fn all_frames() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = all_requests().iter().map(encode).collect();
    out.extend(all_responses().iter().map(encode));
    out
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
        decode::<Request>(&nanoserde::SerBin::serialize_bin(&Request::CreateWait(
            CreateSpec::default()
        )))
        .unwrap(),
        Request::CreateWait(CreateSpec::default())
    );
    assert_eq!(
        nanoserde::SerBin::serialize_bin(&Request::CreateWait(CreateSpec::default()))[..2],
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

/// xorshift64*: small, deterministic, no crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn interesting_u64(&mut self, left: usize) -> u64 {
        match self.below(10) {
            0 => u64::MAX,
            1 => 1 << 40,
            2 => (usize::MAX - 3) as u64,
            3 => left as u64,
            4 => left as u64 + 1,
            5 => left.saturating_sub(1) as u64,
            6 => self.next(),
            7 => u32::MAX as u64,
            _ => self.below(64) as u64,
        }
    }
}

/// Decoding must never panic; when it succeeds, the value must survive a
/// second round trip unchanged.
fn feed(buf: &[u8]) {
    match split(buf) {
        Ok(Some((body, used))) => {
            assert!(used <= buf.len() && used >= 5);
            assert_eq!(body.len(), used - 5);
            if let Ok(req) = decode::<Request>(body) {
                let again = encode(&req);
                assert_eq!(decode::<Request>(body_of(&again)).unwrap(), req);
                assert_eq!(body_of(&again).len(), body.len());
            }
            if let Ok(resp) = decode::<Response>(body) {
                let again = encode(&resp);
                assert_eq!(decode::<Response>(body_of(&again)).unwrap(), resp);
                assert_eq!(body_of(&again).len(), body.len());
            }
        }
        Ok(None) => assert!(
            buf.len() < 4
                || buf.len() < 4 + u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize
        ),
        Err(_) => {}
    }
    // Also as a bare body, and through the blocking reader.
    let _ = decode::<Request>(buf);
    let _ = decode::<Response>(buf);
    let _ = read_msg::<Request>(&mut Cursor::new(buf));
    let _ = read_msg::<Response>(&mut Cursor::new(buf));
}

#[test]
fn fuzz_split_and_decode_never_panic() {
    let seeds: Vec<Vec<u8>> = all_frames()
        .into_iter()
        .filter(|f| f.len() < 4096)
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut decoded_ok = 0usize;
    for _ in 0..20_000 {
        let mut buf = match rng.below(8) {
            // Pure noise, sometimes behind a plausible header.
            0 => {
                let n = rng.below(80);
                let mut b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                if rng.below(2) == 0 {
                    let mut f = frame_of(&b);
                    f.truncate(4 + 1 + rng.below(n + 1));
                    b = f;
                    if rng.below(2) == 0 {
                        b = frame_of(&b[5..]);
                    }
                }
                b
            }
            _ => seeds[rng.below(seeds.len())].clone(),
        };
        let rounds = 1 + rng.below(4);
        for _ in 0..rounds {
            if buf.is_empty() {
                break;
            }
            match rng.below(7) {
                // Flip one bit.
                0 => {
                    let i = rng.below(buf.len());
                    buf[i] ^= 1 << rng.below(8);
                }
                // Replace a byte.
                1 => {
                    let i = rng.below(buf.len());
                    buf[i] = rng.next() as u8;
                }
                // Truncate.
                2 => {
                    let n = rng.below(buf.len() + 1);
                    buf.truncate(n);
                }
                // Tweak the length prefix.
                3 if buf.len() >= 4 => {
                    let cur = u32::from_le_bytes(buf[..4].try_into().unwrap());
                    let new = match rng.below(6) {
                        0 => cur.wrapping_add(1),
                        1 => cur.wrapping_sub(1),
                        2 => (MAX_FRAME + rng.below(2)) as u32,
                        3 => u32::MAX,
                        4 => 0,
                        _ => rng.next() as u32,
                    };
                    buf[..4].copy_from_slice(&new.to_le_bytes());
                }
                // Overwrite 8 bytes in the body with an interesting length.
                4 if buf.len() >= 5 + 8 => {
                    let at = 5 + rng.below(buf.len() - 5 - 7);
                    let left = buf.len() - at - 8;
                    let v = rng.interesting_u64(left);
                    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
                }
                // Insert or remove bytes in the body, fixing up the header.
                5 if buf.len() >= 5 => {
                    let at = 5 + rng.below(buf.len() - 4);
                    if rng.below(2) == 0 || at >= buf.len() {
                        buf.insert(at.min(buf.len()), rng.next() as u8);
                    } else {
                        buf.remove(at);
                    }
                    let len = (buf.len() - 4) as u32;
                    buf[..4].copy_from_slice(&len.to_le_bytes());
                }
                // Append garbage (a second, partial frame).
                _ => {
                    for _ in 0..rng.below(12) {
                        buf.push(rng.next() as u8);
                    }
                }
            }
        }
        if let Ok(Some((body, _))) = split(&buf) {
            if decode::<Request>(body).is_ok() || decode::<Response>(body).is_ok() {
                decoded_ok += 1;
            }
        }
        feed(&buf);
    }
    // The mutations are not so violent that nothing ever decodes: the loop
    // does reach past the header checks into the decoders' success paths.
    assert!(decoded_ok > 100, "only {decoded_ok} mutated frames decoded");
}

// ---------------------------------------------------------------------------
// 4. Blocking reader and writer
// ---------------------------------------------------------------------------

fn frame_error(e: &io::Error) -> &FrameError {
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<FrameError>())
        .unwrap_or_else(|| panic!("not a FrameError: {e:?}"))
}

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
