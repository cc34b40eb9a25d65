//! How the process asks glibc's allocator to hold memory: set once, for
//! the whole process, before the first request.
//!
//! - Every allocation of 1 MiB or more is mapped on its own and handed back
//!   to the system when it is freed. By default glibc raises that threshold
//!   to the size of the largest block freed so far, and then keeps each
//!   freed 19 MiB Argon2 block in one of its arenas: measured, 20 wrong
//!   passwords one after another left the server at 418 MB, a burst of
//!   1,000 at 1.8 GB (SQLite) and 4.9 GB (PostgreSQL). With the threshold
//!   fixed, the same burst peaks at 89 MB and falls back to 50.
//! - An arena keeps up to [`KEPT_FREE`] free at its top instead of 128 KiB.
//!   Fixing the threshold above also fixes this one at glibc's 128 KiB, and
//!   a page of 1,000 users (about 0.5 MB of JSON, written twice) freed its
//!   buffers back to the system at every request and faulted fresh zeroed
//!   pages in at the next: 300 page faults a request, ~15 % of the page's
//!   CPU (bench/RESULTS.md). What it costs: the memory kept. Pages of
//!   1,000 at c=16 on SQLite peaked at 107.5 MB resident against 100.9 MB
//!   with 128 KiB (2 MiB: 107.1 MB and as few faults; 1 MiB: 104.5 MB,
//!   118 faults a page).

/// Blocks of this size or more are mapped on their own.
const MAPPED_FROM: i32 = 1 << 20;

/// Free memory an arena keeps at its top for the next requests.
const KEPT_FREE: i32 = 4 << 20;

/// Applies the settings (once; later calls do nothing).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes the allocator's tuning; glibc
        // applies it under its own lock.
        ONCE.call_once(|| unsafe {
            if libc::mallopt(libc::M_MMAP_THRESHOLD, MAPPED_FROM) != 1 || libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT_FREE) != 1 {
                tracing::debug!("could not tune the allocator");
            }
        });
    }
}
