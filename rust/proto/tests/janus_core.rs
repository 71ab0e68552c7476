//! JanusCore: Janus completion rules, streams, deadlines, routing, outputs.

mod common;

use std::sync::Arc;

use common::*;
use janus_proto::janus::core::EventTarget;
use janus_proto::{
    Expect, JanusCore, JanusCoreConfig, Kind, Message, Output, OutputRef, ProtocolError,
    RequestOptions,
};

/// A waiter that is deliberately not `Clone`.
#[derive(Debug, PartialEq, Eq)]
struct Waiter(u32);

type Core = JanusCore<Waiter, &'static str>;

fn core() -> Core {
    JanusCore::new(&JanusCoreConfig::default(), SEED)
}

/// Send a request; returns its transaction string.
fn send(c: &mut Core, body: &str, w: u32, opts: RequestOptions) -> String {
    let mut out = Vec::new();
    let (id, tx) = c
        .encode_request(&mut out, body.as_bytes(), Waiter(w), &opts)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["transaction"], tx.as_str());
    assert_eq!(c.transactions().parse_id(tx.as_str()), Some(id));
    tx.to_string()
}

fn recv(c: &mut Core, json: &str) -> Vec<Output<Waiter>> {
    c.receive_message(Arc::from(json.as_bytes())).unwrap();
    c.drain_output()
}

fn completed(out: &[Output<Waiter>]) -> Vec<(u32, Kind)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Completion {
                waiter, message, ..
            } => Some((waiter.0, message.kind.clone())),
            _ => None,
        })
        .collect()
}

fn opts(expect: Expect) -> RequestOptions {
    RequestOptions::new(expect)
}

