//! The core on bytes a real Janus 1.1.2 sent (tests/fixtures, written by
//! scripts/capture_fixtures.py): classification of every captured message against an independent
//! serde_json reading, the routing facts of each, the raw WebSocket stream replayed through
//! `WsJanusConnection` under every split, and Janus's completion rules driven by captured replies.
//! Nothing here needs Janus. Ids change when the fixtures are re-captured, so they are read from the
//! fixtures themselves; types, transactions and error codes are asserted literally.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use janus_proto::ws::handshake;
use janus_proto::{
    classify, classify_each, Expect, JanusCore, JanusCoreConfig, Message, OutputRef, ProtocolError,
    WsConfig, WsJanusConnection, WsState, WsStats,
};
use serde_json::Value;

/// The seed whose handshake key and transaction ids the raw stream was captured with.
const STREAM_SEED: &[u8] = b"janus_fast fixture seed 00000001";
/// `Sec-WebSocket-Key` generated from [`STREAM_SEED`] (documented in fixtures/README.md).
const STREAM_KEY: &str = "/zzhG7M1+z329HmSv3vRmw==";
const CORE_SEED: &[u8] = b"captured fixtures core seed 0001";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/capture_fixtures.py)", path.display()))
}

fn one(bytes: &[u8]) -> Message {
    Message::parse_one(bytes).unwrap()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// `data.id` of a captured create/attach success.
fn data_id(name: &str) -> u64 {
    json(&fixture(name))["data"]["id"].as_u64().unwrap()
}

/// Every message fixture (folder/name.json), sorted.
fn message_fixtures() -> Vec<String> {
    let mut names = Vec::new();
    for folder in ["ws", "compact", "http"] {
        for entry in fs::read_dir(dir().join(folder)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".json") {
                names.push(format!("{folder}/{name}"));
            }
        }
    }
    names.sort();
    names
}

/// What classification must find in `v`, read by serde_json independently.
fn assert_matches_json(m: &Message, v: &Value, what: &str) {
    let s = |v: &Value| v.as_str().map(str::to_owned);
    assert_eq!(Some(m.kind.as_str().to_owned()), s(&v["janus"]), "{what}");
    assert_eq!(
        m.transaction().map(str::to_owned),
        s(&v["transaction"]),
        "{what}"
    );
    assert_eq!(m.session_id, v["session_id"].as_u64(), "{what}");
    assert_eq!(m.sender, v["sender"].as_u64(), "{what}");
    let error = (v["janus"] == "error").then(|| {
        (
            v["error"]["code"].as_i64().unwrap(),
            s(&v["error"]["reason"]).unwrap(),
        )
    });
    assert_eq!(m.error, error, "{what}");
    assert_eq!(
        m.plugin().map(str::to_owned),
        s(&v["plugindata"]["plugin"]),
        "{what}"
    );
    let data = &v["plugindata"]["data"];
    let plugin_error = data["error_code"]
        .as_i64()
        .map(|c| (c, s(&data["error"]).unwrap_or_default()));
    assert_eq!(m.plugin_error, plugin_error, "{what}");
    assert_eq!(m.has_jsep, !v["jsep"].is_null(), "{what}");
    assert_eq!(&json(m.bytes()), v, "{what}: the byte range is this object");
}

#[test]
fn every_fixture_classifies_like_serde_json_reads_it() {
    let names = message_fixtures();
    assert_eq!(names.len(), 24 + 20 + 5, "{names:?}");
    for name in &names {
        let bytes = fixture(name);
        let v = json(&bytes);
        let messages = classify(Arc::from(bytes.as_slice())).unwrap();
        match &v {
            Value::Array(items) => {
                assert_eq!(messages.len(), items.len(), "{name}");
                for (m, item) in messages.iter().zip(items) {
                    assert_matches_json(m, item, name);
                }
            }
            _ => {
                assert_eq!(messages.len(), 1, "{name}");
                assert_matches_json(&messages[0], &v, name);
                assert_eq!(messages[0].bytes(), &bytes[..], "{name}: the whole payload");
            }
        }
    }
}

