//! Giving memory freed by evicted documents back to the operating system.
//!
//! glibc's allocator keeps freed memory for reuse: after thousands of idle
//! documents are evicted, their memory is free inside the process but its
//! resident size stays at the peak. `malloc_trim` returns the free pages.
//! [`run`] calls it a few seconds after evictions, off the async workers.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::docs::Docs;

/// How often the trimmer looks whether documents were evicted.
const EVERY: Duration = Duration::from_secs(1);

/// Trims the heap after evictions until `shutdown`.
pub async fn run(docs: Arc<Docs>, shutdown: CancellationToken) {
    let mut seen = docs.evictions();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
        let now = docs.evictions();
        if now != seen {
            seen = now;
            let _ = tokio::task::spawn_blocking(release_freed).await;
        }
    }
}

/// Returns free heap memory to the operating system.
#[allow(unsafe_code)]
fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's own arenas;
    // it takes the arenas' locks and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
