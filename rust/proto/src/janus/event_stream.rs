//! Dense event streams: how many event bytes a socket read may wait for.
//!
//! Rule: a read that brought event bytes less than [`EVENT_STREAM_GAP`] seconds after the previous
//! read that brought some means the server is pushing events (a room's fan-in). The estimate is
//! then three quarters of what that rate brings in [`EVENT_WINDOW`] seconds, in
//! [`watermark_step`] steps, or 1 (no batching) below [`EVENT_MIN_WATERMARK`] bytes. A read with
//! no event bytes, or one later than the gap, ends the stream, and so does [`EventStream::end`]
//! (the reader's guard found the rest not coming). Time is the caller's clock in seconds, as for
//! deadlines: this type reads no clock.

use super::transactions::watermark_step;

/// A read this soon (s) after the previous one with events means a dense stream.
pub const EVENT_STREAM_GAP: f64 = 0.001;
/// The estimate asks for 3/4 of what the stream's rate brings in this long (s).
pub const EVENT_WINDOW: f64 = 0.0005;
/// Below this many bytes an estimate is not worth a raised watermark (and its guard).
pub const EVENT_MIN_WATERMARK: usize = 1024;

/// The event-stream estimate of one connection.
#[derive(Debug, Clone)]
pub struct EventStream {
    /// The event byte count at the last read that brought events.
    seen: u64,
    /// When that read was (the caller's clock).
    last_at: Option<f64>,
    /// The watermark the stream asks for now (1: no dense stream).
    want: usize,
    /// Times a stream started (the estimate went from 1 to more).
    streams: u64,
}

impl Default for EventStream {
    fn default() -> Self {
        Self::new()
    }
}

impl EventStream {
    /// No stream yet.
    pub fn new() -> Self {
        Self {
            seen: 0,
            last_at: None,
            want: 1,
            streams: 0,
        }
    }

    /// Note a read: `event_bytes` is the running count of event bytes received (the core's
    /// `event_bytes`), `now` the caller's clock. Returns the watermark the stream asks for.
    pub fn after_read(&mut self, event_bytes: u64, now: f64) -> usize {
        let new = event_bytes.saturating_sub(self.seen);
        if new == 0 {
            self.want = 1;
            return 1;
        }
        self.seen = event_bytes;
        let gap = self.last_at.map_or(f64::INFINITY, |at| now - at);
        self.last_at = Some(now);
        let want = if gap > 0.0 && gap < EVENT_STREAM_GAP {
            let expected = new as f64 * (EVENT_WINDOW * 3.0 / 4.0) / gap;
            if expected < EVENT_MIN_WATERMARK as f64 {
                1
            } else {
                // A float beyond usize saturates in the cast; the step caps it anyway.
                watermark_step(expected as usize)
            }
        } else {
            1
        };
        if want > 1 && self.want == 1 {
            self.streams += 1;
        }
        self.want = want;
        want
    }

    /// The watermark the stream asks for now (1: none).
    pub fn want(&self) -> usize {
        self.want
    }

    /// The stream paused: ask for nothing until a read shows it again.
    pub fn end(&mut self) {
        self.want = 1;
    }

    /// Times a dense stream started.
    pub fn streams(&self) -> u64 {
        self.streams
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dense_stream_asks_for_its_rate_over_the_window_in_steps() {
        let mut s = EventStream::new();
        // The first read has no gap to measure.
        assert_eq!(s.after_read(3000, 10.0), 1);
        // 3000 bytes 0.25 ms later: 3000 * 0.375 ms / 0.25 ms = 4500 -> step 4096.
        assert_eq!(s.after_read(6000, 10.000_25), 4096);
        assert_eq!((s.want(), s.streams()), (4096, 1));
        // Still dense: the stream goes on (not counted again).
        assert_eq!(s.after_read(12_000, 10.000_5), 8192);
        assert_eq!(s.streams(), 1);
        // Capped by the step rule.
        assert_eq!(s.after_read(1_000_000, 10.000_6), 16 * 1024);
    }

    #[test]
    fn a_read_without_events_or_after_the_gap_ends_it() {
        let mut s = EventStream::new();
        s.after_read(3000, 1.0);
        assert!(s.after_read(6000, 1.000_2) > 1);
        assert_eq!(s.after_read(6000, 1.000_3), 1); // no event bytes in this read
        assert!(s.after_read(9000, 1.000_5) > 1); // 0.3 ms after the last read with events
        assert_eq!(s.after_read(12_000, 1.002), 1); // 1.5 ms later: not dense
        assert_eq!(s.streams(), 2);
        assert!(s.after_read(15_000, 1.002_2) > 1);
        s.end();
        assert_eq!(s.want(), 1);
    }

    #[test]
    fn a_thin_stream_or_a_clock_that_did_not_move_asks_for_nothing() {
        let mut s = EventStream::new();
        s.after_read(100, 5.0);
        assert_eq!(s.after_read(200, 5.000_5), 1); // 75 bytes expected: below the minimum
        assert_eq!(s.after_read(5000, 5.000_5), 1); // no time passed: no rate to measure
        assert_eq!(s.streams(), 0);
    }
}