/// (fixture, janus, transaction, has session_id, has sender, error code, plugin, plugin error
/// code, has_jsep) — the same for the indented (`ws/`) and compact captures.
type Facts = (
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
    bool,
    Option<i64>,
    Option<&'static str>,
    Option<i64>,
    bool,
);

const ECHO: Option<&str> = Some("janus.plugin.echotest");
const ROOM: Option<&str> = Some("janus.plugin.videoroom");

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    ("01-server_info", "server_info", Some("cap-info"), false, false, None, None, None, false),
    ("02-pong", "pong", Some("cap-ping"), false, false, None, None, None, false),
    ("03-create-success", "success", Some("cap-create"), false, false, None, None, None, false),
    ("04-attach-echotest-success", "success", Some("cap-attach"), true, false, None, None, None, false),
    ("05-keepalive-ack", "ack", Some("cap-keepalive"), true, false, None, None, None, false),
    ("06-echotest-message-ack", "ack", Some("cap-echo"), true, false, None, None, None, false),
    ("07-echotest-event", "event", Some("cap-echo"), true, true, None, ECHO, None, false),
    ("08-echotest-jsep-ack", "ack", Some("cap-jsep"), true, false, None, None, None, false),
    ("09-echotest-jsep-event", "event", Some("cap-jsep"), true, true, None, ECHO, None, true),
    ("10-attach-videoroom-success", "success", Some("cap-attach-vr"), true, false, None, None, None, false),
    ("11-videoroom-list-success", "success", Some("cap-list"), true, true, None, ROOM, None, false),
    ("12-videoroom-exists-success", "success", Some("cap-exists"), true, true, None, ROOM, None, false),
    ("13-videoroom-join-ack", "ack", Some("cap-join"), true, false, None, None, None, false),
    ("14-videoroom-joined-event", "event", Some("cap-join"), true, true, None, ROOM, None, false),
    ("15-videoroom-destroy-error-426", "success", Some("cap-destroy-room"), true, true, None, ROOM, Some(426), false),
    ("16-error-458-no-session", "error", Some("cap-458"), true, false, Some(458), None, None, false),
    ("17-error-459-no-handle", "error", Some("cap-459"), true, false, Some(459), None, None, false),
    ("18-error-460-no-plugin", "error", Some("cap-460"), true, false, Some(460), None, None, false),
    ("19-error-456-missing-element", "error", Some("cap-456"), true, false, Some(456), None, None, false),
    ("20-detach-success", "success", Some("cap-detach"), true, false, None, None, None, false),
    ("21-detach-event", "event", None, true, true, None, ECHO, None, false),
    ("22-detached", "detached", None, true, true, None, None, None, false),
    ("23-destroy-success", "success", Some("cap-destroy"), true, false, None, None, None, false),
    ("24-session-timeout", "timeout", None, true, false, None, None, None, false),
];

#[test]
fn routing_facts_of_each_capture() {
    for folder in ["ws", "compact"] {
        let mut seen = 0;
        for &(name, kind, tx, session, sender, error, plugin, plugin_error, jsep) in FACTS {
            let path = format!("{folder}/{name}.json");
            if folder == "compact" && (name.starts_with("2") && name != "23-destroy-success") {
                continue; // no detach sequence or timeout in the compact run
            }
            let m = one(&fixture(&path));
            assert_eq!(m.kind.as_str(), kind, "{path}");
            assert_eq!(m.transaction(), tx, "{path}");
            assert_eq!(m.session_id.is_some(), session, "{path}");
            assert_eq!(m.sender.is_some(), sender, "{path}");
            assert_eq!(m.error.as_ref().map(|e| e.0), error, "{path}");
            assert_eq!(m.plugin(), plugin, "{path}");
            assert_eq!(m.plugin_error.as_ref().map(|e| e.0), plugin_error, "{path}");
            assert_eq!(m.has_jsep, jsep, "{path}");
            seen += 1;
        }
        assert_eq!(seen, if folder == "ws" { 24 } else { 20 });
        // Ids tie the captures together: one session, the echotest and videoroom handles.
        let session = data_id(&format!("{folder}/03-create-success.json"));
        let echo = data_id(&format!("{folder}/04-attach-echotest-success.json"));
        let room = data_id(&format!("{folder}/10-attach-videoroom-success.json"));
        for (name, sender) in [
            ("07-echotest-event", Some(echo)),
            ("09-echotest-jsep-event", Some(echo)),
            ("11-videoroom-list-success", Some(room)),
            ("14-videoroom-joined-event", Some(room)),
            ("15-videoroom-destroy-error-426", Some(room)),
            ("17-error-459-no-handle", None),
            ("23-destroy-success", None),
        ] {
            let m = one(&fixture(&format!("{folder}/{name}.json")));
            assert_eq!(
                (m.session_id, m.sender),
                (Some(session), sender),
                "{folder}/{name}"
            );
        }
        let m = one(&fixture(&format!("{folder}/16-error-458-no-session.json")));
        assert_eq!(m.session_id, Some(1), "the unknown session we asked for");
        assert!(m.error.unwrap().1.contains("No such session"));
    }
    let big = fixture("ws/09-echotest-jsep-event.json");
    assert!((2500..8192).contains(&big.len()), "{}", big.len());
    let m = one(&fixture("ws/15-videoroom-destroy-error-426.json"));
    assert_eq!(m.error, None, "a plugin error is not a core error");
    assert!(m.plugin_error.unwrap().1.contains("No such room"));
}

