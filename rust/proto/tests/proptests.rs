//! Property tests: no panics on arbitrary input, round trips, split invariance.

mod common;

use std::sync::Arc;

use common::*;
use janus_proto::janus::request::{encode, RequestFields};
use janus_proto::ws::frame::{self, Opcode};
use janus_proto::{classify, WsClient, WsEvent, WsState};
use proptest::prelude::*;

fn data_opcode() -> impl Strategy<Value = Opcode> {
    prop_oneof![Just(Opcode::Text), Just(Opcode::Binary)]
}

fn any_opcode() -> impl Strategy<Value = Opcode> {
    prop_oneof![
        Just(Opcode::Continuation),
        Just(Opcode::Text),
        Just(Opcode::Binary),
        Just(Opcode::Close),
        Just(Opcode::Ping),
        Just(Opcode::Pong)
    ]
}

/// One server message: opcode, payload (valid UTF-8 for text), fragment sizes, pings inside.
#[derive(Debug, Clone)]
struct Msg {
    opcode: Opcode,
    payload: Vec<u8>,
    cuts: Vec<usize>,
    ping_after_first: bool,
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        data_opcode(),
        ".{0,300}",
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(0usize..400, 0..4),
        any::<bool>(),
    )
        .prop_map(|(opcode, text, bin, mut cuts, ping_after_first)| {
            let payload = if opcode == Opcode::Text {
                text.into_bytes()
            } else {
                bin
            };
            cuts.iter_mut().for_each(|c| *c = (*c).min(payload.len()));
            cuts.sort_unstable();
            Msg {
                opcode,
                payload,
                cuts,
                ping_after_first,
            }
        })
}

fn encode_msg(m: &Msg, out: &mut Vec<u8>) {
    let mut bounds = vec![0];
    bounds.extend(&m.cuts);
    bounds.push(m.payload.len());
    let n = bounds.len() - 1;
    for i in 0..n {
        let op = if i == 0 {
            m.opcode
        } else {
            Opcode::Continuation
        };
        frame::write_frame(
            out,
            i == n - 1,
            op,
            &m.payload[bounds[i]..bounds[i + 1]],
            None,
        );
        if i == 0 && m.ping_after_first {
            frame::write_frame(out, true, Opcode::Ping, b"pp", None);
        }
    }
}

fn opened() -> (WsClient, Vec<u8>) {
    let mut c = WsClient::new(config(), SEED).unwrap();
    let req = c.data_to_send();
    (c, response_for(&req, "janus-protocol"))
}

