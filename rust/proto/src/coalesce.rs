//! `Framer`: how the Janus requests queued on one WebSocket become text frames, and when several
//! of them may share a frame.
//!
//! Rule: Janus accepts several JSON requests in one WebSocket frame (`{..}{..}`) only since 1.1.2;
//! older servers answer such a frame with ONE `error` that has no `transaction` and execute none
//! of its requests. So a connection coalesces only once it has learned, on the current socket,
//! that the server is >= 1.1.2: right after each handshake an `info` probe goes out (its reply is
//! taken here, never reaches a waiter), and until the answer says `1.1.2` or later every request
//! travels in its own frame. The caller's `coalesce = false` keeps it off for good.
//!
//! Safety net (a server that reports a newer version than it is, a proxy): until one request of a
//! multi-request frame has been answered on this socket, each multi-request frame sent is
//! remembered (its transactions and bytes, at most [`MAX_TRACKED_FRAMES`]; when that many are
//! outstanding, requests go one per frame). A transaction-less `error` while frames are remembered
//! rejects the oldest of them: its requests are queued again, one per frame (they were never
//! executed), coalescing stays off on this connection from then on, and `frames_resent` counts it.
//! Any reply to a request of a remembered frame proves the server takes such frames: the record
//! is dropped and nothing is remembered for the rest of the socket. Nothing is lost or sent twice.

use std::collections::VecDeque;

use crate::janus::message::{Kind, Message};
use crate::janus::request::{TxId, TxIdGen};
use crate::ws::WsClient;

/// Most multi-request frames remembered at once, waiting for their first reply.
pub const MAX_TRACKED_FRAMES: usize = 64;

/// The first Janus version that accepts several requests in one WebSocket frame (1.1.2).
pub const FIRST_COALESCING_VERSION: (u64, u64, u64) = (1, 1, 2);

/// Transaction id recorded for a request sent without a registered transaction (`send_raw`).
const NO_TX: u64 = 0;

/// A multi-request frame sent and not yet answered.
#[derive(Debug)]
struct SentFrame {
    /// Transaction id of each request, in order (`NO_TX` for raw requests).
    ids: Vec<u64>,
    /// The frame's payload: the requests' bytes back to back.
    bytes: Vec<u8>,
    /// End of each request in `bytes`.
    ends: Vec<usize>,
}

/// Request framing and the coalescing policy of one WebSocket connection (sans I/O).
#[derive(Debug)]
pub struct Framer {
    /// The caller allows coalescing (`coalesce` option).
    allowed: bool,
    max_bytes: usize,
    /// The server is known (on this socket) to accept several requests per frame.
    accepts: bool,
    /// The safety net fired: off for the rest of this connection's life, reconnections included.
    rejected: bool,
    /// A request of a multi-request frame was answered on this socket: nothing to remember.
    confirmed: bool,
    /// Cached `allowed && accepts && !rejected`.
    coalescing: bool,
    /// Cached `coalescing && !confirmed`: multi-request frames are remembered.
    tracking: bool,
    server_version: Option<u64>,
    /// The probe's `server_info` reply (this socket's server).
    server_info: Option<Vec<u8>>,
    /// Transaction of the `info` probe in flight.
    probe: Option<TxId>,
    /// Encoded requests not yet framed.
    pending: Vec<u8>,
    /// Ends of the closed segments of `pending` (one frame each).
    segment_ends: Vec<usize>,
    /// Start of the open segment.
    segment_start: usize,
    /// While coalescing: (end in `pending`, transaction id) of each request queued. Coalescing
    /// starts with a fresh segment, so a segment holds either only marked requests or a single one.
    marks: Vec<(usize, u64)>,
    tracked: VecDeque<SentFrame>,
    /// End of the rejected requests queued again (they go before the others).
    resent_end: usize,
    frames_resent: u64,
}

impl Framer {
    /// New framer; `allowed`: the caller's `coalesce` option, `max_bytes`: frame size cap.
    pub fn new(allowed: bool, max_bytes: usize) -> Self {
        Self {
            allowed,
            max_bytes,
            accepts: false,
            rejected: false,
            confirmed: false,
            coalescing: false,
            tracking: false,
            server_version: None,
            server_info: None,
            probe: None,
            pending: Vec::new(),
            segment_ends: Vec::new(),
            segment_start: 0,
            marks: Vec::new(),
            tracked: VecDeque::new(),
            resent_end: 0,
            frames_resent: 0,
        }
    }

    /// Whether requests queued now may share a frame.
    pub fn coalescing(&self) -> bool {
        self.coalescing
    }