#[test]
fn http_long_poll_array_and_bodies() {
    let session = data_id("http/01-create-success.json");
    let handle = data_id("http/02-attach-success.json");
    let bytes = fixture("http/04-longpoll-array.json");
    let payload: Arc<[u8]> = Arc::from(bytes.as_slice());
    let v = classify(payload.clone()).unwrap();
    assert_eq!(v.len(), 4);
    for (i, m) in v.iter().enumerate() {
        assert_eq!(m.kind.as_str(), "event");
        assert_eq!(m.transaction(), Some(format!("h-msg{i}").as_str()));
        assert_eq!((m.session_id, m.sender), (Some(session), Some(handle)));
        assert_eq!(m.plugin(), ECHO);
        assert!(Arc::ptr_eq(m.payload(), &payload), "one shared payload");
        assert_eq!(m.bytes()[0], b'{');
        assert_eq!(m.bytes()[m.bytes().len() - 1], b'}');
    }
    let ack = one(&fixture("http/03-message-ack.json"));
    assert_eq!(
        (ack.kind.as_str(), ack.transaction()),
        ("ack", Some("h-msg0"))
    );
    let err = one(&fixture("http/05-error-458.json"));
    assert_eq!(err.error.map(|e| e.0), Some(458));
}

// -- the raw WebSocket stream ------------------------------------------------------------------

type Conn = WsJanusConnection<&'static str, &'static str>;

/// The nine requests of the captured scenario (fixtures/README.md), in order.
const SCENARIO: [(&str, Expect); 9] = [
    ("ping", Expect::Pong),
    ("create", Expect::Success),
    ("attach", Expect::Success),
    ("keepalive", Expect::Ack),
    ("message", Expect::PluginMessage),
    ("jsep", Expect::PluginMessage),
    ("attach-nope", Expect::Success),
    ("detach", Expect::Success),
    ("destroy", Expect::Success),
];

fn stream_conn() -> Conn {
    let config = WsConfig::new("127.0.0.1:8188", "/", "janus-protocol");
    let mut c = Conn::new(config, JanusCoreConfig::default(), STREAM_SEED).unwrap();
    let request = c.data_to_send();
    let key = format!("Sec-WebSocket-Key: {STREAM_KEY}\r\n");
    assert!(request.windows(key.len()).any(|w| w == key.as_bytes()));
    for (name, expect) in SCENARIO {
        c.core_mut().transactions_mut().insert(name, expect, None);
    }
    c
}

