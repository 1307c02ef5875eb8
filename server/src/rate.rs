//! A token bucket: the per-connection message rate limit.
//!
//! The bucket holds up to `burst` tokens and gains `rate` per second; each
//! incoming message takes one. A connection that finds it empty has sent
//! more than `burst` messages above the sustained rate, and is closed. The
//! connection also returns one token for each message the server wrote to
//! it ([`TokenBucket::credit`]), so that answering the server (a client
//! acknowledges each change it receives) never counts against the limit:
//! only what a client sends unprompted does.

use std::time::Instant;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket: a new connection may send `burst` messages at once.
    pub fn new(rate_per_second: u32, burst: u32, now: Instant) -> Self {
        Self {
            rate: f64::from(rate_per_second),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: now,
        }
    }

    /// Takes a token for one message; false if there is none.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Returns `n` tokens (never above the burst).
    pub fn credit(&mut self, n: usize) {
        let n = n as f64;
        self.tokens = (self.tokens + n).min(self.burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 50, start);
        assert!((0..50).all(|_| bucket.take(start)), "the burst passes");
        assert!(!bucket.take(start), "then the bucket is empty");
        // A second later, ten more.
        let later = start + Duration::from_secs(1);
        assert!((0..10).all(|_| bucket.take(later)));
        assert!(!bucket.take(later));
    }

    #[test]
    fn refill_never_exceeds_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, 5, start);
        let much_later = start + Duration::from_secs(3600);
        assert!((0..5).all(|_| bucket.take(much_later)));
        assert!(!bucket.take(much_later));
    }

    #[test]
    fn answers_are_credited() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1, 3, start);
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        bucket.credit(2);
        assert!(bucket.take(start) && bucket.take(start));
        assert!(!bucket.take(start));
        bucket.credit(1_000_000);
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
    }
}