fn run(stream: &[u8], cuts: &[usize]) -> (Vec<WsEvent>, Vec<u8>, WsState, Vec<String>) {
    let (mut c, _) = opened();
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let mut prev = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let cut = cut.clamp(prev, stream.len());
        if let Err(e) = c.receive_data(&stream[prev..cut]) {
            errors.push(e.to_string());
        }
        events.extend(c.events());
        prev = cut;
    }
    (events, c.data_to_send(), c.state(), errors)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_into_open_client_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600), split in 0usize..600) {
        let (mut c, resp) = opened();
        c.receive_data(&resp).unwrap();
        let split = split.min(data.len());
        let r1 = c.receive_data(&data[..split]);
        let r2 = c.receive_data(&data[split..]);
        if r1.is_err() || r2.is_err() {
            prop_assert_eq!(c.state(), WsState::Closed);
        }
        let closed = c.events().filter(|e| matches!(e, WsEvent::Closed { .. })).count();
        prop_assert!(closed <= 1);
        // Whatever the client wrote is valid masked framing.
        let _ = parse_client_frames(&c.data_to_send());
    }

    #[test]
    fn arbitrary_bytes_into_handshake_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (mut c, _) = opened();
        let _ = c.receive_data(&data);
        let _ = c.events().count();
    }

    #[test]
    fn arbitrary_bytes_into_classify_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = classify(Arc::from(data));
    }

    #[test]
    fn json_like_text_into_classify_never_panics(s in r#"[\[\]{}":,0-9a-z_ \n\\-]{0,200}"#) {
        if let Ok(msgs) = classify(Arc::from(s.as_bytes())) {
            for m in msgs {
                prop_assert!(serde_json::from_slice::<serde_json::Value>(m.bytes()).is_ok());
                let _ = (m.transaction(), m.plugin(), m.kind.as_str());
            }
        }
    }

    #[test]
    fn frame_round_trip(op in any_opcode(), fin in any::<bool>(), payload in proptest::collection::vec(any::<u8>(), 0..70_000usize), mask in proptest::option::of(any::<[u8; 4]>())) {
        let payload = if op.is_control() { &payload[..payload.len().min(125)] } else { &payload[..] };
        let fin = fin || op.is_control();
        let mut out = Vec::new();
        frame::write_frame(&mut out, fin, op, payload, mask);
        let h = frame::parse_header(&out).unwrap().unwrap();
        prop_assert_eq!((h.fin, h.opcode, h.mask, h.payload_len), (fin, op, mask, payload.len() as u64));
        prop_assert_eq!(h.header_len + payload.len(), out.len());
        let mut body = out[h.header_len..].to_vec();
        if let Some(k) = mask { frame::apply_mask(&mut body, k); }
        prop_assert_eq!(&body[..], payload);
    }

    #[test]
    fn fragmented_messages_reassemble_and_split_anywhere(msgs in proptest::collection::vec(msg(), 1..6), cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..4)) {
        let (_, resp) = opened();
        let mut stream = resp;
        for m in &msgs { encode_msg(m, &mut stream); }
        let whole = run(&stream, &[]);
        prop_assert!(whole.3.is_empty(), "{:?}", whole.3);
        let payloads: Vec<Vec<u8>> = whole.0.iter().filter_map(|e| match e {
            WsEvent::Text(p) | WsEvent::Binary(p) => Some(p.to_vec()),
            _ => None,
        }).collect();
        let expected: Vec<Vec<u8>> = msgs.iter().map(|m| m.payload.clone()).collect();
        prop_assert_eq!(payloads, expected);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(run(&stream, &cuts), whole);
    }

    #[test]
    fn corrupted_streams_split_anywhere(msgs in proptest::collection::vec(msg(), 1..4), flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..4), cut in any::<proptest::sample::Index>()) {
        let (_, resp) = opened();
        let hs = resp.len();
        let mut stream = resp;
        for m in &msgs { encode_msg(m, &mut stream); }
        for (i, v) in flips {
            let idx = hs + i.index(stream.len() - hs);
            stream[idx] ^= v;
        }
        let whole = run(&stream, &[]);
        let cut = cut.index(stream.len() + 1);
        prop_assert_eq!(run(&stream, &[cut]), whole);
    }

    #[test]
    fn request_encoding_round_trip(
        fields in proptest::collection::btree_map("[a-z]{1,8}", prop_oneof![any::<i64>().prop_map(serde_json::Value::from), ".{0,20}".prop_map(serde_json::Value::from)], 0..6),
        pretty in any::<bool>(),
        lead in "[ \n\t]{0,3}",
        session in proptest::option::of(0u64..(1 << 53)),
        handle in proptest::option::of(0u64..(1 << 53)),
        secret in proptest::option::of(".{0,12}"),
        token in proptest::option::of(".{0,12}"),
    ) {
        let spliced = ["transaction", "session_id", "handle_id", "apisecret", "token"];
        let obj: serde_json::Map<String, serde_json::Value> = fields.into_iter().filter(|(k, _)| !spliced.contains(&k.as_str())).collect();
        let body_v = serde_json::Value::Object(obj.clone());
        let body = format!("{lead}{}", if pretty { indented(&body_v) } else { body_v.to_string() });
        let original = body.clone();
        let f = RequestFields { transaction: "Xy1", session_id: session, handle_id: handle, apisecret: secret.as_deref(), token: token.as_deref() };
        let out = encode(body.as_bytes(), &f).unwrap();
        prop_assert_eq!(&body, &original);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let m = v.as_object().unwrap();
        for (k, val) in &obj { prop_assert_eq!(&m[k], val); }
        prop_assert_eq!(&m["transaction"], "Xy1");
        prop_assert_eq!(m.get("session_id").and_then(|x| x.as_u64()), session);
        prop_assert_eq!(m.get("handle_id").and_then(|x| x.as_u64()), handle);
        prop_assert_eq!(m.get("apisecret").and_then(|x| x.as_str()), secret.as_deref());
        prop_assert_eq!(m.get("token").and_then(|x| x.as_str()), token.as_deref());
        let extra = [session.is_some(), handle.is_some(), secret.is_some(), token.is_some()].iter().filter(|b| **b).count();
        prop_assert_eq!(m.len(), obj.len() + 1 + extra);
    }
}