    /// Tell the framer whether the server accepts several requests per frame (until the next
    /// [`Framer::reset`]); `true` also clears an earlier rejection. Without the caller's
    /// permission (`coalesce = false`) coalescing stays off.
    pub fn set_server_accepts(&mut self, accepts: bool) {
        self.accepts = accepts;
        if accepts {
            self.rejected = false;
        }
        self.update_mode();
    }

    /// The `version` the server reported in its `info` on this socket, once known.
    pub fn server_version(&self) -> Option<u64> {
        self.server_version
    }

    /// The `server_info` the server sent in answer to this socket's probe, once answered.
    pub fn server_info(&self) -> Option<&[u8]> {
        self.server_info.as_deref()
    }

    /// Multi-request frames rejected by the server and sent again one request per frame.
    pub fn frames_resent(&self) -> u64 {
        self.frames_resent
    }

    /// Multi-request frames remembered now (waiting for their first reply).
    pub fn tracked_frames(&self) -> usize {
        self.tracked.len()
    }

    /// Whether an `info` probe is in flight.
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    fn update_mode(&mut self) {
        let was = self.coalescing;
        self.coalescing = self.allowed && self.accepts && !self.rejected;
        if self.coalescing && !was {
            // The open segment holds one request queued while off (unmarked): keep it alone.
            self.close_open_segment();
        } else if was && !self.coalescing {
            self.split_queued();
        }
        self.tracking = self.coalescing && !self.confirmed;
    }

    /// Cut what is queued into one frame per request (coalescing went off).
    fn split_queued(&mut self) {
        let mut bounds = std::mem::take(&mut self.segment_ends);
        bounds.extend(self.marks.drain(..).map(|(e, _)| e));
        bounds.push(self.pending.len());
        bounds.sort_unstable();
        bounds.dedup();
        bounds.retain(|&b| b > 0);
        self.segment_ends = bounds;
        self.segment_start = self.pending.len();
    }

    fn close_open_segment(&mut self) {
        if self.pending.len() > self.segment_start {
            self.segment_ends.push(self.pending.len());
            self.segment_start = self.pending.len();
        }
    }

