//! Shared test helpers: a fake Janus server side (unmasked frames, 101 responses), a parser for
//! the client's masked frames, and realistic Janus messages in Janus's own styles.
#![allow(dead_code)]

use janus_proto::ws::frame::{self, Opcode};
use janus_proto::ws::handshake;
use janus_proto::{JanusCoreConfig, WsClient, WsConfig, WsEvent, WsJanusConnection};

pub const SEED: &[u8] = b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10";

pub fn config() -> WsConfig {
    WsConfig::new("127.0.0.1:8188", "/", "janus-protocol")
}

/// An unmasked server frame.
pub fn server_frame(fin: bool, op: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    frame::write_frame(&mut v, fin, op, payload, None);
    v
}

pub fn text_frame(s: &str) -> Vec<u8> {
    server_frame(true, Opcode::Text, s.as_bytes())
}

pub fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    server_frame(true, Opcode::Close, &p)
}

/// The `101` a real server would send for `request`.
pub fn response_for(request: &[u8], subprotocol: &str) -> Vec<u8> {
    let req = std::str::from_utf8(request).expect("request is ASCII");
    let key = req
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("key header");
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {subprotocol}\r\n\r\n",
        handshake::accept_key(key)
    )
    .into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFrame {
    pub fin: bool,
    pub opcode: Opcode,
    pub payload: Vec<u8>,
}

/// Parse (and unmask) every frame the client wrote; panics on anything not a masked frame.
pub fn parse_client_frames(mut bytes: &[u8]) -> Vec<ClientFrame> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let h = frame::parse_header(bytes)
            .expect("valid header")
            .expect("complete header");
        let key = h.mask.expect("client frames are masked");
        let end = h.header_len + h.payload_len as usize;
        let mut payload = bytes[h.header_len..end].to_vec();
        frame::apply_mask(&mut payload, key);
        out.push(ClientFrame {
            fin: h.fin,
            opcode: h.opcode,
            payload,
        });
        bytes = &bytes[end..];
    }
    out
}

/// A client that completed its handshake (request and `Opened` consumed).
pub fn open_client(cfg: WsConfig) -> WsClient {
    let sub = cfg.subprotocol.clone();
    let mut c = WsClient::new(cfg, SEED).unwrap();
    let req = c.data_to_send();
    c.receive_data(&response_for(&req, &sub)).unwrap();
    assert_eq!(c.events().collect::<Vec<_>>(), vec![WsEvent::Opened]);
    c
}

/// A connection that completed its handshake (request and outputs consumed); its `info` probe
/// (if coalescing is allowed) was sent and is left unanswered, so coalescing stays off.
pub fn open_conn<W, H>(janus: JanusCoreConfig) -> WsJanusConnection<W, H> {
    open_conn_probed(janus).0
}

/// Like [`open_conn`], also returning the transaction of the `info` probe it sent.
pub fn open_conn_probed<W, H>(janus: JanusCoreConfig) -> (WsJanusConnection<W, H>, Option<String>) {
    let mut c = WsJanusConnection::new(config(), janus, SEED).unwrap();
    let req = c.data_to_send();
    c.receive_data(&response_for(&req, "janus-protocol"))
        .unwrap();
    assert_eq!(c.drain_output().len(), 1);
    let frames = parse_client_frames(&c.data_to_send());
    let probe = frames.first().map(|f| {
        let v: serde_json::Value = serde_json::from_slice(&f.payload).unwrap();
        assert_eq!(v["janus"], "info");
        v["transaction"].as_str().unwrap().to_owned()
    });
    assert!(frames.len() <= 1);
    (c, probe)
}

/// Janus's `server_info` reply to `transaction`, for a server of version `version_string`.
pub fn server_info_frame(transaction: &str, version: u64, version_string: &str) -> Vec<u8> {
    text_frame(&indented(&serde_json::json!({
        "janus": "server_info",
        "transaction": transaction,
        "name": "Janus WebRTC Server",
        "version": version,
        "version_string": version_string,
        "author": "Meetecho s.r.l.",
        "session-timeout": 60,
        "reclaim-session-timeout": 0,
        "plugins": {"janus.plugin.echotest": {"version": 8}}
    })))
}

/// A connection whose probe was answered by a server of `version_string`.
pub fn open_conn_version<W, H>(
    janus: JanusCoreConfig,
    version: u64,
    version_string: &str,
) -> WsJanusConnection<W, H> {
    let (mut c, probe) = open_conn_probed(janus);
    let probe = probe.expect("a probe was sent");
    c.receive_data(&server_info_frame(&probe, version, version_string))
        .unwrap();
    assert!(c.drain_output().is_empty(), "the probe's reply is taken");
    c
}

/// Janus's default style: jansson `JSON_INDENT(3)`.
pub fn indented(v: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).unwrap();
    String::from_utf8(out).unwrap()
}