#[test]
fn success_and_error() {
    let mut c = core();
    let tx = send(&mut c, r#"{"janus":"create"}"#, 1, opts(Expect::Success));
    let out = recv(
        &mut c,
        &format!(r#"{{"janus":"success","transaction":"{tx}","data":{{"id":5083213296227181}}}}"#),
    );
    assert_eq!(completed(&out), [(1, Kind::Success)]);
    let tx = send(
        &mut c,
        r#"{"janus":"attach","plugin":"janus.plugin.nope"}"#,
        2,
        opts(Expect::Success),
    );
    let out = recv(
        &mut c,
        &indented(
            &serde_json::json!({"janus": "error", "session_id": 5083213296227181u64, "transaction": tx,
            "error": {"code": 460, "reason": "No such plugin 'janus.plugin.nope'"}}),
        ),
    );
    match &out[..] {
        [Output::Completion {
            waiter: Waiter(2),
            message,
            ..
        }] => {
            assert_eq!(
                message.error,
                Some((460, "No such plugin 'janus.plugin.nope'".into()))
            );
        }
        o => panic!("{o:?}"),
    }
    assert!(c.transactions().is_empty());
    assert_eq!(c.transactions().stats().completed, 2);
}

#[test]
fn ack_final_pong_server_info() {
    let mut c = core();
    let ka = send(&mut c, r#"{"janus":"keepalive"}"#, 1, opts(Expect::Ack));
    let tr = send(
        &mut c,
        r#"{"janus":"trickle","candidate":{"completed":true}}"#,
        2,
        opts(Expect::Ack),
    );
    let pi = send(&mut c, r#"{"janus":"ping"}"#, 3, opts(Expect::Pong));
    let info = send(&mut c, r#"{"janus":"info"}"#, 4, opts(Expect::ServerInfo));
    let mut all = Vec::new();
    all.extend(recv(
        &mut c,
        &format!(r#"{{"janus":"ack","session_id":1,"transaction":"{ka}"}}"#),
    ));
    all.extend(recv(
        &mut c,
        &format!(r#"{{"janus":"ack","session_id":1,"transaction":"{tr}"}}"#),
    ));
    all.extend(recv(
        &mut c,
        &format!("{{\n   \"janus\": \"pong\",\n   \"transaction\": \"{pi}\"\n}}"),
    ));
    all.extend(recv(&mut c, &server_info(&info)));
    let kinds = completed(&all);
    assert_eq!(
        kinds,
        [
            (1, Kind::Ack),
            (2, Kind::Ack),
            (3, Kind::Pong),
            (4, Kind::ServerInfo)
        ]
    );
    assert!(c.transactions().is_empty());
}

#[test]
fn plugin_message_sync_success() {
    let mut c = core();
    let tx = send(
        &mut c,
        r#"{"janus":"message","body":{"request":"create","room":4242}}"#,
        7,
        opts(Expect::PluginMessage),
    );
    let reply = format!(
        r#"{{"janus":"success","session_id":926352041743727,"transaction":"{tx}","sender":8333085493685483,"plugindata":{{"plugin":"janus.plugin.textroom","data":{{"textroom":"error","error_code":418,"error":"Room 4242 already exists"}}}}}}"#
    );
    match &recv(&mut c, &reply)[..] {
        [Output::Completion {
            waiter: Waiter(7),
            message,
            ..
        }] => {
            assert_eq!(message.plugin(), Some("janus.plugin.textroom"));
            assert_eq!(
                message.plugin_error,
                Some((418, "Room 4242 already exists".into()))
            );
        }
        o => panic!("{o:?}"),
    }
    assert!(c.transactions().is_empty());
}

#[test]
fn plugin_message_ack_then_event() {
    let mut c = core();
    let tx = send(
        &mut c,
        r#"{"janus":"message","body":{"audio":true}}"#,
        1,
        opts(Expect::PluginMessage),
    );
    let id = c.transactions().parse_id(&tx).unwrap();
    let ack = format!(
        r#"{{"janus":"ack","session_id":1,"transaction":"{tx}","hint":"I'm taking my time!"}}"#
    );
    assert!(recv(&mut c, &ack).is_empty());
    assert_eq!(
        c.transactions().pending_info(id),
        Some((Expect::PluginMessage, true, None))
    );
    let out = recv(&mut c, &jsep_event(&tx, 1, 2));
    match &out[..] {
        [Output::Completion {
            waiter: Waiter(1),
            message,
            ..
        }] => assert!(message.has_jsep),
        o => panic!("{o:?}"),
    }
    assert!(c.transactions().is_empty());
    assert_eq!(c.transactions().stats().acks, 1);
}

#[test]
fn plugin_message_event_then_stray_ack() {
    let mut c = core();
    let tx = send(
        &mut c,
        r#"{"janus":"message","body":{}}"#,
        1,
        opts(Expect::PluginMessage),
    );
    let out = recv(&mut c, &jsep_event(&tx, 1, 2));
    assert_eq!(completed(&out), [(1, Kind::Event)]);
    let out = recv(
        &mut c,
        &format!(r#"{{"janus":"ack","session_id":1,"transaction":"{tx}"}}"#),
    );
    assert!(matches!(&out[..], [Output::StrayAck { .. }]));
    assert_eq!(c.transactions().stats().stray_acks, 1);
    assert!(c.transactions().is_empty());
}

#[test]
fn stream_then_cancel_then_event_routing() {
    let mut c = core();
    c.routes_mut().add_session(1, "session");
    c.routes_mut().add_handle(1, 2, "handle").unwrap();
    let tx = send(
        &mut c,
        r#"{"janus":"message","body":{"request":"join"}}"#,
        9,
        opts(Expect::Stream),
    );
    let id = c.transactions().parse_id(&tx).unwrap();
    let msgs = [
        format!(r#"{{"janus":"ack","session_id":1,"transaction":"{tx}"}}"#),
        format!(
            r#"{{"janus":"event","session_id":1,"sender":2,"transaction":"{tx}","plugindata":{{"plugin":"p","data":{{}}}}}}"#
        ),
        format!(r#"{{"janus":"success","session_id":1,"sender":2,"transaction":"{tx}"}}"#),
    ];
    for m in &msgs {
        match &recv(&mut c, m)[..] {
            [Output::StreamItem { id: got, .. }] => assert_eq!(*got, id),
            o => panic!("{o:?}"),
        }
        assert_eq!(c.transactions().stream_waiter(id), Some(&Waiter(9)));
    }
    assert_eq!(c.cancel(&tx), Some(Waiter(9)));
    assert!(c.transactions().is_empty());
    match &recv(&mut c, &msgs[1])[..] {
        [Output::Event {
            target:
                EventTarget::Handle {
                    session_id: 1,
                    handle_id: 2,
                },
            ..
        }] => {}
        o => panic!("{o:?}"),
    }
    assert_eq!(c.transactions().stats().stream_items, 3);
    assert_eq!(c.transactions().stats().unknown_transactions, 1);
}

#[test]
fn deadlines_expire_and_next_deadline() {
    let mut c = core();
    let t = |d: Option<f64>| RequestOptions {
        deadline: d,
        ..opts(Expect::Success)
    };
    send(&mut c, r#"{"janus":"create"}"#, 10, t(Some(10.0)));
    send(&mut c, r#"{"janus":"create"}"#, 5, t(Some(5.0)));
    send(&mut c, r#"{"janus":"create"}"#, 20, t(Some(20.0)));
    let none = send(&mut c, r#"{"janus":"create"}"#, 0, t(None));
    let nan = send(&mut c, r#"{"janus":"create"}"#, 1, t(Some(f64::NAN)));
    assert_eq!(c.next_deadline(), Some(5.0));
    assert!(c.expire(4.9).is_empty());
    assert_eq!(c.expire(10.0), vec![Waiter(5), Waiter(10)]);
    assert_eq!(c.next_deadline(), Some(20.0));
    assert_eq!(c.expire(1e9), vec![Waiter(20)]);
    assert_eq!(c.next_deadline(), None);
    assert_eq!(c.transactions().len(), 2);
    assert_eq!(c.cancel(&none), Some(Waiter(0)));
    assert_eq!(c.cancel(&nan), Some(Waiter(1)));
    assert_eq!(c.cancel(&nan), None);
    assert_eq!(c.cancel("not-ours"), None);
    assert!(c.transactions().is_empty());
    assert_eq!(c.transactions().deadline_entries(), 0);
    let st = c.transactions().stats();
    assert_eq!((st.expired, st.cancelled), (3, 2));
}

#[test]
fn cancel_with_deadline_cleans_heap_and_drain() {
    let mut c = core();
    let mut txs = Vec::new();
    for i in 0..5 {
        let o = RequestOptions {
            deadline: Some(f64::from(i)),
            ..opts(Expect::Ack)
        };
        txs.push(send(&mut c, r#"{"janus":"keepalive"}"#, i as u32, o));
    }
    assert_eq!(c.cancel(&txs[0]), Some(Waiter(0)));
    assert_eq!(c.next_deadline(), Some(1.0));
    let drained = c.drain_waiters();
    assert_eq!(drained, (1..5).map(Waiter).collect::<Vec<_>>());
    assert!(c.transactions().is_empty());
    assert_eq!(c.transactions().deadline_entries(), 0);
    assert_eq!(c.next_deadline(), None);
    // A late reply after drain is unknown, routed (unroutable here).
    let out = recv(
        &mut c,
        &format!(r#"{{"janus":"ack","transaction":"{}"}}"#, txs[2]),
    );
    assert!(matches!(&out[..], [Output::StrayAck { .. }]));
}

#[test]
fn unmatched_reply_routes_and_keeps_waiting() {
    let mut c = core();
    c.routes_mut().add_session(1, "s");
    let tx = send(&mut c, r#"{"janus":"keepalive"}"#, 1, opts(Expect::Ack));
    let out = recv(
        &mut c,
        &format!(r#"{{"janus":"event","session_id":1,"transaction":"{tx}"}}"#),
    );
    assert!(matches!(
        &out[..],
        [Output::Event {
            target: EventTarget::Session { session_id: 1 },
            ..
        }]
    ));
    assert_eq!(c.transactions().len(), 1);
    let out = recv(
        &mut c,
        &format!(r#"{{"janus":"ack","session_id":1,"transaction":"{tx}"}}"#),
    );
    assert_eq!(completed(&out), [(1, Kind::Ack)]);
    let tx = send(
        &mut c,
        r#"{"janus":"message","body":{}}"#,
        2,
        opts(Expect::AnyReply),
    );
    let out = recv(
        &mut c,
        &format!(r#"{{"janus":"ack","transaction":"{tx}"}}"#),
    );
    assert_eq!(completed(&out), [(2, Kind::Ack)]);
    assert!(c.transactions().is_empty());
}

#[test]
fn routing_rules_and_counters() {
    let mut c = core();
    c.routes_mut().add_session(5083213296227181, "session");
    c.routes_mut()
        .add_handle(5083213296227181, 1863724185641224, "echotest")
        .unwrap();
    let out = recv(&mut c, &long_poll_array(5083213296227181, 1863724185641224));
    assert_eq!(out.len(), 5);
    assert!(out.iter().skip(1).all(|o| matches!(
        o,
        Output::Event {
            target: EventTarget::Handle { .. },
            ..
        }
    )));
    let timeout = "{\n   \"janus\": \"timeout\",\n   \"session_id\": 5083213296227181\n}";
    let out = recv(&mut c, timeout);
    assert!(
        matches!(&out[..], [Output::Event { target: EventTarget::Session { .. }, message }] if message.kind == Kind::Timeout)
    );
    let out = recv(
        &mut c,
        r#"{"janus":"detached","session_id":5083213296227181,"sender":77}"#,
    );
    assert!(matches!(
        &out[..],
        [Output::Event {
            target: EventTarget::Session { .. },
            ..
        }]
    ));
    let out = recv(
        &mut c,
        r#"{"janus":"hangup","session_id":1,"sender":77,"reason":"x"}"#,
    );
    assert!(matches!(&out[..], [Output::Unroutable { .. }]));
    let out = recv(&mut c, r#"{"janus":"keepalive"}"#);
    assert!(matches!(&out[..], [Output::Unroutable { .. }]));
    let st = c.routes().stats();
    // The array's first event carries an unknown transaction and is routed too.
    assert_eq!(
        (st.routed_to_handle, st.routed_to_session, st.unroutable),
        (5, 2, 2)
    );
}

#[test]
fn event_bytes_count_only_what_is_routed_as_an_event() {
    let mut c = core();
    c.routes_mut().add_session(1, "session");
    c.routes_mut().add_handle(1, 2, "handle").unwrap();
    let event =
        r#"{"janus":"event","session_id":1,"sender":2,"plugindata":{"plugin":"p","data":{}}}"#;
    let timeout = r#"{"janus":"timeout","session_id":1}"#;
    let stray = r#"{"janus":"hangup","session_id":9,"sender":3,"reason":"x"}"#;
    assert_eq!(c.event_bytes(), 0);
    recv(&mut c, event);
    assert_eq!(c.event_bytes(), event.len() as u64);
    // Two objects in one payload count their own bytes; an unroutable one counts nothing.
    recv(&mut c, &format!("{timeout}{stray}"));
    assert_eq!(c.event_bytes(), (event.len() + timeout.len()) as u64);
    // A reply to a request is a completion, not an event.
    let txid = send(&mut c, r#"{"janus":"ping"}"#, 1, opts(Expect::Pong));
    recv(
        &mut c,
        &format!(r#"{{"janus":"pong","transaction":"{txid}"}}"#),
    );
    assert_eq!(c.event_bytes(), (event.len() + timeout.len()) as u64);
}

#[test]
fn drain_output_with_resolves_refs() {
    let mut c = core();
    c.routes_mut().add_session(1, "session");
    c.routes_mut().add_handle(1, 2, "handle").unwrap();
    let stream = send(
        &mut c,
        r#"{"janus":"message","body":{}}"#,
        1,
        opts(Expect::Stream),
    );
    let ping = send(&mut c, r#"{"janus":"ping"}"#, 2, opts(Expect::Pong));
    let payload = format!(
        r#"{{"janus":"event","session_id":1,"sender":2,"transaction":"{stream}"}}{{"janus":"pong","transaction":"{ping}"}}{{"janus":"webrtcup","session_id":1,"sender":2}}{{"janus":"timeout","session_id":1}}{{"janus":"ack","transaction":"zz"}}"#
    );
    c.receive_message(Arc::from(payload.as_bytes())).unwrap();
    let mut seen = Vec::new();
    c.drain_output_with(|o| {
        seen.push(match o {
            OutputRef::StreamItem { waiter, .. } => format!("stream {}", waiter.0),
            OutputRef::Completion { waiter, .. } => format!("done {}", waiter.0),
            OutputRef::Event {
                target, handle_id, ..
            } => format!("event {target} {handle_id:?}"),
            OutputRef::StrayAck { .. } => "stray".to_string(),
            other => format!("{other:?}"),
        });
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(
        seen,
        [
            "stream 1",
            "done 2",
            "event handle Some(2)",
            "event session None",
            "stray"
        ]
    );
    // An error in the callback keeps the remaining items queued.
    c.receive_message(Arc::from(
        &br#"{"janus":"timeout","session_id":1}{"janus":"timeout","session_id":1}"#[..],
    ))
    .unwrap();
    assert_eq!(c.drain_output_with(|_| Err("stop")), Err("stop"));
    assert_eq!(c.output_len(), 1);
}

#[test]
fn encoding_errors_insert_nothing_and_credentials() {
    let cfg = JanusCoreConfig {
        apisecret: Some("se\"cret".into()),
        token: Some("tok".into()),
        ..Default::default()
    };
    let mut c: Core = JanusCore::new(&cfg, SEED);
    let mut out = b"prefix".to_vec();
    let r = c.encode_request(&mut out, b"[1,2]", Waiter(1), &opts(Expect::Success));
    assert!(matches!(r, Err(ProtocolError::InvalidArgument(_))));
    assert_eq!(out, b"prefix");
    assert!(c.transactions().is_empty());
    let o = RequestOptions {
        session_id: Some(1),
        handle_id: Some(2),
        ..opts(Expect::Ack)
    };
    let mut out = Vec::new();
    c.encode_request(&mut out, b"{\"janus\":\"trickle\"}", Waiter(2), &o)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (v["apisecret"].as_str(), v["token"].as_str()),
        (Some("se\"cret"), Some("tok"))
    );
    assert_eq!(
        (v["session_id"].as_u64(), v["handle_id"].as_u64()),
        (Some(1), Some(2))
    );
    let o = RequestOptions {
        with_credentials: false,
        ..opts(Expect::Pong)
    };
    let mut out = Vec::new();
    c.encode_request(&mut out, b"{\"janus\":\"ping\"}", Waiter(3), &o)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(
        v.get("apisecret").is_none() && v.get("token").is_none() && v.get("session_id").is_none()
    );
    assert_eq!(c.drain_waiters().len(), 2);
}

#[test]
fn an_ended_session_or_handle_takes_its_requests_and_only_them() {
    let mut c = core();
    let on = |session: u64, handle: Option<u64>, ids_in_body: bool| RequestOptions {
        session_id: Some(session),
        handle_id: handle,
        ids_in_body,
        ..opts(Expect::PluginMessage)
    };
    let acked = send(&mut c, r#"{"janus":"message"}"#, 1, on(7, Some(9), false));
    send(&mut c, r#"{"janus":"message"}"#, 2, on(8, Some(9), true));
    send(&mut c, r#"{"janus":"keepalive"}"#, 3, on(7, None, true));
    send(&mut c, r#"{"janus":"ping"}"#, 4, opts(Expect::Pong));
    send(&mut c, r#"{"janus":"message"}"#, 5, on(7, Some(10), true));
    send(&mut c, r#"{"janus":"message"}"#, 6, on(7, Some(9), true));
    // Acked, its event still owed: it stays pending until its handle or session ends.
    let ack = format!(r#"{{"janus":"ack","session_id":7,"transaction":"{acked}"}}"#);
    assert!(completed(&recv(&mut c, &ack)).is_empty());
    assert_eq!(c.drain_session(7, Some(9)), vec![Waiter(1), Waiter(6)]);
    assert_eq!(c.drain_session(7, None), vec![Waiter(3), Waiter(5)]);
    assert_eq!(c.drain_session(7, None), vec![]);
    assert_eq!(c.transactions().len(), 2);
    assert_eq!(c.transactions().stats().ended_with_route, 4);
    assert_eq!(c.drain_waiters(), vec![Waiter(2), Waiter(4)]);
}

#[test]
fn ids_stay_out_of_the_body_when_the_caller_carries_them() {
    let mut c = core();
    let o = RequestOptions {
        session_id: Some(1),
        handle_id: Some(2),
        ids_in_body: false,
        ..opts(Expect::Ack)
    };
    let mut out = Vec::new();
    c.encode_request(&mut out, b"{\"janus\":\"trickle\"}", Waiter(1), &o)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v.get("session_id").is_none() && v.get("handle_id").is_none());
    assert_eq!(c.drain_session(1, Some(2)), vec![Waiter(1)]);
}

#[test]
fn malformed_payloads() {
    let mut c = core();
    assert_eq!(
        c.receive_message(Arc::from(&b"not json"[..]))
            .map(|_| ())
            .unwrap_err()
            .close_code(),
        None
    );
    c.receive_message_lenient(Arc::from(&b"{\"no\":1}"[..]));
    let out = c.drain_output();
    assert!(matches!(
        &out[..],
        [Output::Malformed {
            error: ProtocolError::MissingJanusField
        }]
    ));
    assert_eq!(c.malformed_count(), 1);
    let m = Message::parse_one(EVENT_INDENTED.as_bytes()).unwrap();
    assert_eq!(m.transaction(), Some("gyqChngD0KWh"));
}