/// One output as text (with the message bytes, so equal descriptions mean equal outputs).
fn describe<W: std::fmt::Display, H: std::fmt::Display>(
    o: OutputRef<'_, W, H>,
) -> (String, Vec<u8>) {
    fn facts(m: &Message) -> String {
        let mut s = m.kind.as_str().to_owned();
        if let Some((code, _)) = &m.error {
            s += &format!(" error={code}");
        }
        if let Some((code, _)) = &m.plugin_error {
            s += &format!(" plugin_error={code}");
        }
        if m.has_jsep {
            s += " jsep";
        }
        s
    }
    match o {
        OutputRef::Opened => ("opened".into(), vec![]),
        OutputRef::Completion {
            waiter, message, ..
        } => (
            format!("done {waiter} {}", facts(&message)),
            message.bytes().to_vec(),
        ),
        OutputRef::StreamItem {
            waiter, message, ..
        } => (
            format!("stream {waiter} {}", facts(&message)),
            message.bytes().to_vec(),
        ),
        OutputRef::Event {
            target, message, ..
        } => (
            format!("event {target} {}", facts(&message)),
            message.bytes().to_vec(),
        ),
        OutputRef::Unroutable { message } => (
            format!("unrouted {}", facts(&message)),
            message.bytes().to_vec(),
        ),
        OutputRef::StrayAck { message } => (
            format!("stray {}", facts(&message)),
            message.bytes().to_vec(),
        ),
        OutputRef::Malformed { error } => (format!("malformed {error}"), vec![]),
        OutputRef::Closed {
            code,
            reason,
            clean,
        } => (format!("closed {code:?} {reason:?} clean={clean}"), vec![]),
    }
}

/// Outputs as (description, message bytes).
type Described = Vec<(String, Vec<u8>)>;

/// Everything observable after a replay: outputs, bytes to send, final state, counters.
type Replay = (Described, Vec<u8>, WsState, WsStats);

fn drain(c: &mut Conn) -> Described {
    let mut out = Vec::new();
    c.drain_output_with(|o| {
        out.push(describe(o));
        Ok::<(), ()>(())
    })
    .unwrap();
    out
}

/// Feed the stream in `chunks`, draining after each; everything observable at the end.
fn replay(chunks: &[&[u8]]) -> Replay {
    let mut c = stream_conn();
    let mut out = Vec::new();
    for chunk in chunks {
        c.receive_data(chunk).unwrap();
        out.extend(drain(&mut c));
    }
    c.receive_eof();
    out.extend(drain(&mut c));
    (out, c.data_to_send(), c.state(), c.ws().stats())
}

#[test]
fn captured_stream_completes_the_scenario() {
    let stream = fixture("ws-stream.bin");
    let readme = String::from_utf8(fixture("README.md")).unwrap();
    assert!(readme.contains(STREAM_KEY), "README documents the key");
    let head_end = stream.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let accept = format!(
        "Sec-WebSocket-Accept: {}\r\n",
        handshake::accept_key(STREAM_KEY)
    );
    assert!(String::from_utf8_lossy(&stream[..head_end]).contains(&accept));

    let (out, to_send, state, stats) = replay(&[&stream]);
    let labels: Vec<&str> = out.iter().map(|(s, _)| s.as_str()).collect();
    let done: Vec<&str> = labels
        .iter()
        .copied()
        .filter(|s| s.starts_with("done"))
        .collect();
    assert_eq!(
        done,
        [
            "done ping pong",
            "done create success",
            "done attach success",
            "done keepalive ack",
            "done message event",
            "done jsep event jsep",
            "done attach-nope error error=460",
            "done detach success",
            "done destroy success",
        ]
    );
    assert_eq!(labels[0], "opened");
    assert_eq!(labels.last().unwrap(), &"closed Some(1000) \"\" clean=true");
    // No routes registered: `detached` (and the echotest's `done` event, when Janus sent it)
    // have no transaction and nobody to go to. The acks of the plugin messages yield nothing.
    let session = json(&out[2].1)["data"]["id"].as_u64().unwrap();
    let handle = json(&out[3].1)["data"]["id"].as_u64().unwrap();
    let unrouted: Vec<&(String, Vec<u8>)> = out
        .iter()
        .filter(|(s, _)| s.starts_with("unrouted"))
        .collect();
    assert!(unrouted.iter().any(|(s, _)| s == "unrouted detached"));
    for (label, bytes) in &unrouted {
        assert!(
            label == "unrouted detached" || label == "unrouted event",
            "{label}"
        );
        let m = one(bytes);
        assert_eq!((m.session_id, m.sender), (Some(session), Some(handle)));
    }
    // Janus races a plugin's event against its ack: an ack that comes after the event finds no
    // transaction any more and is reported as a stray ack (this capture has one).
    let strays: Vec<Message> = out
        .iter()
        .filter(|(s, _)| s == "stray ack")
        .map(|(_, b)| one(b))
        .collect();
    for ack in &strays {
        assert!(
            ["en5", "en6"].contains(&ack.transaction().unwrap()),
            "{ack:?}"
        );
    }
    assert_eq!(
        out.len(),
        1 + 9 + unrouted.len() + strays.len() + 1,
        "{labels:?}"
    );
    assert_eq!(stats.pongs, 1, "the server's answer to our WebSocket ping");
    // libwebsockets sends the ~3 KB JSEP event as a text frame plus a continuation.
    let data_frames = stats.frames_in - 2; // the pong and the close frame
    assert!(data_frames > stats.messages_in, "{stats:?}");
    assert_eq!(stats.bytes_in, stream.len() as u64);
    assert_eq!(state, WsState::Closed);
    assert!(!to_send.is_empty(), "our reply to the server's close frame");
}

