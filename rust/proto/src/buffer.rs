//! Receive buffer with amortised compaction.
//!
//! Rule: consumed bytes are skipped by advancing an offset; the live bytes are moved to the front
//! only when the offset passes half the stored length (so each byte is moved O(1) times
//! amortised), and a buffer that becomes empty is reset for free. A buffer that grew past
//! [`RecvBuffer::SHRINK_ABOVE`] gives its memory back once it is empty again.

/// Growable byte buffer with a consume offset.
#[derive(Debug, Default, Clone)]
pub struct RecvBuffer {
    data: Vec<u8>,
    start: usize,
}

impl RecvBuffer {
    /// Capacity above which an emptied buffer is shrunk.
    pub const SHRINK_ABOVE: usize = 1 << 20;
    /// Capacity kept after shrinking.
    pub const SHRINK_TO: usize = 64 * 1024;

    /// Empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty buffer with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            data: Vec::with_capacity(cap),
            start: 0,
        }
    }

    /// Live (unconsumed) bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// Number of live bytes.
    pub fn len(&self) -> usize {
        self.data.len() - self.start
    }

    /// True when no live bytes remain.
    pub fn is_empty(&self) -> bool {
        self.start == self.data.len()
    }

    /// Capacity of the underlying storage.
    pub fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// Append bytes, compacting first when more than half of the storage is consumed.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start > self.data.len() / 2 {
            self.compact();
        }
        self.data.extend_from_slice(bytes);
    }

    /// Mark `n` live bytes as consumed (clamped to the live length).
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.data.len());
        if self.start == self.data.len() {
            self.clear();
        }
    }

    /// Drop everything; give memory back if the buffer had grown large.
    pub fn clear(&mut self) {
        self.data.clear();
        self.start = 0;
        if self.data.capacity() > Self::SHRINK_ABOVE {
            self.data.shrink_to(Self::SHRINK_TO);
        }
    }

    fn compact(&mut self) {
        let live = self.data.len() - self.start;
        self.data.copy_within(self.start.., 0);
        self.data.truncate(live);
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_consume_compact() {
        let mut b = RecvBuffer::with_capacity(8);
        b.extend(b"hello world");
        b.consume(6);
        assert_eq!(b.as_slice(), b"world");
        b.extend(b"!");
        assert_eq!(b.as_slice(), b"world!");
        assert_eq!(b.start, 0, "compacted because offset > half");
        b.consume(100);
        assert!(b.is_empty());
        assert_eq!(b.len(), 0);
    }

    #[test]
    fn no_compaction_below_half() {
        let mut b = RecvBuffer::new();
        b.extend(b"abcdefgh");
        b.consume(2);
        b.extend(b"ij");
        assert_eq!(b.start, 2);
        assert_eq!(b.as_slice(), b"cdefghij");
    }

    #[test]
    fn shrinks_after_large_use() {
        let mut b = RecvBuffer::new();
        b.extend(&vec![0u8; RecvBuffer::SHRINK_ABOVE + 10]);
        b.consume(b.len());
        assert!(b.capacity() <= RecvBuffer::SHRINK_ABOVE);
    }

    #[test]
    fn many_small_steps_stay_bounded() {
        let mut b = RecvBuffer::new();
        for i in 0..10_000u32 {
            b.extend(&i.to_le_bytes());
            b.consume(3);
        }
        assert_eq!(b.len(), 10_000);
        assert!(b.data.len() <= 2 * b.len() + 8);
    }
}
