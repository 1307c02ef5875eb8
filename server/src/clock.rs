//! The wall clock behind every expiry the server decides (sessions,
//! invites), in whole seconds since the Unix epoch. It is part of the
//! [`Config`](crate::Config), so tests run a server on a [`Clock::manual`]
//! clock and move time on instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The system clock, or a manual one that stands still until advanced.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock.
    manual: Option<Arc<AtomicU64>>,
}

fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Clock {
    /// The system's clock (the default).
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that starts at the system's time and moves only when
    /// [`Clock::advance`]d. Its clones share its time.
    pub fn manual() -> Self {
        Self {
            manual: Some(Arc::new(AtomicU64::new(system_now()))),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        match &self.manual {
            Some(now) => now.load(Ordering::SeqCst),
            None => system_now(),
        }
    }

    /// Moves a manual clock (and its clones) on by `by` (whole seconds).
    /// The system clock cannot be moved: this does nothing to it.
    pub fn advance(&self, by: Duration) {
        if let Some(now) = &self.manual {
            now.fetch_add(by.as_secs(), Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_its_clones_follow() {
        let clock = Clock::manual();
        let start = clock.now();
        assert!(start > 1_600_000_000, "starts at the system's time");
        let clone = clock.clone();
        clone.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + 90);
        let system = Clock::system();
        let before = system.now();
        system.advance(Duration::from_secs(1_000_000));
        assert!(system.now() < before + 1_000);
    }
}
