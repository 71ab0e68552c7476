//! The transaction table, generic over the waiter type `W` (a Python Future in the binding).
//!
//! Rule: a transaction is in the table from `insert` until exactly one of complete / cancel /
//! expire / drain takes its waiter out, and after that nothing of it remains for long: the map entry
//! goes at once and its deadline-heap entry is dropped lazily, with the heap rebuilt whenever stale
//! entries exceed `2 × live + 64`. Completion follows Janus 1.1.2 (see [`Expect`]). Insert, resolve
//! and cancel are O(1) (plus O(log n) heap work for deadlines). Deadlines are caller-clock `f64`s;
//! NaN means "no deadline", never a panic.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use super::message::{Kind, Message};
use super::request::{TxId, TxIdGen};
use super::IdBuildHasher;

/// What completes a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// create/attach/detach/destroy/hangup/claim: `success` or `error` (an `ack` is noted).
    Success,
    /// keepalive/trickle: `ack` or `error`.
    Ack,
    /// ping: `pong` or `error`.
    Pong,
    /// info: `server_info` or `error`.
    ServerInfo,
    /// plugin `message`: `success` (synchronous plugin), `error`, or `event`; an `ack` only marks
    /// it acked. The event may come before the ack: the late ack is then a stray ack.
    PluginMessage,
    /// janus-client `MessageTransaction`: every message with this transaction is a stream item
    /// until the caller cancels it; never completes on its own.
    Stream,
    /// The first message with this transaction, whatever its type.
    AnyReply,
}

/// What the server still owes a transaction (for [`Transactions::awaiting_replies`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owed {
    /// Nothing: not sent by us (a watcher, a caller-encoded request), or already answered.
    Nothing,
    /// Any first message.
    FirstReply,
    /// A message other than `ack` (a plugin `message`: its `ack` is followed by the answer).
    NonAckReply,
}

/// What [`Transactions::resolve`] did with a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution<W> {
    /// The message has no (string) `transaction`.
    NoTransaction,
    /// A transaction we do not know (not ours, or already finished); counted.
    Unknown,
    /// An `ack` for a transaction we do not know (e.g. after its event); counted.
    StrayAck,
    /// An `ack` noted; the transaction keeps waiting.
    Pending,
    /// A known transaction, but this message type does not complete it; it keeps waiting and the
    /// message should be routed like an event.
    Unmatched,
    /// The transaction completed: its id and waiter (removed from the table).
    Complete(u64, W),
    /// A message for a stream; the waiter stays (see [`Transactions::get`]).
    StreamItem(u64),
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxStats {
    /// Transactions inserted.
    pub inserted: u64,
    /// Completed by a reply.
    pub completed: u64,
    /// Removed by `expire`.
    pub expired: u64,
    /// Removed by `cancel`.
    pub cancelled: u64,
    /// Removed by `drain`.
    pub drained: u64,
    /// Removed by `drain_session` (their session or handle ended).
    pub ended_with_route: u64,
    /// Acks noted on pending transactions.
    pub acks: u64,
    /// Acks for unknown transactions.
    pub stray_acks: u64,
    /// Non-ack messages with an unknown transaction.
    pub unknown_transactions: u64,
    /// Messages delivered to streams.
    pub stream_items: u64,
}

/// The smallest wire size of any reply Janus can send to a request, its transaction id aside: a
/// server frame's 2-byte header plus `{"janus":"ack","transaction":""}` (32 bytes; `ack` is the
/// shortest message type). See [`min_reply_wire_bytes`].
pub const MIN_REPLY_WIRE_BYTES: usize = 34;

/// A lower bound of the wire size of Janus's reply to a request with a `transaction_len`-byte id
/// sent in session `session_id`: Janus (`janus_create_message`, and the plugin events) puts the
/// session id in every reply within a session, as `,"session_id":N`. Pretty-printed JSON or more
/// fields only make the real reply longer.
pub fn min_reply_wire_bytes(transaction_len: usize, session_id: Option<u64>) -> usize {
    let session = session_id.map_or(0, |id| {
        let digits = id.checked_ilog10().map_or(1, |d| d as usize + 1);
        14 + digits
    });
    MIN_REPLY_WIRE_BYTES + transaction_len + session
}
/// Cap of [`Transactions::receive_low_watermark`]: far below Linux's default receive buffer, so
/// setting it never makes the kernel resize the buffer or clamp the TCP window.
pub const MAX_RECEIVE_LOW_WATERMARK: usize = 16 * 1024;

