//! WsClient end to end: handshake, frames, split invariance, masking, close, errors.

mod common;

use common::*;
use janus_proto::ws::frame::Opcode;
use janus_proto::{HandshakeError, ProtocolError, WsClient, WsConfig, WsEvent, WsState};

/// A recorded-style server stream: 101, ping, fragmented text (with a ping inside), indented
/// events, a 3 KB JSEP event, compact server_info, a binary message, then a close.
fn server_stream(request: &[u8]) -> Vec<u8> {
    let mut s = response_for(request, "janus-protocol");
    s.extend(server_frame(true, Opcode::Ping, b"keepalive-1"));
    let frag = r#"{"janus":"ack","session_id":5083213296227181,"transaction":"gyqChngD0KWh","hint":"I'm taking my time! é"}"#;
    let (a, rest) = frag.as_bytes().split_at(20);
    let (b, c) = rest.split_at(rest.len() - 3);
    s.extend(server_frame(false, Opcode::Text, a));
    s.extend(server_frame(false, Opcode::Continuation, b));
    s.extend(server_frame(true, Opcode::Ping, b""));
    s.extend(server_frame(true, Opcode::Continuation, c));
    s.extend(text_frame(EVENT_INDENTED));
    s.extend(text_frame(&jsep_event(
        "Iv93d7Bw9Vx3",
        5083213296227181,
        1863724185641224,
    )));
    s.extend(text_frame(&server_info("eq7PTHRnhLxy")));
    s.extend(server_frame(true, Opcode::Pong, b"x"));
    s.extend(server_frame(true, Opcode::Binary, &[0, 1, 2, 255]));
    s.extend(close_frame(1001, "going away"));
    s
}

fn run(chunks: &[&[u8]]) -> (Vec<WsEvent>, Vec<u8>, WsState) {
    let mut c = WsClient::new(config(), SEED).unwrap();
    let mut out = c.data_to_send();
    let mut events = Vec::new();
    for chunk in chunks {
        c.receive_data(chunk).unwrap();
        events.extend(c.events());
        out.extend(c.data_to_send());
    }
    (events, out, c.state())
}

fn request_bytes() -> Vec<u8> {
    WsClient::new(config(), SEED).unwrap().data_to_send()
}

#[test]
fn full_stream_events() {
    let stream = server_stream(&request_bytes());
    let (events, out, state) = run(&[&stream]);
    assert_eq!(state, WsState::Closed);
    assert_eq!(events.len(), 7);
    assert_eq!(events[0], WsEvent::Opened);
    match &events[1] {
        WsEvent::Text(p) => assert!(std::str::from_utf8(p).unwrap().ends_with("é\"}")),
        e => panic!("{e:?}"),
    }
    assert_eq!(events[2], WsEvent::Text(EVENT_INDENTED.as_bytes().into()));
    assert!(matches!(&events[3], WsEvent::Text(p) if p.len() > 2800));
    assert_eq!(events[5], WsEvent::Binary(vec![0, 1, 2, 255].into()));
    assert_eq!(
        events[6],
        WsEvent::Closed {
            code: Some(1001),
            reason: "going away".into(),
            clean: true
        }
    );
    // Client wrote: request, two pongs, the close echo.
    let req_len = request_bytes().len();
    let frames = parse_client_frames(&out[req_len..]);
    let ops: Vec<Opcode> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(ops, [Opcode::Pong, Opcode::Pong, Opcode::Close]);
    assert_eq!(frames[0].payload, b"keepalive-1");
    assert_eq!(frames[2].payload, 1001u16.to_be_bytes());
}

#[test]
fn split_at_every_boundary_and_byte_by_byte() {
    let stream = server_stream(&request_bytes());
    let whole = run(&[&stream]);
    for i in 0..=stream.len() {
        let (a, b) = stream.split_at(i);
        assert_eq!(run(&[a, b]), whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&bytes), whole);
    let threes: Vec<&[u8]> = stream.chunks(3).collect();
    assert_eq!(run(&threes), whole);
}