    /// The buffer requests are encoded into; call [`Framer::queued`] after appending one.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.pending
    }

    /// A request was appended to the buffer at `before..` (`tx`: its transaction id, if one was
    /// registered). Ends the open segment before it unless it may share that frame.
    pub fn queued(&mut self, before: usize, tx: Option<u64>) {
        let split = !self.coalescing || self.pending.len() - self.segment_start > self.max_bytes;
        if split && before > self.segment_start {
            self.segment_ends.push(before);
            self.segment_start = before;
        }
        if self.coalescing {
            self.marks.push((self.pending.len(), tx.unwrap_or(NO_TX)));
        }
    }

    /// Whether requests wait to be framed.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The handshake completed: unless coalescing can never be on, queue the `info` probe under
    /// `tx` (an id of the connection's generator that no waiter uses), alone in its frame.
    pub fn opened(&mut self, tx: TxId) {
        if !self.allowed || self.rejected {
            return;
        }
        self.close_open_segment();
        let before = self.pending.len();
        self.pending
            .extend_from_slice(b"{\"janus\":\"info\",\"transaction\":\"");
        self.pending.extend_from_slice(tx.as_str().as_bytes());
        self.pending.extend_from_slice(b"\"}");
        self.queued(before, None);
        self.close_open_segment();
        self.probe = Some(tx);
    }

    /// Start over for a new socket (or after the old one closed): queued requests dropped, what
    /// was learned about the server forgotten, except that it rejected coalesced frames.
    pub fn reset(&mut self) {
        self.pending.clear();
        self.segment_ends.clear();
        self.segment_start = 0;
        self.marks.clear();
        self.tracked.clear();
        self.resent_end = 0;
        self.probe = None;
        self.server_version = None;
        self.server_info = None;
        self.accepts = false;
        self.confirmed = false;
        self.tracking = false;
        self.update_mode();
    }

    /// Frame every queued request into `ws` (multi-request frames are remembered while tracking).
    pub fn flush(&mut self, ws: &mut WsClient) {
        if self.pending.is_empty() {
            return;
        }
        let last = self.pending.len();
        let mut start = 0;
        let mut m = 0;
        for end in self.segment_ends.drain(..).chain(std::iter::once(last)) {
            if end <= start {
                continue;
            }
            let first = m;
            while m < self.marks.len() && self.marks[m].0 <= end {
                m += 1;
            }
            let marks = &self.marks[first..m];
            if self.tracking && marks.len() >= 2 {
                let mut req_start = start;
                if self.tracked.len() < MAX_TRACKED_FRAMES {
                    self.tracked.push_back(SentFrame {
                        ids: marks.iter().map(|&(_, id)| id).collect(),
                        bytes: self.pending[start..end].to_vec(),
                        ends: marks.iter().map(|&(e, _)| e - start).collect(),
                    });
                    req_start = end;
                    // Only fails when not OPEN; the waiters stay registered for the caller.
                    let _ = ws.send_text(&self.pending[start..end]);
                }
                // Too many frames await their first reply: these go one per frame.
                for &(req_end, _) in marks {
                    if req_end > req_start {
                        let _ = ws.send_text(&self.pending[req_start..req_end]);
                        req_start = req_end;
                    }
                }
            } else {
                let _ = ws.send_text(&self.pending[start..end]);
            }
            start = end;
        }
        self.pending.clear();
        self.segment_start = 0;
        self.marks.clear();
        self.resent_end = 0;
    }

    /// Look at a received message before it is dispatched; `true`: it was taken here (the probe's
    /// reply, or the error that rejected a multi-request frame) and must not be dispatched.
    pub fn intercept(&mut self, m: &Message, ids: &TxIdGen) -> bool {
        if self.probe.is_none() && self.tracked.is_empty() {
            return false;
        }
        let Some(tx) = m.transaction() else {
            if m.kind == Kind::Error && !self.tracked.is_empty() {
                self.reject_oldest();
                return true;
            }
            return false;
        };
        if self.probe.is_some_and(|p| p.as_str() == tx) {
            self.probe = None;
            if m.kind == Kind::ServerInfo {
                self.learn_version(m.bytes());
            }
            return true;
        }
        if !self.tracked.is_empty() {
            if let Some(id) = ids.parse(tx) {
                if self.tracked.iter().any(|f| f.ids.contains(&id)) {
                    // The server took a multi-request frame: nothing more to remember.
                    self.confirmed = true;
                    self.tracked.clear();
                    self.tracking = false;
                }
            }
        }
        false
    }

    fn learn_version(&mut self, info: &[u8]) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(info) else {
            return;
        };
        let number = v.get("version").and_then(serde_json::Value::as_u64);
        let parsed = v
            .get("version_string")
            .and_then(serde_json::Value::as_str)
            .and_then(parse_version);
        self.server_version = number;
        self.server_info = Some(info.to_vec());
        let accepts = match parsed {
            Some(version) => version >= FIRST_COALESCING_VERSION,
            None => number.is_some_and(|n| n >= 1102),
        };
        self.accepts = accepts;
        self.update_mode();
    }

    /// The oldest remembered frame was rejected: queue its requests again, one per frame, ahead
    /// of what is queued (split one per frame too), and stop coalescing.
    fn reject_oldest(&mut self) {
        let Some(frame) = self.tracked.pop_front() else {
            return;
        };
        self.frames_resent += 1;
        self.rejected = true;
        // What is queued now goes one request per frame.
        self.update_mode();
        // After the frames re-queued earlier (rejections come oldest first), before the rest.
        let at = self.resent_end;
        let n = frame.bytes.len();
        self.pending.splice(at..at, frame.bytes);
        let old = std::mem::take(&mut self.segment_ends);
        let mut ends: Vec<usize> = old.iter().copied().filter(|&e| e <= at).collect();
        ends.extend(frame.ends.iter().map(|&e| e + at));
        ends.extend(old.iter().filter(|&&e| e > at).map(|&e| e + n));
        ends.push(self.pending.len()); // the open segment (one request at most) ends too
        ends.dedup();
        self.segment_ends = ends;
        self.segment_start = self.pending.len();
        self.resent_end = at + n;
    }
}

/// `"1.1.2"` (or `"1.2.0-dev"`, `"1.1"`) → `(1, 1, 2)`; `None` unless it starts with digits.
fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let mut parts = s.trim().split('.').map(|p| {
        let digits = p.bytes().take_while(u8::is_ascii_digit).count();
        p[..digits].parse::<u64>().ok()
    });
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("1.1.2"), Some((1, 1, 2)));
        assert_eq!(parse_version("1.0.4"), Some((1, 0, 4)));
        assert_eq!(parse_version("1.2.0-dev"), Some((1, 2, 0)));
        assert_eq!(parse_version("0.14.4"), Some((0, 14, 4)));
        assert_eq!(parse_version("2"), Some((2, 0, 0)));
        assert_eq!(parse_version("v1.1.2"), None);
        assert_eq!(parse_version(""), None);
        assert!(parse_version("1.1.2").unwrap() >= super::FIRST_COALESCING_VERSION);
        assert!(parse_version("1.1.1").unwrap() < super::FIRST_COALESCING_VERSION);
        assert!(parse_version("0.14.4").unwrap() < super::FIRST_COALESCING_VERSION);
    }
}