/// A receive low-watermark for `bytes` expected soon: `bytes` rounded down to a power of two (so
/// the value changes rarely while the estimate moves), at least 1, at most
/// [`MAX_RECEIVE_LOW_WATERMARK`]. Every watermark a reader sets goes through this one rule.
pub fn watermark_step(bytes: usize) -> usize {
    if bytes == 0 {
        return 1;
    }
    (1usize << (usize::BITS - 1 - bytes.leading_zeros())).min(MAX_RECEIVE_LOW_WATERMARK)
}

#[derive(Debug)]
struct Entry<W> {
    waiter: W,
    expect: Expect,
    deadline: Option<f64>,
    acked: bool,
    owed: Owed,
    /// Lower bound of the wire size of what is owed (0 when nothing is).
    owed_bytes: usize,
    /// The (session, handle) the request was sent for (`None`: outside one, or not said).
    route: Route,
}

/// The (session, handle) a request was sent for.
pub(crate) type Route = (Option<u64>, Option<u64>);

#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: f64,
    id: u64,
}

impl Ord for Deadline {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.total_cmp(&other.at).then(self.id.cmp(&other.id))
    }
}
impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Deadline {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Deadline {}

enum Decision {
    Complete,
    Ack,
    Stream,
    Unmatched,
}

/// Pending transactions keyed by their numeric id.
#[derive(Debug)]
pub struct Transactions<W> {
    ids: TxIdGen,
    map: HashMap<u64, Entry<W>, IdBuildHasher>,
    heap: BinaryHeap<Reverse<Deadline>>,
    live_deadlines: usize,
    awaiting_replies: usize,
    awaiting_bytes: usize,
    stats: TxStats,
    /// Streams whose deadline passed (see [`Transactions::take_expired_streams`]).
    expired_streams: Vec<u64>,
}

impl<W> Transactions<W> {
    /// Empty table issuing ids from `ids`.
    pub fn new(ids: TxIdGen) -> Self {
        Self {
            ids,
            map: HashMap::default(),
            heap: BinaryHeap::new(),
            live_deadlines: 0,
            awaiting_replies: 0,
            awaiting_bytes: 0,
            stats: TxStats::default(),
            expired_streams: Vec::new(),
        }
    }

    /// The id generator (for formatting/parsing wire strings).
    pub fn ids(&self) -> &TxIdGen {
        &self.ids
    }

    /// Wire string of `id`.
    pub fn format_id(&self, id: u64) -> TxId {
        self.ids.format(id)
    }

    /// Id of a wire string we produced; `None` for foreign strings.
    pub fn parse_id(&self, s: &str) -> Option<u64> {
        self.ids.parse(s)
    }

    /// Add a waiter for a request the table did not see sent (nothing is counted as owed);
    /// returns its id (format it with [`Transactions::format_id`]).
    pub fn insert(&mut self, waiter: W, expect: Expect, deadline: Option<f64>) -> u64 {
        let id = self.ids.next_id();
        self.insert_with_id(id, waiter, expect, deadline, Owed::Nothing, 0, (None, None));
        id
    }

    /// Allocate an id without inserting (the core encodes first, then inserts).
    pub(crate) fn reserve_id(&mut self) -> u64 {
        self.ids.next_id()
    }

    /// Insert under an id from [`Transactions::reserve_id`]; `owed`: what the server owes for
    /// it, if the request went (or is queued to go) to it, and `owed_bytes` a lower bound of that
    /// reply's wire size (see [`Transactions::receive_low_watermark`]); `route`: the session and
    /// handle it was sent for (see [`Transactions::drain_session`]).
    #[allow(clippy::too_many_arguments)] // one plain record; a struct would only rename them
    pub(crate) fn insert_with_id(
        &mut self,
        id: u64,
        waiter: W,
        expect: Expect,
        deadline: Option<f64>,
        owed: Owed,
        owed_bytes: usize,
        route: Route,
    ) {
        let deadline = deadline.filter(|d| !d.is_nan());
        if let Some(at) = deadline {
            self.heap.push(Reverse(Deadline { at, id }));
            self.live_deadlines += 1;
        }
        let entry = Entry {
            waiter,
            expect,
            deadline,
            acked: false,
            owed,
            owed_bytes: if owed == Owed::Nothing { 0 } else { owed_bytes },
            route,
        };
        self.count_owed(&entry, true);
        if let Some(old) = self.map.insert(id, entry) {
            // Only after 2^64 ids; keep the accounting right anyway.
            if old.deadline.is_some() {
                self.live_deadlines -= 1;
            }
            self.count_owed(&old, false);
        }
        self.stats.inserted += 1;
    }

    /// Apply Janus's completion rules to `msg`.
    pub fn resolve(&mut self, msg: &Message) -> Resolution<W> {
        let Some(tx) = msg.transaction() else {
            return Resolution::NoTransaction;
        };
        let key = self.ids.parse(tx);
        let Some((id, entry)) = key.and_then(|k| self.map.get_mut(&k).map(|e| (k, e))) else {
            return if msg.kind == Kind::Ack {
                self.stats.stray_acks += 1;
                Resolution::StrayAck
            } else {
                self.stats.unknown_transactions += 1;
                Resolution::Unknown
            };
        };
        let answered = match entry.owed {
            Owed::Nothing => false,
            Owed::FirstReply => true,
            Owed::NonAckReply => msg.kind != Kind::Ack,
        };
        if answered {
            entry.owed = Owed::Nothing;
            self.awaiting_replies -= 1;
            self.awaiting_bytes -= entry.owed_bytes;
            entry.owed_bytes = 0;
        }
        let decision = match (entry.expect, &msg.kind) {
            (Expect::Stream, _) => Decision::Stream,
            (Expect::AnyReply, _) | (_, Kind::Error) | (Expect::Ack, Kind::Ack) => {
                Decision::Complete
            }
            (_, Kind::Ack) => Decision::Ack,
            (Expect::Success, Kind::Success)
            | (Expect::Pong, Kind::Pong)
            | (Expect::ServerInfo, Kind::ServerInfo)
            | (Expect::PluginMessage, Kind::Success | Kind::Event) => Decision::Complete,
            _ => Decision::Unmatched,
        };
        match decision {
            Decision::Stream => {
                self.stats.stream_items += 1;
                Resolution::StreamItem(id)
            }
            Decision::Ack => {
                entry.acked = true;
                self.stats.acks += 1;
                Resolution::Pending
            }
            Decision::Unmatched => Resolution::Unmatched,
            Decision::Complete => match self.remove(id) {
                Some(e) => {
                    self.stats.completed += 1;
                    Resolution::Complete(id, e.waiter)
                }
                None => Resolution::Unknown,
            },
        }
    }

    /// The waiter of a pending transaction (streams stay in the table while they receive).
    pub fn get(&self, id: u64) -> Option<&W> {
        self.map.get(&id).map(|e| &e.waiter)
    }

    /// Alias of [`Transactions::get`], named for its main use.
    pub fn stream_waiter(&self, id: u64) -> Option<&W> {
        self.get(id)
    }

    /// `(expect, acked, deadline)` of a pending transaction.
    pub fn pending_info(&self, id: u64) -> Option<(Expect, bool, Option<f64>)> {
        self.map.get(&id).map(|e| (e.expect, e.acked, e.deadline))
    }

    /// Remove a pending transaction (also ends a stream, like janus-client's `done()`).
    pub fn cancel(&mut self, id: u64) -> Option<W> {
        let e = self.remove(id)?;
        self.stats.cancelled += 1;
        Some(e.waiter)
    }

    /// [`Transactions::cancel`] by wire string.
    pub fn cancel_str(&mut self, tx: &str) -> Option<W> {
        self.cancel(self.ids.parse(tx)?)
    }

    /// Remove and return the waiters whose deadline is `<= now` (earliest first). A stream whose
    /// deadline passed stays (it only loses that deadline): its id is noted for
    /// [`Transactions::take_expired_streams`] instead.
    pub fn expire(&mut self, now: f64) -> Vec<W> {
        let mut out = Vec::new();
        while let Some(&Reverse(top)) = self.heap.peek() {
            if now.is_nan() || top.at > now {
                break;
            }
            self.heap.pop();
            let Some(entry) = self.map.get_mut(&top.id) else {
                continue;
            };
            if entry.deadline != Some(top.at) {
                continue; // a stream's earlier deadline, since replaced
            }
            if entry.expect == Expect::Stream {
                entry.deadline = None;
                self.live_deadlines -= 1;
                self.expired_streams.push(top.id);
                continue;
            }
            if let Some(e) = self.map.remove(&top.id) {
                self.live_deadlines -= 1;
                self.count_owed(&e, false);
                self.stats.expired += 1;
                out.push(e.waiter);
            }
        }
        self.clean_heap();
        out
    }

    /// Give the stream `id` a deadline (replacing the one it had; `None` or NaN: none): when it
    /// passes, [`Transactions::expire`] keeps the stream and notes its id for
    /// [`Transactions::take_expired_streams`] (a janus-client `get` waiting on it times out, the
    /// stream lives on). Returns false, changing nothing, when `id` is not a pending stream.
    pub fn set_stream_deadline(&mut self, id: u64, deadline: Option<f64>) -> bool {
        let deadline = deadline.filter(|d| !d.is_nan());
        let Some(entry) = self.map.get_mut(&id) else {
            return false;
        };
        if entry.expect != Expect::Stream {
            return false;
        }
        if entry.deadline == deadline {
            return true;
        }
        let had = entry.deadline.is_some();
        entry.deadline = deadline;
        match (had, deadline) {
            (false, Some(_)) => self.live_deadlines += 1,
            (true, None) => self.live_deadlines -= 1,
            _ => {}
        }
        if let Some(at) = deadline {
            self.heap.push(Reverse(Deadline { at, id }));
        }
        self.clean_heap();
        true
    }

    /// The streams whose deadline passed in [`Transactions::expire`] calls since the last call
    /// (ids, earliest deadline first; the streams may have been cancelled since).
    pub fn take_expired_streams(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.expired_streams)
    }

    /// Earliest deadline among pending transactions.
    pub fn next_deadline(&self) -> Option<f64> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }

    /// Remove everything (connection lost), in id order.
    pub fn drain(&mut self) -> Vec<W> {
        let mut all: Vec<(u64, Entry<W>)> = self.map.drain().collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        self.heap.clear();
        self.live_deadlines = 0;
        self.awaiting_replies = 0;
        self.awaiting_bytes = 0;
        self.stats.drained += all.len() as u64;
        all.into_iter().map(|(_, e)| e.waiter).collect()
    }

    /// Remove the transactions sent in `session` — only those for `handle` when it is given —
    /// in id order: the session or handle ended, their replies will never come. Scans the table:
    /// meant for the rare end of a session or handle, not per message.
    pub fn drain_session(&mut self, session: u64, handle: Option<u64>) -> Vec<W> {
        let mut ids: Vec<u64> = self
            .map
            .iter()
            .filter(|(_, e)| {
                e.route.0 == Some(session) && (handle.is_none() || e.route.1 == handle)
            })
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        self.stats.ended_with_route += ids.len() as u64;
        ids.into_iter()
            .filter_map(|id| self.remove(id).map(|e| e.waiter))
            .collect()
    }

    /// Pending transactions.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No pending transactions.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Sent requests still owed a reply: no message yet, or (plugin messages) only the `ack`.
    pub fn awaiting_replies(&self) -> usize {
        self.awaiting_replies
    }

    /// Lower bound of the wire bytes of the awaited replies.
    pub fn awaiting_bytes(&self) -> usize {
        self.awaiting_bytes
    }

    /// A receive low-watermark (bytes) for the socket these requests were sent on: the reads
    /// can wait until this many bytes are buffered, because at least that many are owed.
    ///
    /// Rule: three quarters of [`Transactions::awaiting_bytes`], rounded down to a power of two
    /// (so 3/8 to 3/4 of it), capped at [`MAX_RECEIVE_LOW_WATERMARK`]; 1 (no batching) below 4
    /// awaited replies. Not all of it, so that a reply cut in two by a read, or a few replies the
    /// server is slow to send, cannot hold back the others; power-of-two steps, so the value
    /// changes rarely while the number in flight moves (measured: 3/4 instead of 1/2 made the
    /// value change ~100× less often on W2 and cut reads by ~10 %). The caller still needs a guard for a server that never answers (requests can fail
    /// without a reply, e.g. by a timeout).
    pub fn receive_low_watermark(&self) -> usize {
        if self.awaiting_replies < 4 {
            return 1;
        }
        watermark_step(self.awaiting_bytes * 3 / 4)
    }

    /// Entries in the deadline heap, stale ones included (for tests and accounting).
    pub fn deadline_entries(&self) -> usize {
        self.heap.len()
    }

    /// Counters.
    pub fn stats(&self) -> TxStats {
        self.stats
    }

    fn count_owed(&mut self, entry: &Entry<W>, add: bool) {
        if entry.owed == Owed::Nothing {
            return;
        }
        if add {
            self.awaiting_replies += 1;
            self.awaiting_bytes += entry.owed_bytes;
        } else {
            self.awaiting_replies -= 1;
            self.awaiting_bytes -= entry.owed_bytes;
        }
    }

    fn remove(&mut self, id: u64) -> Option<Entry<W>> {
        let e = self.map.remove(&id)?;
        self.count_owed(&e, false);
        if e.deadline.is_some() {
            self.live_deadlines -= 1;
            self.clean_heap();
        }
        Some(e)
    }

    /// Pop stale tops so `next_deadline` is exact; rebuild when stale entries pile up.
    fn clean_heap(&mut self) {
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.is_live(top) {
                break;
            }
            self.heap.pop();
        }
        if self.heap.len() > 2 * self.live_deadlines + 64 {
            let map = &self.map;
            self.heap
                .retain(|Reverse(d)| map.get(&d.id).is_some_and(|e| e.deadline == Some(d.at)));
        }
    }

    /// Whether a heap entry is its transaction's current deadline (a stream's deadline can be
    /// replaced; the old heap entry then goes stale like that of a removed transaction).
    fn is_live(&self, d: &Deadline) -> bool {
        self.map
            .get(&d.id)
            .is_some_and(|e| e.deadline == Some(d.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Transactions<&'static str> {
        Transactions::new(TxIdGen::with_prefix(*b"Tx"))
    }

    fn msg(kind: &str, tx: &str) -> Message {
        Message::parse_one(format!(r#"{{"janus":"{kind}","transaction":"{tx}"}}"#).as_bytes())
            .unwrap()
    }

    #[test]
    fn nan_and_infinite_deadlines() {
        let mut t = table();
        let a = t.insert("a", Expect::Success, Some(f64::NAN));
        t.insert("b", Expect::Success, Some(f64::INFINITY));
        assert_eq!(t.pending_info(a), Some((Expect::Success, false, None)));
        assert_eq!(t.next_deadline(), Some(f64::INFINITY));
        assert!(t.expire(f64::NAN).is_empty());
        assert!(t.expire(1e300).is_empty());
        assert_eq!(t.expire(f64::INFINITY), vec!["b"]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn heap_compacts_after_completions() {
        let mut t = table();
        let keep = t.insert("keep", Expect::Success, Some(1e9));
        for i in 0..10_000 {
            let id = t.insert("w", Expect::Ack, Some(2e9 + f64::from(i)));
            let m = msg("ack", t.format_id(id).as_str());
            assert!(matches!(t.resolve(&m), Resolution::Complete(_, "w")));
        }
        assert_eq!(t.len(), 1);
        assert!(t.deadline_entries() <= 2 + 64, "{}", t.deadline_entries());
        assert_eq!(t.next_deadline(), Some(1e9));
        assert_eq!(t.cancel(keep), Some("keep"));
        assert_eq!(t.deadline_entries(), 0);
        assert_eq!(t.stats().completed, 10_000);
    }

    #[test]
    fn awaiting_replies_counts_sent_requests_until_their_first_message() {
        let mut t = table();
        let sent: Vec<u64> = (0..9)
            .map(|_| {
                let id = t.reserve_id();
                t.insert_with_id(
                    id,
                    "w",
                    Expect::PluginMessage,
                    Some(5.0),
                    Owed::NonAckReply,
                    MIN_REPLY_WIRE_BYTES,
                    (None, None),
                );
                id
            })
            .collect();
        t.insert("watcher", Expect::AnyReply, Some(1.0)); // never sent: owes no reply
        assert_eq!(t.awaiting_replies(), 9);
        // 9 × 34 bytes owed: three quarters is 229, rounded down to 128.
        assert_eq!(t.receive_low_watermark(), 128);
        // A plugin message's ack does not settle it: its event is still owed.
        let ack = msg("ack", t.format_id(sent[0]).as_str());
        assert_eq!(t.resolve(&ack), Resolution::Pending);
        assert_eq!(t.awaiting_replies(), 9);
        let event = msg("event", t.format_id(sent[0]).as_str());
        assert!(matches!(t.resolve(&event), Resolution::Complete(..)));
        assert_eq!(t.awaiting_replies(), 8);
        // Any first message settles a FirstReply request, an ack included; a stream stays
        // pending but owes nothing more.
        let id = t.reserve_id();
        t.insert_with_id(
            id,
            "s",
            Expect::Stream,
            None,
            Owed::FirstReply,
            100,
            (None, None),
        );
        assert_eq!(t.awaiting_replies(), 9);
        assert_eq!(t.awaiting_bytes(), 8 * MIN_REPLY_WIRE_BYTES + 100);
        assert_eq!(
            t.resolve(&msg("ack", t.format_id(id).as_str())),
            Resolution::StreamItem(id)
        );
        assert_eq!(t.awaiting_replies(), 8);
        assert_eq!(t.cancel(id), Some("s"));
        assert_eq!(t.awaiting_replies(), 8);
        // Cancel and expire release what they remove.
        assert_eq!(t.cancel(sent[1]), Some("w"));
        assert_eq!(t.awaiting_replies(), 7);
        assert_eq!(t.expire(2.0), vec!["watcher"]);
        assert_eq!(t.awaiting_replies(), 7);
        assert_eq!(t.receive_low_watermark(), 128); // 7 × 34 × 3/4 = 178 → 128
        assert_eq!(t.expire(5.0).len(), 7);
        assert_eq!(t.awaiting_replies(), 0);
        assert_eq!(t.receive_low_watermark(), 1);
    }

    #[test]
    fn min_reply_wire_bytes_counts_the_session_id_digits() {
        assert_eq!(min_reply_wire_bytes(3, None), 37);
        assert_eq!(min_reply_wire_bytes(3, Some(0)), 37 + 15);
        assert_eq!(min_reply_wire_bytes(3, Some(9)), 37 + 15);
        assert_eq!(min_reply_wire_bytes(3, Some(10)), 37 + 16);
        assert_eq!(min_reply_wire_bytes(5, Some(u64::MAX)), 39 + 14 + 20);
        // The shortest reply Janus 1.1.2 sends within a session is exactly that long.
        let ack = br#"{"janus":"ack","session_id":5083213296227181,"transaction":"Ab1"}"#;
        assert_eq!(
            ack.len() + 2,
            min_reply_wire_bytes(3, Some(5083213296227181))
        );
    }

    #[test]
    fn watermark_step_rounds_down_to_a_power_of_two_within_bounds() {
        let cases = [
            (0, 1),
            (1, 1),
            (3, 2),
            (1023, 512),
            (1024, 1024),
            (12_000, 8192),
        ];
        for (bytes, step) in cases {
            assert_eq!(watermark_step(bytes), step, "{bytes} bytes");
        }
        assert_eq!(watermark_step(usize::MAX), MAX_RECEIVE_LOW_WATERMARK);
    }

    #[test]
    fn receive_low_watermark_steps_and_cap() {
        let mut t = table();
        let mut expected = Vec::new();
        for n in 0..2000usize {
            expected.push(if n < 4 {
                1
            } else {
                let most = n * 32 * 3 / 4;
                let step = (0..).map(|k| 1usize << k).take_while(|p| *p <= most).last();
                step.unwrap().min(MAX_RECEIVE_LOW_WATERMARK)
            });
            assert_eq!(t.receive_low_watermark(), expected[n], "{n} awaited");
            let id = t.reserve_id();
            t.insert_with_id(
                id,
                "w",
                Expect::Pong,
                None,
                Owed::FirstReply,
                32,
                (None, None),
            );
        }
        assert_eq!(t.receive_low_watermark(), MAX_RECEIVE_LOW_WATERMARK);
        t.drain();
        assert_eq!(t.awaiting_replies(), 0);
    }

    #[test]
    fn stream_deadlines_time_out_gets_and_keep_the_stream() {
        let mut t = table();
        let s = t.insert("s", Expect::Stream, None);
        let w = t.insert("w", Expect::Success, Some(10.0));
        assert!(
            !t.set_stream_deadline(w, Some(1.0)),
            "only streams take a new deadline"
        );
        assert!(!t.set_stream_deadline(12345, Some(1.0)));
        assert!(t.set_stream_deadline(s, Some(5.0)));
        assert_eq!(t.next_deadline(), Some(5.0));
        // A later deadline replaces it: the old heap entry is stale and never fires.
        assert!(t.set_stream_deadline(s, Some(8.0)));
        assert_eq!(t.next_deadline(), Some(8.0));
        assert!(t.expire(7.0).is_empty());
        assert!(t.take_expired_streams().is_empty());
        // An earlier one too.
        assert!(t.set_stream_deadline(s, Some(6.0)));
        assert!(t.expire(6.5).is_empty());
        assert_eq!(t.take_expired_streams(), vec![s]);
        assert!(t.take_expired_streams().is_empty());
        assert_eq!(t.get(s), Some(&"s"), "the stream stays");
        assert_eq!(t.pending_info(s), Some((Expect::Stream, false, None)));
        assert_eq!(t.next_deadline(), Some(10.0));
        assert!(t.expire(8.0).is_empty());
        assert!(
            t.take_expired_streams().is_empty(),
            "the replaced 8.0 is stale"
        );
        // Cleared, then set again, then cancelled: nothing fires.
        assert!(t.set_stream_deadline(s, Some(9.0)));
        assert!(t.set_stream_deadline(s, None));
        assert_eq!(t.next_deadline(), Some(10.0));
        assert!(t.set_stream_deadline(s, Some(9.5)));
        assert_eq!(t.cancel(s), Some("s"));
        assert_eq!(t.expire(10.0), vec!["w"]);
        assert!(t.take_expired_streams().is_empty());
        assert_eq!(t.deadline_entries(), 0);
        assert!(t.is_empty());
    }

    #[test]
    fn replaced_stream_deadlines_do_not_pile_up() {
        let mut t = table();
        let s = t.insert("s", Expect::Stream, None);
        for i in 0..10_000 {
            assert!(t.set_stream_deadline(s, Some(1e9 + f64::from(i))));
        }
        assert!(t.deadline_entries() <= 2 + 64, "{}", t.deadline_entries());
        assert_eq!(t.next_deadline(), Some(1e9 + 9_999.0));
        assert_eq!(t.cancel(s), Some("s"));
        assert_eq!(t.deadline_entries(), 0);
    }

    #[test]
    fn ack_on_success_expect_is_pending() {
        let mut t = table();
        let id = t.insert("w", Expect::Success, None);
        let tx = t.format_id(id);
        assert_eq!(t.resolve(&msg("ack", tx.as_str())), Resolution::Pending);
        assert_eq!(t.resolve(&msg("event", tx.as_str())), Resolution::Unmatched);
        assert_eq!(t.pending_info(id), Some((Expect::Success, true, None)));
        assert_eq!(
            t.resolve(&msg("success", tx.as_str())),
            Resolution::Complete(id, "w")
        );
        assert!(t.is_empty());
    }
}