#[test]
fn captured_stream_split_anywhere_gives_the_same_outputs() {
    let stream = fixture("ws-stream.bin");
    let whole = replay(&[&stream]);
    for at in 0..=stream.len() {
        let (a, b) = stream.split_at(at);
        assert_eq!(replay(&[a, b]), whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(replay(&bytes), whole, "byte by byte");
}

// -- completion rules on captured replies ------------------------------------------------------

type Core = JanusCore<&'static str, &'static str>;

struct Rig {
    core: Core,
    folder: &'static str,
}

impl Rig {
    fn new(folder: &'static str) -> Self {
        Self {
            core: Core::new(&JanusCoreConfig::default(), CORE_SEED),
            folder,
        }
    }

    /// Register a waiter; returns its wire transaction.
    fn register(&mut self, waiter: &'static str, expect: Expect) -> String {
        let tx = self.core.transactions_mut();
        let id = tx.insert(waiter, expect, None);
        tx.format_id(id).as_str().to_owned()
    }

    /// Feed a captured message with its `cap-*` transaction replaced by `tx`.
    fn feed(&mut self, name: &str, tx: Option<&str>) -> Vec<String> {
        let mut bytes = fixture(&format!("{}/{name}.json", self.folder));
        if let Some(tx) = tx {
            let m = one(&bytes);
            let old = format!("\"{}\"", m.transaction().unwrap());
            let text = String::from_utf8(bytes).unwrap();
            assert_eq!(text.matches(&old).count(), 1, "{name}");
            bytes = text.replace(&old, &format!("\"{tx}\"")).into_bytes();
        }
        self.core
            .receive_message(Arc::from(bytes.as_slice()))
            .unwrap();
        let mut out = Vec::new();
        self.core
            .drain_output_with(|o| {
                out.push(describe(o).0);
                Ok::<(), ()>(())
            })
            .unwrap();
        out
    }
}

#[test]
fn completion_rules_per_request_type() {
    for folder in ["ws", "compact"] {
        let mut r = Rig::new(folder);
        let cases: [(&str, Expect, &[&str], &str); 9] = [
            ("info", Expect::ServerInfo, &[], "01-server_info"),
            ("ping", Expect::Pong, &[], "02-pong"),
            ("create", Expect::Success, &[], "03-create-success"),
            ("attach", Expect::Success, &[], "04-attach-echotest-success"),
            ("keepalive", Expect::Ack, &[], "05-keepalive-ack"),
            (
                "message",
                Expect::PluginMessage,
                &["06-echotest-message-ack"],
                "07-echotest-event",
            ),
            (
                "jsep",
                Expect::PluginMessage,
                &["08-echotest-jsep-ack"],
                "09-echotest-jsep-event",
            ),
            (
                "join",
                Expect::PluginMessage,
                &["13-videoroom-join-ack"],
                "14-videoroom-joined-event",
            ),
            ("destroy", Expect::Success, &[], "23-destroy-success"),
        ];
        for (waiter, expect, before, last) in cases {
            let tx = r.register(waiter, expect);
            for name in before {
                assert_eq!(
                    r.feed(name, Some(&tx)),
                    Vec::<String>::new(),
                    "{folder}/{name}"
                );
                assert_eq!(r.core.transactions().len(), 1, "an ack only marks it acked");
            }
            let out = r.feed(last, Some(&tx));
            assert_eq!(out.len(), 1, "{folder}/{last}: {out:?}");
            assert!(out[0].starts_with(&format!("done {waiter} ")), "{out:?}");
            assert!(r.core.transactions().is_empty());
        }
        // Synchronous plugin requests end in `success` with the plugin data inline, no ack.
        for name in ["11-videoroom-list-success", "12-videoroom-exists-success"] {
            let tx = r.register("sync", Expect::PluginMessage);
            assert_eq!(r.feed(name, Some(&tx)), ["done sync success"]);
        }
        // Core errors complete any request type, as errors.
        for (expect, name, code) in [
            (Expect::Ack, "16-error-458-no-session", 458),
            (Expect::PluginMessage, "17-error-459-no-handle", 459),
            (Expect::Success, "18-error-460-no-plugin", 460),
            (Expect::Success, "19-error-456-missing-element", 456),
        ] {
            let tx = r.register("failing", expect);
            assert_eq!(
                r.feed(name, Some(&tx)),
                [format!("done failing error error={code}")]
            );
        }
        assert_eq!(r.core.transactions().stats().completed, 15);
    }
}

#[test]
fn ack_and_event_in_either_order() {
    let mut r = Rig::new("ws");
    let tx = r.register("echo", Expect::PluginMessage);
    assert!(r.feed("06-echotest-message-ack", Some(&tx)).is_empty());
    assert_eq!(r.feed("07-echotest-event", Some(&tx)), ["done echo event"]);
    // Event first: it completes; the late ack is a stray ack (counted, not an error).
    let tx = r.register("echo-late-ack", Expect::PluginMessage);
    assert_eq!(
        r.feed("09-echotest-jsep-event", Some(&tx)),
        ["done echo-late-ack event jsep"]
    );
    assert_eq!(r.feed("08-echotest-jsep-ack", Some(&tx)), ["stray ack"]);
    assert_eq!(r.core.transactions().stats().stray_acks, 1);
    assert!(r.core.transactions().is_empty());
    // The same on the long-poll array: four waiters completed by one payload, in order.
    let mut http = Rig::new("http");
    let txs: Vec<String> = ["m0", "m1", "m2", "m3"]
        .iter()
        .map(|w| http.register(w, Expect::PluginMessage))
        .collect();
    let mut text = String::from_utf8(fixture("http/04-longpoll-array.json")).unwrap();
    for (i, tx) in txs.iter().enumerate() {
        text = text.replace(&format!("\"h-msg{i}\""), &format!("\"{tx}\""));
    }
    http.core
        .receive_message(Arc::from(text.as_bytes()))
        .unwrap();
    let mut out = Vec::new();
    http.core
        .drain_output_with(|o| {
            out.push(describe(o).0);
            Ok::<(), ()>(())
        })
        .unwrap();
    assert_eq!(
        out,
        [
            "done m0 event",
            "done m1 event",
            "done m2 event",
            "done m3 event"
        ]
    );
}

#[test]
fn plugin_error_is_data() {
    for folder in ["ws", "compact"] {
        let mut r = Rig::new(folder);
        let tx = r.register("destroy-room", Expect::PluginMessage);
        let out = r.feed("15-videoroom-destroy-error-426", Some(&tx));
        assert_eq!(
            out,
            ["done destroy-room success plugin_error=426"],
            "{folder}"
        );
    }
}

#[test]
fn other_replies_do_not_complete_the_wrong_request() {
    let mut r = Rig::new("ws");
    // An ack on a create-like request is noted; the success completes it.
    let tx = r.register("detach", Expect::Success);
    assert!(r.feed("05-keepalive-ack", Some(&tx)).is_empty());
    assert_eq!(r.core.transactions().len(), 1);
    // An event carrying its transaction does not complete it either: routed as an event.
    assert_eq!(r.feed("07-echotest-event", Some(&tx)), ["unrouted event"]);
    assert_eq!(
        r.feed("20-detach-success", Some(&tx)),
        ["done detach success"]
    );
    // A pong does not complete server_info; an unknown transaction is just unroutable.
    let tx = r.register("info", Expect::ServerInfo);
    assert_eq!(r.feed("02-pong", Some(&tx)), ["unrouted pong"]);
    assert_eq!(r.feed("02-pong", None), ["unrouted pong"]);
    assert_eq!(
        r.feed("01-server_info", Some(&tx)),
        ["done info server_info"]
    );
    assert!(r.core.transactions().is_empty());
}

#[test]
fn streams_take_every_message_until_cancelled() {
    let mut r = Rig::new("ws");
    let session = data_id("ws/03-create-success.json");
    let echo = data_id("ws/04-attach-echotest-success.json");
    r.core.routes_mut().add_session(session, "session");
    r.core
        .routes_mut()
        .add_handle(session, echo, "echo")
        .unwrap();
    let tx = r.register("stream", Expect::Stream);
    assert_eq!(
        r.feed("08-echotest-jsep-ack", Some(&tx)),
        ["stream stream ack"]
    );
    assert_eq!(
        r.feed("09-echotest-jsep-event", Some(&tx)),
        ["stream stream event jsep"]
    );
    assert_eq!(r.core.cancel(&tx), Some("stream"));
    // After done(), later messages with that transaction go to the handle as events.
    assert_eq!(r.feed("07-echotest-event", Some(&tx)), ["event echo event"]);
}

#[test]
fn transactionless_messages_follow_the_routes() {
    let mut r = Rig::new("ws");
    let session = data_id("ws/03-create-success.json");
    let detached = one(&fixture("ws/22-detached.json"));
    // Before anything is registered, nobody owns them.
    assert_eq!(r.feed("21-detach-event", None), ["unrouted event"]);
    r.core.routes_mut().add_session(session, "session");
    // A session without that handle gets its handles' events.
    assert_eq!(r.feed("22-detached", None), ["event session detached"]);
    let handle = detached.sender.unwrap();
    r.core
        .routes_mut()
        .add_handle(session, handle, "detaching")
        .unwrap();
    assert_eq!(r.feed("21-detach-event", None), ["event detaching event"]);
    assert_eq!(r.feed("22-detached", None), ["event detaching detached"]);
    assert_eq!(
        r.core.routes_mut().remove_handle(session, handle),
        Some("detaching")
    );
    // The timeout is for another session (another instance): unroutable until registered.
    let timeout = one(&fixture("ws/24-session-timeout.json"));
    assert_eq!(r.feed("24-session-timeout", None), ["unrouted timeout"]);
    r.core
        .routes_mut()
        .add_session(timeout.session_id.unwrap(), "timed-out");
    assert_eq!(
        r.feed("24-session-timeout", None),
        ["event timed-out timeout"]
    );
    let stats = r.core.routes().stats();
    assert_eq!(stats.unroutable, 2);
}

#[test]
fn stream_messages_classify_like_serde_json_reads_them() {
    let stream = fixture("ws-stream.bin");
    let (out, ..) = replay(&[&stream]);
    for (_, bytes) in out.iter().filter(|(_, b)| !b.is_empty()) {
        let m = one(bytes);
        assert_matches_json(&m, &json(bytes), "stream message");
    }
}

#[test]
fn invalid_utf8_fails_the_payload_after_the_objects_before_it() {
    // Payloads are checked for UTF-8 once, up front; objects before the bad byte still count.
    let ack = fixture("compact/05-keepalive-ack.json");
    let mut payload = ack.clone();
    payload.extend_from_slice(b"\n{\"janus\":\"event\",\"x\":\"\xff\"}");
    let mut got = Vec::new();
    let r = classify_each(&Arc::from(payload.as_slice()), |m| got.push(m));
    assert!(matches!(r, Err(ProtocolError::InvalidJson(_))), "{r:?}");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].bytes(), &ack[..]);
    let mut tail = ack.clone();
    tail.push(0xc3); // a truncated two-byte sequence after a complete object
    assert!(matches!(
        classify(Arc::from(tail.as_slice())),
        Err(ProtocolError::InvalidJson(_))
    ));
    // Non-ASCII text is fine, in routing fields and elsewhere.
    let m = one("{\"janus\":\"event\",\"transaction\":\"h\u{e9}\",\"x\":\"\u{1F600}\"}".as_bytes());
    assert_eq!(m.transaction(), Some("h\u{e9}"));
}
