//! Tests of the wire format: round trips of every message, golden frames that
//! pin the byte layout (variants are append-only), hostile input, and the
//! blocking reader and writer.

use super::frame::{read_msg, split, write_msg};
use super::*;
use nanoserde::{DeBin, SerBin, SerJson};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::io::{self, Cursor, Read};

mod fuzz;
mod golden;
mod hostile;
mod reader;
mod roundtrip;
mod wait;

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
        Request::Wait(_) => 10,
        Request::Reread => 11,
        Request::Update(_) => 12,
        Request::Avail => 13,
    }
}
const REQUEST_VARIANTS: u16 = 14;

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
        Request::Wait(WaitSpec::default()),
        Request::Wait(WaitSpec {
            targets: texts(&["web", "migrate:*", "ñandú"]),
            until: WaitFor::Completed,
        }),
        Request::Reread,
        Request::Update(texts(&[])),
        Request::Update(texts(&["web", "g", "ñandú"])),
        Request::Avail,
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

fn all_frames() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = all_requests().iter().map(encode).collect();
    out.extend(all_responses().iter().map(encode));
    out
}

fn frame_error(e: &io::Error) -> &FrameError {
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<FrameError>())
        .unwrap_or_else(|| panic!("not a FrameError: {e:?}"))
}
