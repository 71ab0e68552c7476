//! Fuzz the WebSocket client after a valid handshake: the first byte picks a split point, the
//! rest is server data. Oracles: no panic, split invariance, at most one Closed event, errors
//! leave the client CLOSED.
#![no_main]

use janus_proto::ws::handshake::accept_key;
use janus_proto::{WsClient, WsConfig, WsEvent, WsState};
use libfuzzer_sys::fuzz_target;

const SEED: &[u8] = b"fuzz-seed-0123456789";

fn response(request: &[u8]) -> Vec<u8> {
    let req = String::from_utf8_lossy(request);
    let key = req
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap_or("");
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: janus-protocol\r\n\r\n",
        accept_key(key)
    )
    .into_bytes()
}

fn run(data: &[u8], split: usize) -> (Vec<WsEvent>, Vec<u8>, WsState) {
    let mut c =
        WsClient::new(WsConfig::new("localhost:8188", "/", "janus-protocol"), SEED).unwrap();
    let resp = response(&c.data_to_send());
    c.receive_data(&resp).unwrap();
    let mut events: Vec<WsEvent> = c.events().collect();
    let (a, b) = data.split_at(split.min(data.len()));
    for chunk in [a, b] {
        if c.receive_data(chunk).is_err() {
            assert_eq!(c.state(), WsState::Closed);
        }
        events.extend(c.events());
    }
    (events, c.data_to_send(), c.state())
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    let split = usize::from(first) * data.len() / 255;
    let whole = run(data, data.len());
    let closed = whole
        .0
        .iter()
        .filter(|e| matches!(e, WsEvent::Closed { .. }))
        .count();
    assert!(closed <= 1);
    assert_eq!(run(data, split), whole);
});