/// An echotest event exactly as Janus 1.1.2 indents it.
pub const EVENT_INDENTED: &str = r#"{
   "janus": "event",
   "session_id": 5083213296227181,
   "transaction": "gyqChngD0KWh",
   "sender": 1863724185641224,
   "plugindata": {
      "plugin": "janus.plugin.echotest",
      "data": {
         "echotest": "event",
         "result": "ok"
      }
   }
}"#;

/// A realistic SDP answer (~2.5 KB).
pub fn sdp_answer() -> String {
    let mut s = String::from(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 192.0.2.2\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
         a=ice-options:trickle\r\na=fingerprint:sha-256 3C:BB:6D:4A:B6:F4:79:0E:62:11:9C:D4:6A:22:\
         8B:1F:5D:46:E7:2F:61:0A:8B:36:90:FA:CE:B2:1A:6D:E5:04\r\na=extmap-allow-mixed\r\n\
         a=msid-semantic: WMS janus\r\n",
    );
    for (mid, kind, pt, codec) in [
        (0, "audio", 111, "opus/48000/2"),
        (1, "video", 96, "VP8/90000"),
    ] {
        s.push_str(&format!(
            "m={kind} 9 UDP/TLS/RTP/SAVPF {pt}\r\nc=IN IP4 192.0.2.2\r\na=sendrecv\r\na=mid:{mid}\r\n\
             a=rtcp-mux\r\na=ice-ufrag:Fq3x\r\na=ice-pwd:Hb1QyXWq4i7s2kqW8c5Rj0\r\na=ice-options:trickle\r\n\
             a=setup:active\r\na=rtpmap:{pt} {codec}\r\na=rtcp-fb:{pt} nack\r\na=rtcp-fb:{pt} nack pli\r\n\
             a=rtcp-fb:{pt} goog-remb\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
             a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n\
             a=msid:janus janus{kind}\r\na=ssrc:{ssrc} cname:janus\r\n\
             a=candidate:1 1 udp 2015363327 192.0.2.2 40{mid}00 typ host\r\n\
             a=candidate:2 1 tcp 1015021823 192.0.2.2 9 typ host tcptype active\r\n\
             a=candidate:3 1 udp 1679819007 198.51.100.7 40{mid}01 typ srflx raddr 192.0.2.2 rport 40{mid}00\r\n\
             a=end-of-candidates\r\n",
            ssrc = 1_000_000 + mid
        ));
    }
    while s.len() < 2600 {
        s.push_str("a=x-filler:janus-test-padding-line\r\n");
    }
    s
}

/// An ~3 KB event with a JSEP answer, indented like Janus.
pub fn jsep_event(transaction: &str, session: u64, sender: u64) -> String {
    indented(&serde_json::json!({
        "janus": "event",
        "session_id": session,
        "transaction": transaction,
        "sender": sender,
        "plugindata": {"plugin": "janus.plugin.echotest", "data": {"echotest": "event", "result": "ok"}},
        "jsep": {"type": "answer", "sdp": sdp_answer()}
    }))
}

/// A `server_info` reply like Janus 1.1.2's (compact).
pub fn server_info(transaction: &str) -> String {
    serde_json::json!({
        "janus": "server_info", "transaction": transaction, "name": "Janus WebRTC Server",
        "version": 1102, "version_string": "1.1.2", "author": "Meetecho s.r.l.",
        "commit-hash": "not-a-git-repo", "compile-time": "Thu Jan 19 08:09:02 UTC 2023",
        "log-to-stdout": true, "data_channels": true, "accepting-new-sessions": true,
        "session-timeout": 60, "reclaim-session-timeout": 0, "candidates-timeout": 45,
        "server-name": "janus-test", "local-ip": "192.0.2.2", "ipv6": false, "api_secret": false,
        "auth_token": false, "event_handlers": false, "opaqueid_in_api": false,
        "dependencies": {"glib2": "2.74.6", "jansson": "2.14", "libnice": "0.1.18"},
        "transports": {"janus.transport.websockets": {"name": "JANUS WebSockets transport plugin",
            "version_string": "0.0.1", "version": 1}},
        "plugins": {"janus.plugin.echotest": {"name": "JANUS EchoTest plugin", "version": 7,
            "version_string": "0.0.7", "description": "This is a trivial EchoTest plugin"}}
    })
    .to_string()
}

/// An HTTP long-poll reply (`maxev=5`): a JSON array of several events, indented.
pub fn long_poll_array(session: u64, sender: u64) -> String {
    indented(&serde_json::json!([
        {"janus": "event", "session_id": session, "transaction": "CsD87DccmthU", "sender": sender,
         "plugindata": {"plugin": "janus.plugin.echotest", "data": {"echotest": "event", "result": "ok"}}},
        {"janus": "webrtcup", "session_id": session, "sender": sender},
        {"janus": "media", "session_id": session, "sender": sender, "mid": "0", "type": "audio", "receiving": true},
        {"janus": "slowlink", "session_id": session, "sender": sender, "mid": "1", "media": "video", "uplink": true, "lost": 12},
        {"janus": "hangup", "session_id": session, "sender": sender, "reason": "DTLS alert"}
    ]))
}
