//! Bounded, stable-toolchain fuzzing of the frame parser/client, the classifier and the HTTP
//! response reader.
//!
//! Ignored by default; run with
//! `JANUS_FUZZ_SECONDS=60 cargo test -p janus_proto --release -- --ignored fuzz`
//! (`JANUS_FUZZ_SEED=<u64>` replays a run; the seed is printed). Inputs are random mutations of
//! valid streams/messages; the oracles are "no panic" plus invariants: split invariance, at most
//! one `Closed`, an error implies CLOSED, client output is valid masked framing, and every
//! classified message agrees with a full `serde_json::Value` parse of its byte range; the HTTP
//! reader gives the same responses and error however its input is split.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use janus_proto::http::{Response, ResponseReader};
use janus_proto::ws::frame::Opcode;
use janus_proto::{classify, HttpError, Rng, WsClient, WsEvent, WsState};

/// The corpus kept in the repository: `fuzz/corpus/<target>/*` (shared with the cargo-fuzz
/// targets) plus, for the classifier, every captured Janus message under `tests/fixtures/`.
fn repository_corpus(target: &str) -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("fuzz/corpus").join(target)];
    if target == "classify" {
        for sub in ["ws", "compact", "http"] {
            dirs.push(root.join("tests/fixtures").join(sub));
        }
    }
    let mut files = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        files.extend(paths.into_iter().filter_map(|p| std::fs::read(p).ok()));
    }
    assert!(
        !files.is_empty(),
        "the repository corpus for {target} is missing"
    );
    files
}

fn budget() -> (Duration, u64) {
    let secs = std::env::var("JANUS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let seed = std::env::var("JANUS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    (Duration::from_secs_f64(secs), seed)
}

fn below(rng: &mut Rng, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (rng.next_u64() % n as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"\\",
    b"\\u00",
    b"\"janus\":",
    b"\"ack\"",
    b"\"transaction\":",
    b"\"session_id\":",
    b"\"sender\":",
    b"9007199254740993",
    b"-1",
    b"1e999",
    b"null",
    b"\xff",
    b"\xc3",
    b"\x7e",
    b"\x7f",
    b"\x80",
    b"\x88\x02\x03\xe8",
    b"\x89\x00",
    b"\x00\x00\x00\x00",
    b"\r\n",
    b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"Content-Length: 3\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Connection: close\r\n",
    b"0\r\n\r\n",
    b"ffffffffffffffff\r\n",
];

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..=below(rng, 4) {
        let len = v.len();
        match below(rng, 8) {
            0 if len > 0 => {
                let i = below(rng, len);
                v[i] ^= 1 << below(rng, 8);
            }
            1 if len > 0 => {
                let i = below(rng, len);
                v[i] = rng.next_u32() as u8;
            }
            2 => {
                let t = TOKENS[below(rng, TOKENS.len())];
                let i = below(rng, len + 1);
                v.splice(i..i, t.iter().copied());
            }
            3 if len > 0 => {
                let a = below(rng, len);
                let b = (a + below(rng, 16)).min(len);
                v.drain(a..b);
            }
            4 if len > 0 => {
                let a = below(rng, len);
                let b = (a + below(rng, 32)).min(len);
                let chunk = v[a..b].to_vec();
                let i = below(rng, len + 1);
                v.splice(i..i, chunk);
            }
            5 => v.truncate(below(rng, len + 1)),
            6 => {
                let other = &corpus[below(rng, corpus.len())];
                let a = below(rng, other.len() + 1);
                let i = below(rng, len + 1);
                v.splice(i..i, other[a..].iter().copied());
            }
            _ => {
                let i = below(rng, len + 1);
                let mut junk = vec![0u8; below(rng, 8)];
                rng.fill_bytes(&mut junk);
                v.splice(i..i, junk);
            }
        }
    }
    v
}

fn ws_corpus(resp: &[u8]) -> Vec<Vec<u8>> {
    let mut frag = server_frame(false, Opcode::Text, b"{\"janus\":");
    frag.extend(server_frame(true, Opcode::Ping, b"x"));
    frag.extend(server_frame(true, Opcode::Continuation, b"\"ack\"}"));
    let mut all = vec![
        text_frame(EVENT_INDENTED),
        text_frame(&jsep_event("t", 1, 2)),
        frag,
        server_frame(true, Opcode::Binary, &[1, 2, 3]),
        close_frame(1000, "bye"),
        server_frame(true, Opcode::Pong, b""),
    ];
    let mut joined = Vec::new();
    for f in &all {
        joined.extend(f);
    }
    all.push(joined);
    all.push(resp.to_vec());
    all
}

/// Feed `input` in the given chunks; return (events, output, state, error count).
fn feed(input: &[u8], cuts: &[usize]) -> (Vec<WsEvent>, Vec<u8>, WsState, usize) {
    let mut c = WsClient::new(config(), SEED).unwrap();
    c.data_to_send();
    let (mut events, mut errors, mut prev) = (Vec::new(), 0, 0);
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(prev, input.len());
        if c.receive_data(&input[prev..cut]).is_err() {
            errors += 1;
            assert_eq!(c.state(), WsState::Closed);
        }
        events.extend(c.events());
        prev = cut;
    }
    (events, c.data_to_send(), c.state(), errors)
}