#[test]
fn request_format_and_extra_headers() {
    let mut cfg = WsConfig::new("[::1]:8188", "/janus", "janus-admin-protocol");
    cfg.extra_headers
        .push(("User-Agent".into(), "janus-fast/0.1".into()));
    let mut c = WsClient::new(cfg.clone(), SEED).unwrap();
    let req = String::from_utf8(c.data_to_send()).unwrap();
    assert!(req.starts_with("GET /janus HTTP/1.1\r\nHost: [::1]:8188\r\nUpgrade: websocket\r\n"));
    assert!(req.contains("Sec-WebSocket-Protocol: janus-admin-protocol\r\n"));
    assert!(req.ends_with("User-Agent: janus-fast/0.1\r\n\r\n"));
    cfg.extra_headers
        .push(("X-Evil".into(), "a\r\nHost: b".into()));
    assert!(matches!(
        WsClient::new(cfg, SEED),
        Err(ProtocolError::InvalidArgument(_))
    ));
}

#[test]
fn bytes_after_101_are_frames() {
    let mut c = WsClient::new(config(), SEED).unwrap();
    let req = c.data_to_send();
    let mut data = response_for(&req, "janus-protocol");
    data.extend(text_frame(r#"{"janus":"pong"}"#));
    c.receive_data(&data).unwrap();
    let ev: Vec<_> = c.events().collect();
    assert_eq!(
        ev,
        vec![
            WsEvent::Opened,
            WsEvent::Text(br#"{"janus":"pong"}"#[..].into())
        ]
    );
}

#[test]
fn masking_round_trip_and_fresh_keys() {
    let mut c = open_client(config());
    let payload = jsep_event("t", 1, 2);
    c.send_text(payload.as_bytes()).unwrap();
    c.send_binary(b"abc").unwrap();
    c.send_text(b"").unwrap();
    let out = c.data_to_send();
    let frames = parse_client_frames(&out);
    assert_eq!(frames[0].payload, payload.as_bytes());
    assert_eq!(
        (frames[1].opcode, frames[1].payload.as_slice()),
        (Opcode::Binary, &b"abc"[..])
    );
    assert!(frames.iter().all(|f| f.fin));
    let k1 = janus_proto::ws::frame::parse_header(&out)
        .unwrap()
        .unwrap()
        .mask;
    let h1 = janus_proto::ws::frame::parse_header(&out).unwrap().unwrap();
    let second = &out[h1.header_len + h1.payload_len as usize..];
    let k2 = janus_proto::ws::frame::parse_header(second)
        .unwrap()
        .unwrap()
        .mask;
    assert_ne!(k1, k2);
    assert_eq!(c.stats().frames_out, 3);
}

#[test]
fn server_initiated_close() {
    let mut c = open_client(config());
    c.receive_data(&close_frame(1000, "bye")).unwrap();
    assert_eq!(c.state(), WsState::Closed);
    let ev: Vec<_> = c.events().collect();
    assert_eq!(
        ev,
        vec![WsEvent::Closed {
            code: Some(1000),
            reason: "bye".into(),
            clean: true
        }]
    );
    let frames = parse_client_frames(&c.data_to_send());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, 1000u16.to_be_bytes());
    // Later input and EOF change nothing.
    c.receive_data(&text_frame("{}")).unwrap();
    c.receive_eof();
    assert_eq!(c.events().count(), 0);
    assert!(matches!(
        c.send_text(b"x"),
        Err(ProtocolError::InvalidState(_))
    ));
}

#[test]
fn server_close_without_code() {
    let mut c = open_client(config());
    c.receive_data(&server_frame(true, Opcode::Close, b""))
        .unwrap();
    let ev: Vec<_> = c.events().collect();
    assert_eq!(
        ev,
        vec![WsEvent::Closed {
            code: None,
            reason: String::new(),
            clean: true
        }]
    );
    assert_eq!(parse_client_frames(&c.data_to_send())[0].payload, b"");
}

#[test]
fn client_initiated_close() {
    let mut c = open_client(config());
    c.close(1000, "done").unwrap();
    assert_eq!(c.state(), WsState::Closing);
    let frames = parse_client_frames(&c.data_to_send());
    assert_eq!(frames[0].opcode, Opcode::Close);
    assert_eq!(&frames[0].payload[2..], b"done");
    assert!(c.send_text(b"late").is_err());
    c.close(1000, "again").unwrap();
    assert!(!c.has_data_to_send(), "no second close frame");
    // Data still flows in while closing; pings are not answered any more.
    let mut data = text_frame(r#"{"janus":"event"}"#);
    data.extend(server_frame(true, Opcode::Ping, b"p"));
    data.extend(close_frame(1000, ""));
    c.receive_data(&data).unwrap();
    let ev: Vec<_> = c.events().collect();
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev[1],
        WsEvent::Closed {
            code: Some(1000),
            reason: String::new(),
            clean: true
        }
    );
    assert!(!c.has_data_to_send());
    assert!(c.close(1005, "").is_err(), "1005 may not be sent");
    assert!(c.close(1000, &"x".repeat(124)).is_err());
}

#[test]
fn close_while_connecting_and_eof() {
    let mut c = WsClient::new(config(), SEED).unwrap();
    assert!(c.send_text(b"x").is_err());
    c.close(1000, "").unwrap();
    assert_eq!(c.state(), WsState::Closed);
    assert_eq!(c.events().count(), 1);
    let mut c = open_client(config());
    c.receive_eof();
    let ev: Vec<_> = c.events().collect();
    assert_eq!(
        ev,
        vec![WsEvent::Closed {
            code: None,
            reason: String::new(),
            clean: false
        }]
    );
}

/// Feed `data` after the handshake; expect error `err` and a close frame with `code`.
fn expect_failure(cfg: WsConfig, data: &[u8], err: ProtocolError, code: u16) {
    let mut c = open_client(cfg);
    assert_eq!(c.receive_data(data), Err(err.clone()));
    assert_eq!(c.state(), WsState::Closed);
    let ev: Vec<_> = c.events().collect();
    assert_eq!(ev.len(), 1);
    assert!(matches!(&ev[0], WsEvent::Closed { code: Some(c), clean: false, .. } if *c == code));
    let frames = parse_client_frames(&c.data_to_send());
    assert_eq!(frames.len(), 1, "one close frame");
    assert_eq!(frames[0].opcode, Opcode::Close);
    assert_eq!(frames[0].payload[..2], code.to_be_bytes());
    // Ignored afterwards.
    assert_eq!(c.receive_data(&text_frame("{}")), Ok(()));
    assert_eq!(c.events().count(), 0);
    assert_eq!(err.close_code(), Some(code));
}

#[test]
fn protocol_errors_1002() {
    let cfg = config;
    expect_failure(cfg(), &[0x83, 0], ProtocolError::ReservedOpcode(3), 1002);
    expect_failure(cfg(), &[0x8F, 0], ProtocolError::ReservedOpcode(0xF), 1002);
    expect_failure(cfg(), &[0xC1, 0], ProtocolError::ReservedBits, 1002);
    expect_failure(
        cfg(),
        &[0x81, 0x81, 1, 2, 3, 4, b'x'],
        ProtocolError::MaskedServerFrame,
        1002,
    );
    expect_failure(
        cfg(),
        &[0x80, 0],
        ProtocolError::UnexpectedContinuation,
        1002,
    );
    let mut two_starts = server_frame(false, Opcode::Text, b"{");
    two_starts.extend(server_frame(true, Opcode::Text, b"}"));
    expect_failure(
        cfg(),
        &two_starts,
        ProtocolError::ExpectedContinuation,
        1002,
    );
    expect_failure(
        cfg(),
        &[0x09, 0],
        ProtocolError::FragmentedControlFrame,
        1002,
    );
    expect_failure(
        cfg(),
        &[0x88, 1, 3],
        ProtocolError::InvalidClosePayload,
        1002,
    );
    expect_failure(
        cfg(),
        &close_frame(1005, ""),
        ProtocolError::InvalidCloseCode(1005),
        1002,
    );
    expect_failure(
        cfg(),
        &close_frame(1015, ""),
        ProtocolError::InvalidCloseCode(1015),
        1002,
    );
    expect_failure(
        cfg(),
        &close_frame(999, ""),
        ProtocolError::InvalidCloseCode(999),
        1002,
    );
    let long = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
    expect_failure(cfg(), &long, ProtocolError::LengthOverflow, 1002);
}

#[test]
fn invalid_utf8_1007() {
    expect_failure(
        config(),
        &server_frame(true, Opcode::Text, b"{\xff}"),
        ProtocolError::InvalidUtf8,
        1007,
    );
    let mut p = 1000u16.to_be_bytes().to_vec();
    p.push(0xC3);
    expect_failure(
        config(),
        &server_frame(true, Opcode::Close, &p),
        ProtocolError::InvalidUtf8,
        1007,
    );
    // A multi-byte character split across fragments is fine.
    let mut c = open_client(config());
    let mut data = server_frame(false, Opcode::Text, b"\"\xC3");
    data.extend(server_frame(true, Opcode::Continuation, b"\xA9\""));
    c.receive_data(&data).unwrap();
    assert_eq!(
        c.events().next(),
        Some(WsEvent::Text("\"é\"".as_bytes().into()))
    );
}

#[test]
fn oversize_1009_on_header_and_during_reassembly() {
    let mut cfg = config();
    cfg.max_message_size = 1000;
    let big = server_frame(true, Opcode::Text, &[b' '; 1001]);
    // Only the header is needed to refuse it.
    let err = ProtocolError::MessageTooBig {
        size: 1001,
        max: 1000,
    };
    expect_failure(cfg.clone(), &big[..4], err, 1009);
    let mut frags = server_frame(false, Opcode::Text, &[b' '; 600]);
    frags.extend(server_frame(true, Opcode::Continuation, &[b' '; 401]));
    let err = ProtocolError::MessageTooBig {
        size: 1001,
        max: 1000,
    };
    expect_failure(cfg.clone(), &frags, err, 1009);
    // Exactly the limit is fine.
    let mut c = open_client(cfg);
    c.receive_data(&server_frame(true, Opcode::Binary, &[7; 1000]))
        .unwrap();
    assert_eq!(c.events().count(), 1);
}

#[test]
fn ping_pong_and_stats() {
    let mut c = open_client(config());
    let mut data = server_frame(true, Opcode::Ping, b"abc");
    data.extend(server_frame(true, Opcode::Pong, b"zzz"));
    data.extend(text_frame("{}"));
    c.receive_data(&data).unwrap();
    let frames = parse_client_frames(&c.data_to_send());
    assert_eq!(
        frames,
        vec![ClientFrame {
            fin: true,
            opcode: Opcode::Pong,
            payload: b"abc".to_vec()
        }]
    );
    let st = c.stats();
    assert_eq!(
        (st.frames_in, st.pings, st.pongs, st.messages_in),
        (3, 1, 1, 1)
    );
    c.send_ping(b"hi").unwrap();
    assert_eq!(
        parse_client_frames(&c.data_to_send())[0].opcode,
        Opcode::Ping
    );
    assert!(c.send_ping(&[0; 126]).is_err());
}

fn handshake_failure(response: &[u8]) -> ProtocolError {
    let mut c = WsClient::new(config(), SEED).unwrap();
    c.data_to_send();
    let err = c.receive_data(response).unwrap_err();
    assert_eq!(c.state(), WsState::Closed);
    let ev: Vec<_> = c.events().collect();
    assert!(
        matches!(
            &ev[..],
            [WsEvent::Closed {
                code: None,
                clean: false,
                ..
            }]
        ),
        "{ev:?}"
    );
    assert!(!c.has_data_to_send());
    err
}

#[test]
fn handshake_failures() {
    let e = handshake_failure(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        e,
        ProtocolError::Handshake(HandshakeError::BadStatus {
            code: 403,
            reason: "Forbidden".into()
        })
    );
    assert_eq!(
        handshake_failure(b"SSH-2.0-OpenSSH\r\n"),
        ProtocolError::Handshake(HandshakeError::NotHttp)
    );
    let mut huge = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 17_000));
    assert_eq!(
        handshake_failure(&huge),
        ProtocolError::Handshake(HandshakeError::HeaderTooLarge)
    );
    let req = request_bytes();
    let wrong = String::from_utf8(response_for(&req, "janus-protocol"))
        .unwrap()
        .replace("Sec-WebSocket-Protocol: janus-protocol\r\n", "");
    assert!(matches!(
        handshake_failure(wrong.as_bytes()),
        ProtocolError::Handshake(HandshakeError::SubprotocolMismatch { got: None, .. })
    ));
}
