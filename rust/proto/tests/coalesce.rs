//! Several requests per WebSocket frame only where the server accepts them: the `info` probe,
//! the version rule, the safety net for rejected frames (re-sent one per frame, nothing lost or
//! doubled), its bound, and split invariance.

mod common;

use common::*;
use janus_proto::coalesce::MAX_TRACKED_FRAMES;
use janus_proto::{
    Expect, JanusCoreConfig, Kind, Output, RequestOptions, WsJanusConnection, WsState,
};

type Conn = WsJanusConnection<u32, &'static str>;

/// Janus 1.0.x's answer to a frame holding several requests (jansson indented, no transaction).
const REJECTION: &str =
    "{\n   \"janus\": \"error\",\n   \"error\": {\n      \"code\": 456,\n      \
                         \"reason\": \"Missing mandatory element (transaction)\"\n   }\n}";

fn ping() -> RequestOptions {
    RequestOptions::new(Expect::Pong)
}

/// The JSON objects of every text frame the client wrote, frame by frame.
fn sent(c: &mut Conn) -> Vec<Vec<serde_json::Value>> {
    parse_client_frames(&c.data_to_send())
        .iter()
        .map(|f| {
            serde_json::Deserializer::from_slice(&f.payload)
                .into_iter::<serde_json::Value>()
                .map(Result::unwrap)
                .collect()
        })
        .collect()
}

fn pings(c: &mut Conn, waiters: std::ops::Range<u32>) -> Vec<String> {
    waiters
        .map(|w| {
            let (_, tx) = c.request(br#"{"janus":"ping"}"#, w, &ping()).unwrap();
            tx.as_str().to_owned()
        })
        .collect()
}

fn pong(tx: &str) -> Vec<u8> {
    text_frame(&format!(
        "{{\n   \"janus\": \"pong\",\n   \"transaction\": \"{tx}\"\n}}"
    ))
}

fn completed(out: &[Output<u32>]) -> Vec<u32> {
    out.iter()
        .map(|o| match o {
            Output::Completion {
                waiter, message, ..
            } => {
                assert_eq!(message.kind, Kind::Pong);
                *waiter
            }
            o => panic!("unexpected {o:?}"),
        })
        .collect()
}

#[test]
fn old_server_never_gets_a_multi_request_frame() {
    let mut c: Conn = open_conn_version(JanusCoreConfig::default(), 1004, "1.0.4");
    assert!(!c.framer().coalescing());
    assert_eq!(c.framer().server_version(), Some(1004));
    pings(&mut c, 0..5);
    let frames = sent(&mut c);
    assert_eq!(frames.len(), 5);
    assert!(frames.iter().all(|f| f.len() == 1));
}

#[test]
fn new_server_coalesces_after_its_answer_and_not_before() {
    let (mut c, probe): (Conn, _) = open_conn_probed(JanusCoreConfig::default());
    let probe = probe.unwrap();
    assert!(!c.framer().coalescing() && c.framer().probing());
    // Requests made before the answer go one per frame, without waiting for it.
    pings(&mut c, 0..3);
    assert_eq!(
        sent(&mut c).iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 1, 1]
    );
    // A request queued, then the answer arrives: later requests share a frame, not with it.
    pings(&mut c, 3..4);
    c.receive_data(&server_info_frame(&probe, 1102, "1.1.2"))
        .unwrap();
    assert!(
        c.drain_output().is_empty(),
        "the probe's reply reaches no waiter"
    );
    assert!(c.framer().coalescing() && !c.framer().probing());
    assert_eq!(c.framer().server_version(), Some(1102));
    let info: serde_json::Value =
        serde_json::from_slice(c.framer().server_info().unwrap()).unwrap();
    assert_eq!(info["version_string"], "1.1.2");
    assert_eq!(c.core().transactions().stats().unknown_transactions, 0);
    pings(&mut c, 4..7);
    assert_eq!(
        sent(&mut c).iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 3]
    );
}

#[test]
fn version_rule() {
    for (number, string, on) in [
        (1102, "1.1.2", true),
        (1200, "1.2.0-dev", true),
        (1101, "1.1.1", false),
        (1100, "1.1.0", false),
        (1004, "1.0.4", false),
        (1108, "0.11.8", false), // the string wins over an ambiguous number
    ] {
        let c: Conn = open_conn_version(JanusCoreConfig::default(), number, string);
        assert_eq!(c.framer().coalescing(), on, "{string}");
    }
}

