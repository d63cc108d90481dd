//! A xorshift64 generator: reproducible pseudo-random choices for
//! examples/pauses.rs and the stress tests (tests/concurrent.rs,
//! tests/containers.rs include this file with `#[path]`), with no
//! dependency.

/// xorshift64; the seed must not be 0.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
