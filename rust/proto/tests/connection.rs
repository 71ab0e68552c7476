//! WsJanusConnection: handshake → requests → replies, coalescing, error policy, split invariance.

mod common;

use common::*;
use janus_proto::ws::frame::Opcode;
use janus_proto::{
    Expect, JanusCoreConfig, Kind, Output, ProtocolError, RequestOptions, WsJanusConnection,
    WsState,
};

type Conn = WsJanusConnection<u32, &'static str>;

fn ping() -> RequestOptions {
    RequestOptions::new(Expect::Pong)
}

/// The JSON objects inside one frame payload.
fn objects(payload: &[u8]) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_slice(payload)
        .into_iter::<serde_json::Value>()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn full_flow() {
    let mut c: Conn = WsJanusConnection::new(config(), JanusCoreConfig::default(), SEED).unwrap();
    assert_eq!(c.state(), WsState::Connecting);
    assert!(matches!(
        c.request(b"{}", 0, &ping()),
        Err(ProtocolError::InvalidState(_))
    ));
    let req = c.data_to_send();
    assert!(req.starts_with(b"GET / HTTP/1.1\r\n"));
    c.receive_data(&response_for(&req, "janus-protocol"))
        .unwrap();
    assert!(matches!(&c.drain_output()[..], [Output::Opened]));
    let (_, tx) = c.request(br#"{"janus":"ping"}"#, 1, &ping()).unwrap();
    let frames = parse_client_frames(&c.data_to_send());
    assert_eq!(frames.len(), 2, "the info probe, then the ping");
    assert_eq!(objects(&frames[0].payload)[0]["janus"], "info");
    assert_eq!(frames[1].opcode, Opcode::Text);
    let sent = objects(&frames[1].payload);
    assert_eq!(sent[0]["janus"], "ping");
    assert_eq!(sent[0]["transaction"], tx.as_str());
    c.receive_data(&text_frame(&format!(
        "{{\n   \"janus\": \"pong\",\n   \"transaction\": \"{tx}\"\n}}"
    )))
    .unwrap();
    match &c.drain_output()[..] {
        [Output::Completion {
            waiter: 1, message, ..
        }] => assert_eq!(message.kind, Kind::Pong),
        o => panic!("{o:?}"),
    }
    assert!(c.core().transactions().is_empty());
    assert!(!c.has_data_to_send());
}

#[test]
fn coalescing_three_requests_one_frame() {
    let mut c: Conn = open_conn_version(JanusCoreConfig::default(), 1102, "1.1.2");
    let o = RequestOptions {
        session_id: Some(5083213296227181),
        ..RequestOptions::new(Expect::Ack)
    };
    for i in 0..3 {
        c.request(br#"{"janus":"keepalive"}"#, i, &o).unwrap();
    }
    let frames = parse_client_frames(&c.data_to_send());
    assert_eq!(frames.len(), 1);
    let p = std::str::from_utf8(&frames[0].payload).unwrap();
    assert!(
        p.starts_with('{') && p.ends_with('}') && p.matches("}{").count() == 2,
        "{p}"
    );
    let objs = objects(&frames[0].payload);
    assert_eq!(objs.len(), 3);
    assert!(objs.iter().all(|v| v["session_id"] == 5083213296227181u64));
    // Nothing left over for the next flush.
    assert!(c.data_to_send().is_empty());
}

#[test]
fn coalescing_cap_respected() {
    let cfg = JanusCoreConfig {
        coalesce_max_bytes: 150,
        ..Default::default()
    };
    let mut c: Conn = open_conn_version(cfg, 1102, "1.1.2");
    let small = br#"{"janus":"message","body":{"request":"list"}}"#; // ~70 bytes encoded
    let big = format!(
        r#"{{"janus":"message","body":{{"pad":"{}"}}}}"#,
        "x".repeat(400)
    );
    for i in 0..5 {
        c.request(small, i, &RequestOptions::new(Expect::PluginMessage))
            .unwrap();
    }
    c.request(
        big.as_bytes(),
        5,
        &RequestOptions::new(Expect::PluginMessage),
    )
    .unwrap();
    c.request(small, 6, &RequestOptions::new(Expect::PluginMessage))
        .unwrap();
    let frames = parse_client_frames(&c.data_to_send());
    let counts: Vec<usize> = frames.iter().map(|f| objects(&f.payload).len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 7);
    for f in &frames {
        let n = objects(&f.payload).len();
        assert!(
            f.payload.len() <= 150 || n == 1,
            "frame of {} bytes holds {n}",
            f.payload.len()
        );
    }
    assert_eq!(
        counts,
        [2, 2, 1, 1, 1],
        "small pairs, the rest, big alone, trailing small"
    );
}

#[test]
fn coalescing_off_one_frame_per_request() {
    let cfg = JanusCoreConfig {
        coalesce: false,
        ..Default::default()
    };
    let mut c: Conn = open_conn(cfg);
    for i in 0..3 {
        c.request(br#"{"janus":"ping"}"#, i, &ping()).unwrap();
    }
    let frames = parse_client_frames(&c.data_to_send());
    assert_eq!(frames.len(), 3);
    assert!(frames.iter().all(|f| objects(&f.payload).len() == 1));
}

#[test]
fn with_data_to_send_borrows() {
    let mut c: Conn = open_conn(JanusCoreConfig::default());
    c.request(br#"{"janus":"ping"}"#, 1, &ping()).unwrap();
    let n = c.with_data_to_send(|b| parse_client_frames(b).len());
    assert_eq!(n, 1);
    assert!(!c.has_data_to_send());
}

#[test]
fn malformed_message_is_not_fatal() {
    let mut c: Conn = open_conn(JanusCoreConfig::default());
    let (_, tx) = c.request(br#"{"janus":"ping"}"#, 1, &ping()).unwrap();
    let mut data = text_frame("this is not json");
    data.extend(text_frame(r#"{"transaction":"x"}"#));
    data.extend(text_frame(&format!(
        r#"{{"janus":"pong","transaction":"{tx}"}}"#
    )));
    c.receive_data(&data).unwrap();
    let out = c.drain_output();
    assert!(matches!(
        out[0],
        Output::Malformed {
            error: ProtocolError::InvalidJson(_)
        }
    ));
    assert!(matches!(
        out[1],
        Output::Malformed {
            error: ProtocolError::MissingJanusField
        }
    ));
    assert!(matches!(out[2], Output::Completion { waiter: 1, .. }));
    assert_eq!(c.state(), WsState::Open);
    assert_eq!(c.core().malformed_count(), 2);
}

#[test]
fn websocket_error_is_fatal() {
    let mut c: Conn = open_conn(JanusCoreConfig::default());
    c.request(br#"{"janus":"ping"}"#, 1, &ping()).unwrap();
    let mut data = text_frame(r#"{"janus":"webrtcup","session_id":1,"sender":2}"#);
    data.extend([0x83, 0x00]);
    assert_eq!(c.receive_data(&data), Err(ProtocolError::ReservedOpcode(3)));
    let out = c.drain_output();
    assert!(matches!(out[0], Output::Unroutable { .. }));
    assert!(matches!(
        out[1],
        Output::Closed {
            code: Some(1002),
            clean: false,
            ..
        }
    ));
    // The queued request is dropped; only the close frame goes out. The waiter stays for drain.
    let frames = parse_client_frames(&c.data_to_send());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, Opcode::Close);
    assert_eq!(c.core_mut().drain_waiters(), vec![1]);
    assert!(c.request(b"{}", 2, &ping()).is_err());
}

#[test]
fn close_flushes_requests_first_then_handshake() {
    let mut c: Conn = open_conn(JanusCoreConfig::default());
    c.request(
        br#"{"janus":"destroy"}"#,
        1,
        &RequestOptions::new(Expect::Success),
    )
    .unwrap();
    c.close(1000, "bye").unwrap();
    assert_eq!(c.state(), WsState::Closing);
    let ops: Vec<Opcode> = parse_client_frames(&c.data_to_send())
        .iter()
        .map(|f| f.opcode)
        .collect();
    assert_eq!(ops, [Opcode::Text, Opcode::Close]);
    c.receive_data(&close_frame(1000, "")).unwrap();
    assert!(matches!(
        &c.drain_output()[..],
        [Output::Closed {
            code: Some(1000),
            clean: true,
            ..
        }]
    ));
    assert_eq!(c.core().transactions().len(), 1, "not auto-failed");
}

#[test]
fn eof_reports_closed() {
    let mut c: Conn = open_conn(JanusCoreConfig::default());
    c.request(br#"{"janus":"ping"}"#, 1, &ping()).unwrap();
    c.receive_eof();
    assert!(matches!(
        &c.drain_output()[..],
        [Output::Closed {
            code: None,
            clean: false,
            ..
        }]
    ));
    assert!(c.data_to_send().is_empty());
    assert_eq!(c.core_mut().drain_waiters(), vec![1]);
}

fn outputs_for(chunks: &[&[u8]]) -> (String, Vec<u8>) {
    let mut c: Conn = WsJanusConnection::new(config(), JanusCoreConfig::default(), SEED).unwrap();
    c.core_mut().routes_mut().add_session(1, "s");
    c.core_mut().routes_mut().add_handle(1, 2, "h").unwrap();
    let mut out = c.data_to_send();
    let mut items = Vec::new();
    for ch in chunks {
        c.receive_data(ch).unwrap();
        items.extend(c.drain_output());
        if c.state() == WsState::Open && c.core().transactions().is_empty() {
            c.request(
                br#"{"janus":"message","body":{}}"#,
                7,
                &RequestOptions::new(Expect::PluginMessage),
            )
            .unwrap();
        }
    }
    out.extend(c.data_to_send());
    (format!("{items:?}"), out)
}

#[test]
fn connection_split_anywhere() {
    let req = WsJanusConnection::<u32, ()>::new(config(), JanusCoreConfig::default(), SEED)
        .unwrap()
        .data_to_send();
    let mut stream = response_for(&req, "janus-protocol");
    stream.extend(text_frame(
        r#"{"janus":"webrtcup","session_id":1,"sender":2}"#,
    ));
    stream.extend(server_frame(true, Opcode::Ping, b"p"));
    stream.extend(text_frame(&long_poll_array(1, 2)));
    stream.extend(text_frame("{\"janus\":\"timeout\",\"session_id\":1}{\"janus\":\"detached\",\"session_id\":1,\"sender\":2}"));
    stream.extend(text_frame("garbage"));
    let whole = outputs_for(&[&stream]);
    assert!(whole.0.contains("Malformed"));
    for i in (0..=stream.len()).step_by(7) {
        let (a, b) = stream.split_at(i);
        assert_eq!(outputs_for(&[a, b]).0, whole.0, "split at {i}");
    }
}