#[test]
#[ignore]
fn fuzz_ws_client_bounded() {
    let (time, seed) = budget();
    eprintln!("fuzz_ws_client_bounded: JANUS_FUZZ_SEED={seed}");
    let mut rng = Rng::new(&seed.to_le_bytes());
    let resp = {
        let mut c = WsClient::new(config(), SEED).unwrap();
        response_for(&c.data_to_send(), "janus-protocol")
    };
    let mut corpus = ws_corpus(&resp);
    corpus.extend(repository_corpus("ws_client"));
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < time {
        for _ in 0..32 {
            let base = &corpus[below(&mut rng, corpus.len())];
            // Mostly a valid handshake followed by mutated frames; sometimes a mutated handshake.
            let input = if below(&mut rng, 10) == 0 {
                let mut whole = resp.clone();
                whole.extend(base);
                mutate(&mut rng, &corpus, &whole)
            } else {
                let mut v = resp.clone();
                v.extend(mutate(&mut rng, &corpus, base));
                v
            };
            let whole = feed(&input, &[]);
            assert!(whole.3 <= 1);
            let closed = whole
                .0
                .iter()
                .filter(|e| matches!(e, WsEvent::Closed { .. }))
                .count();
            assert!(closed <= 1, "seed {seed}");
            let _ = parse_client_frames(&whole.1);
            let mut cuts: Vec<usize> = (0..below(&mut rng, 4))
                .map(|_| below(&mut rng, input.len() + 1))
                .collect();
            cuts.sort_unstable();
            assert_eq!(feed(&input, &cuts), whole, "split invariance, seed {seed}");
            runs += 1;
        }
    }
    eprintln!("fuzz_ws_client_bounded: {runs} inputs");
}

fn check_classify(input: &[u8]) {
    let Ok(msgs) = classify(Arc::from(input)) else {
        return;
    };
    for m in msgs {
        // Skipped values are checked against the JSON grammar only, which allows unpaired
        // surrogate escapes (`"\ud800"`) and huge numbers (`1e999`) that `Value` cannot hold.
        let v: serde_json::Value = match serde_json::from_slice(m.bytes()) {
            Ok(v) => v,
            Err(e)
                if ["surrogate", "code point", "out of range"]
                    .iter()
                    .any(|s| e.to_string().contains(s)) =>
            {
                continue
            }
            Err(e) => panic!("range is not one JSON value: {e}"),
        };
        let o = v.as_object().expect("object");
        assert_eq!(o["janus"].as_str(), Some(m.kind.as_str()));
        assert_eq!(
            o.get("transaction").and_then(|t| t.as_str()),
            m.transaction()
        );
        assert_eq!(o.get("session_id").and_then(|t| t.as_u64()), m.session_id);
        assert_eq!(o.get("sender").and_then(|t| t.as_u64()), m.sender);
        let jsep = o.get("jsep").is_some_and(|j| !j.is_null());
        assert_eq!(jsep, m.has_jsep);
        let plugin = o
            .get("plugindata")
            .and_then(|p| p.get("plugin"))
            .and_then(|p| p.as_str());
        assert_eq!(plugin, m.plugin());
    }
}

