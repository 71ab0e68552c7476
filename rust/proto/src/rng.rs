//! Tiny deterministic PRNG (xoshiro256**, seeded through splitmix64).
//!
//! Rule: the generator is seeded only by bytes the caller provides (the Python side reads
//! `os.urandom` once per connection); it never makes a syscall and has no global state. It is used
//! for WebSocket mask keys, the handshake key and the transaction-id prefix — values that must be
//! unpredictable to intermediaries, not cryptographic secrets.

/// xoshiro256** state.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(GOLDEN);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// Seed from arbitrary bytes (pass at least 16 random bytes; any length is accepted).
    pub fn new(seed: &[u8]) -> Self {
        let mut acc: u64 = 0x243F_6A88_85A3_08D3 ^ seed.len() as u64;
        for chunk in seed.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            acc ^= u64::from_le_bytes(word);
            acc = splitmix(&mut acc);
        }
        let mut s = [0u64; 4];
        for v in &mut s {
            *v = splitmix(&mut acc);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Next 32 random bits (the high half of [`Rng::next_u64`]).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Fill `out` with random bytes.
    pub fn fill_bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_seed_sensitive() {
        let mut a = Rng::new(b"0123456789abcdef");
        let mut b = Rng::new(b"0123456789abcdef");
        let mut c = Rng::new(b"0123456789abcdeg");
        let va: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let vb: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let vc: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(va, vb);
        assert_ne!(va, vc);
    }

    #[test]
    fn empty_seed_works_and_bytes_fill() {
        let mut r = Rng::new(b"");
        assert_ne!(r.next_u64(), r.next_u64());
        let mut buf = [0u8; 13];
        r.fill_bytes(&mut buf);
        assert!(buf.iter().any(|&b| b != 0));
    }

    #[test]
    fn roughly_uniform_bits() {
        let mut r = Rng::new(&[7; 32]);
        let ones: u32 = (0..1000).map(|_| r.next_u64().count_ones()).sum();
        assert!((30_000..34_000).contains(&ones), "{ones}");
    }
}