#[test]
fn coalesce_option_off_means_no_probe_and_one_frame_each() {
    let cfg = JanusCoreConfig {
        coalesce: false,
        ..Default::default()
    };
    let (mut c, probe): (Conn, _) = open_conn_probed(cfg);
    assert!(probe.is_none());
    c.set_server_accepts(true);
    assert!(!c.framer().coalescing(), "the caller's option wins");
    pings(&mut c, 0..3);
    assert_eq!(sent(&mut c).len(), 3);
}

#[test]
fn rejected_frame_is_resent_one_per_frame_and_coalescing_stops() {
    let mut c: Conn = open_conn_version(JanusCoreConfig::default(), 1102, "1.1.2");
    let txs = pings(&mut c, 0..3);
    let first = sent(&mut c);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].len(), 3);
    assert_eq!(c.framer().tracked_frames(), 1);
    // Two more requests queued (coalesced) when the rejection arrives: they are split as well.
    let later = pings(&mut c, 3..5);
    c.receive_data(&text_frame(REJECTION)).unwrap();
    assert!(
        c.drain_output().is_empty(),
        "the rejection is taken, not unrouted"
    );
    assert!(!c.framer().coalescing());
    assert_eq!(c.framer().frames_resent(), 1);
    assert_eq!(c.framer().tracked_frames(), 0);
    let again = sent(&mut c);
    assert!(again.iter().all(|f| f.len() == 1), "{again:?}");
    let order: Vec<&str> = again
        .iter()
        .map(|f| f[0]["transaction"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = txs.iter().chain(&later).map(String::as_str).collect();
    assert_eq!(order, expected, "the rejected ones first, each once");
    assert_eq!(
        again[..3],
        first[0].iter().map(|v| vec![v.clone()]).collect::<Vec<_>>()[..]
    );
    // Later requests: one per frame. Every waiter completes exactly once.
    let last = pings(&mut c, 5..7);
    assert_eq!(sent(&mut c).len(), 2);
    let mut replies = Vec::new();
    for tx in txs.iter().chain(&later).chain(&last) {
        replies.extend(pong(tx));
    }
    c.receive_data(&replies).unwrap();
    let mut done = completed(&c.drain_output());
    done.sort_unstable();
    assert_eq!(done, (0..7).collect::<Vec<_>>());
    assert!(c.core().transactions().is_empty());
}

#[test]
fn each_rejection_takes_the_oldest_frame_and_an_unmatched_one_is_unrouted() {
    let cfg = JanusCoreConfig {
        coalesce_max_bytes: 100, // two pings per frame
        ..Default::default()
    };
    let mut c: Conn = open_conn_version(cfg, 1102, "1.1.2");
    let txs = pings(&mut c, 0..4);
    let frames = sent(&mut c);
    assert_eq!(frames.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
    assert_eq!(c.framer().tracked_frames(), 2);
    c.receive_data(&text_frame(REJECTION)).unwrap();
    let first: Vec<String> = sent(&mut c)
        .iter()
        .map(|f| f[0]["transaction"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(first, txs[..2]);
    c.receive_data(&text_frame(REJECTION)).unwrap();
    let second: Vec<String> = sent(&mut c)
        .iter()
        .map(|f| f[0]["transaction"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(second, txs[2..]);
    assert_eq!(c.framer().frames_resent(), 2);
    // Nothing left to match: a third transaction-less error is handled as before.
    c.receive_data(&text_frame(REJECTION)).unwrap();
    match &c.drain_output()[..] {
        [Output::Unroutable { message }] => assert_eq!(message.error.as_ref().unwrap().0, 456),
        o => panic!("{o:?}"),
    }
    assert!(sent(&mut c).is_empty(), "nothing sent twice");
}

#[test]
fn an_answered_frame_proves_the_server_and_ends_the_watch() {
    let mut c: Conn = open_conn_version(JanusCoreConfig::default(), 1102, "1.1.2");
    let txs = pings(&mut c, 0..3);
    sent(&mut c);
    c.receive_data(&pong(&txs[1])).unwrap();
    assert_eq!(completed(&c.drain_output()), [1]);
    assert_eq!(c.framer().tracked_frames(), 0);
    pings(&mut c, 3..6);
    assert_eq!(sent(&mut c).iter().map(Vec::len).collect::<Vec<_>>(), [3]);
    assert_eq!(
        c.framer().tracked_frames(),
        0,
        "nothing remembered any more"
    );
    // A transaction-less error now is an ordinary unroutable message; nothing is resent.
    c.receive_data(&text_frame(REJECTION)).unwrap();
    assert!(matches!(&c.drain_output()[..], [Output::Unroutable { .. }]));
    assert!(c.framer().coalescing());
    assert!(sent(&mut c).is_empty());
}

#[test]
fn remembered_frames_are_bounded_and_the_rest_go_one_per_frame() {
    let cfg = JanusCoreConfig {
        coalesce_max_bytes: 100,
        ..Default::default()
    };
    let mut c: Conn = open_conn_version(cfg, 1102, "1.1.2");
    let n = (MAX_TRACKED_FRAMES as u32 + 5) * 2;
    let txs = pings(&mut c, 0..n);
    let frames = sent(&mut c);
    assert_eq!(c.framer().tracked_frames(), MAX_TRACKED_FRAMES);
    let sizes: Vec<usize> = frames.iter().map(Vec::len).collect();
    assert!(sizes[..MAX_TRACKED_FRAMES].iter().all(|&s| s == 2));
    assert!(sizes[MAX_TRACKED_FRAMES..].iter().all(|&s| s == 1));
    assert_eq!(sizes.iter().sum::<usize>(), n as usize);
    // Every remembered frame rejected: all its requests come back once, nothing else.
    let rejections: Vec<u8> = (0..MAX_TRACKED_FRAMES)
        .flat_map(|_| text_frame(REJECTION))
        .collect();
    c.receive_data(&rejections).unwrap();
    assert!(c.drain_output().is_empty());
    let again: Vec<String> = sent(&mut c)
        .iter()
        .map(|f| {
            assert_eq!(f.len(), 1);
            f[0]["transaction"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(again, txs[..2 * MAX_TRACKED_FRAMES]);
    assert_eq!(c.framer().frames_resent(), MAX_TRACKED_FRAMES as u64);
}

#[test]
fn reconnection_forgets_the_version_but_not_a_rejection() {
    let mut c: Conn = open_conn_version(JanusCoreConfig::default(), 1102, "1.1.2");
    c.reset(SEED).unwrap();
    assert!(!c.framer().coalescing());
    assert_eq!(c.framer().server_version(), None);
    let req = c.data_to_send();
    c.receive_data(&response_for(&req, "janus-protocol"))
        .unwrap();
    let probe = sent(&mut c);
    assert_eq!(probe[0][0]["janus"], "info", "a new probe per socket");
    let tx = probe[0][0]["transaction"].as_str().unwrap().to_owned();
    c.receive_data(&server_info_frame(&tx, 1004, "1.0.4"))
        .unwrap();
    assert!(!c.framer().coalescing(), "this socket's server is old");
    // A server that lied once: no probe and no coalescing on later sockets.
    let mut c: Conn = open_conn_version(JanusCoreConfig::default(), 1102, "1.1.2");
    pings(&mut c, 0..2);
    sent(&mut c);
    c.receive_data(&text_frame(REJECTION)).unwrap();
    sent(&mut c);
    c.reset(SEED).unwrap();
    let req = c.data_to_send();
    c.receive_data(&response_for(&req, "janus-protocol"))
        .unwrap();
    assert!(sent(&mut c).is_empty());
    assert!(!c.framer().coalescing());
    assert_eq!(c.framer().frames_resent(), 1);
}

#[test]
fn closing_drops_the_watch() {
    let mut c: Conn = open_conn_version(JanusCoreConfig::default(), 1102, "1.1.2");
    pings(&mut c, 0..2);
    sent(&mut c);
    c.receive_eof();
    assert_eq!(c.state(), WsState::Closed);
    assert_eq!(c.framer().tracked_frames(), 0);
    assert_eq!(c.framer().frames_resent(), 0);
}

type Tail = dyn Fn(&[String]) -> Vec<u8>;

/// Handshake, probe answered (1.1.2), three pings coalesced, then the server stream `tail(txs)`
/// fed in two reads cut at `cut` (clamped); returns the outputs, the payloads of every frame the
/// client wrote after the handshake, and the stream's length.
fn replay(cut: usize, tail: &Tail) -> (String, Vec<Vec<u8>>, usize) {
    let mut c: Conn = open_conn_version(JanusCoreConfig::default(), 1102, "1.1.2");
    let txs = pings(&mut c, 0..3);
    let mut out = c.data_to_send();
    let stream = tail(&txs);
    let cut = cut.min(stream.len());
    let mut items = Vec::new();
    for part in [&stream[..cut], &stream[cut..]] {
        c.receive_data(part).unwrap();
        items.extend(c.drain_output());
        out.extend(c.data_to_send());
    }
    let payloads = parse_client_frames(&out)
        .into_iter()
        .map(|f| f.payload)
        .collect();
    (format!("{items:?}"), payloads, stream.len())
}

#[test]
fn the_rule_does_not_depend_on_how_reads_split_the_stream() {
    let tail = |txs: &[String]| {
        let mut s = text_frame(REJECTION);
        s.extend(text_frame(
            r#"{"janus":"webrtcup","session_id":1,"sender":2}"#,
        ));
        s.extend(text_frame(REJECTION)); // nothing left to match: unrouted
        for tx in txs.iter().rev() {
            s.extend(pong(tx));
        }
        s
    };
    let whole = replay(0, &tail);
    assert_eq!(whole.0.matches("Completion").count(), 3);
    assert_eq!(whole.0.matches("Unroutable").count(), 2);
    assert_eq!(
        whole.1.len(),
        1 + 3,
        "one coalesced frame, then its requests one by one"
    );
    for i in 1..whole.2 {
        let got = replay(i, &tail);
        assert_eq!((&got.0, &got.1), (&whole.0, &whole.1), "split at {i}");
    }
}

mod model {
    //! Model check: random batches of requests, flushes and reply timings against a server that
    //! rejects multi-request frames like Janus 1.0.x (or accepts them like 1.1.2). Every request
    //! is executed exactly once, every waiter completes exactly once, nothing is remembered
    //! beyond the bound.

    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// One step of the client: queue `n` pings, then flush (and maybe let the server's replies
    /// so far arrive, in one read or byte by byte in two halves).
    #[derive(Debug, Clone)]
    struct Step {
        n: u32,
        deliver: u8,
    }

    fn step() -> impl Strategy<Value = Step> {
        (1u32..12, 0u8..3).prop_map(|(n, deliver)| Step { n, deliver })
    }

    /// The server side: executes what it accepts and queues its replies.
    struct Server {
        accepts_multi: bool,
        executed: HashMap<String, u32>,
        rejections: u64,
        replies: Vec<u8>,
    }

    impl Server {
        fn take(&mut self, written: &[u8]) {
            for f in parse_client_frames(written) {
                let objs: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&f.payload)
                    .into_iter::<serde_json::Value>()
                    .map(Result::unwrap)
                    .collect();
                if objs.len() > 1 && !self.accepts_multi {
                    self.rejections += 1;
                    self.replies.extend(text_frame(REJECTION));
                    continue;
                }
                for o in objs {
                    let tx = o["transaction"].as_str().unwrap().to_owned();
                    self.replies.extend(pong(&tx));
                    *self.executed.entry(tx).or_default() += 1;
                }
            }
        }
    }

    fn run(steps: &[Step], accepts_multi: bool, cap: usize) -> Result<(), TestCaseError> {
        let cfg = JanusCoreConfig {
            coalesce_max_bytes: cap,
            ..Default::default()
        };
        let mut c: Conn = open_conn_version(cfg, 1102, "1.1.2");
        let mut server = Server {
            accepts_multi,
            executed: HashMap::new(),
            rejections: 0,
            replies: Vec::new(),
        };
        let mut next = 0u32;
        let mut done: Vec<u32> = Vec::new();
        let mut deliver = |c: &mut Conn, server: &mut Server, whole: bool| {
            let replies = std::mem::take(&mut server.replies);
            let cut = if whole {
                replies.len()
            } else {
                replies.len() / 2
            };
            for part in [&replies[..cut], &replies[cut..]] {
                c.receive_data(part).unwrap();
                done.extend(completed(&c.drain_output()));
                let written = c.data_to_send();
                server.take(&written);
            }
        };
        for s in steps {
            pings(&mut c, next..next + s.n);
            next += s.n;
            let written = c.data_to_send();
            server.take(&written);
            prop_assert!(c.framer().tracked_frames() <= MAX_TRACKED_FRAMES);
            if s.deliver > 0 {
                deliver(&mut c, &mut server, s.deliver == 1);
            }
        }
        while !server.replies.is_empty() {
            deliver(&mut c, &mut server, true);
        }
        prop_assert_eq!(server.executed.len(), next as usize);
        prop_assert!(server.executed.values().all(|&n| n == 1), "executed twice");
        done.sort_unstable();
        prop_assert_eq!(done, (0..next).collect::<Vec<_>>());
        prop_assert!(c.core().transactions().is_empty());
        prop_assert_eq!(c.framer().frames_resent(), server.rejections);
        if accepts_multi {
            prop_assert_eq!(server.rejections, 0);
        } else if steps.iter().any(|s| s.n >= 2) {
            // The first batch of two or more shared a frame: the net was exercised.
            prop_assert!(server.rejections >= 1);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn old_server_model(steps in proptest::collection::vec(step(), 1..12), cap in 100usize..400) {
            run(&steps, false, cap)?;
        }

        #[test]
        fn new_server_model(steps in proptest::collection::vec(step(), 1..12), cap in 100usize..400) {
            run(&steps, true, cap)?;
        }
    }
}