#[test]
#[ignore]
fn fuzz_classify_bounded() {
    let (time, seed) = budget();
    eprintln!("fuzz_classify_bounded: JANUS_FUZZ_SEED={seed}");
    let mut rng = Rng::new(&seed.to_le_bytes());
    let mut corpus: Vec<Vec<u8>> = vec![
        EVENT_INDENTED.into(),
        jsep_event("Iv93d7Bw9Vx3", 5083213296227181, 1863724185641224).into_bytes(),
        server_info("eq7PTHRnhLxy").into_bytes(),
        long_poll_array(1, 2).into_bytes(),
        br#"{"janus":"error","transaction":"a","error":{"code":459,"reason":"No such handle"}}{"janus":"ack"}"#.to_vec(),
        br#"{"janus":"success","transaction":"b","sender":8,"plugindata":{"plugin":"janus.plugin.textroom","data":{"error_code":418,"error":"exists"}}}"#.to_vec(),
    ];
    corpus.extend(repository_corpus("classify"));
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < time {
        for _ in 0..64 {
            let base = &corpus[below(&mut rng, corpus.len())];
            check_classify(&mutate(&mut rng, &corpus, base));
            runs += 1;
        }
    }
    eprintln!("fuzz_classify_bounded: {runs} inputs");
}

/// Every response the reader yields for `input` cut at `cuts`, then its error (size-free).
fn read_http(input: &[u8], cuts: &[usize]) -> (Vec<Response>, Option<String>) {
    let mut reader = ResponseReader::new(4096);
    let mut responses = Vec::new();
    let describe = |e: HttpError| match e {
        HttpError::BodyTooLarge { .. } => "BodyTooLarge".to_owned(),
        other => format!("{other:?}"),
    };
    let mut prev = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let mut piece = &input[prev..cut];
        prev = cut;
        loop {
            match reader.receive_data(piece) {
                Ok(Some(response)) => {
                    assert!(response.status >= 200);
                    responses.push(response);
                    piece = &[]; // the rest stays buffered until asked for
                }
                Ok(None) => break,
                Err(e) => return (responses, Some(describe(e))),
            }
        }
    }
    match reader.receive_eof() {
        Ok(Some(response)) => responses.push(response),
        Ok(None) => {}
        Err(e) => return (responses, Some(describe(e))),
    }
    (responses, None)
}

#[test]
#[ignore]
fn fuzz_http_response_bounded() {
    let (time, seed) = budget();
    eprintln!("fuzz_http_response_bounded: JANUS_FUZZ_SEED={seed}");
    let mut rng = Rng::new(&seed.to_le_bytes());
    let corpus = repository_corpus("http_response");
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < time {
        for _ in 0..64 {
            let base = &corpus[below(&mut rng, corpus.len())];
            let input = mutate(&mut rng, &corpus, base);
            let whole = read_http(&input, &[]);
            let mut cuts: Vec<usize> = (0..below(&mut rng, 5))
                .map(|_| below(&mut rng, input.len() + 1))
                .collect();
            cuts.sort_unstable();
            assert_eq!(
                read_http(&input, &cuts),
                whole,
                "split invariance, seed {seed}"
            );
            runs += 1;
        }
    }
    eprintln!("fuzz_http_response_bounded: {runs} inputs");
}
