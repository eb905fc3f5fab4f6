//! How the process gives freed memory back to the system.
//!
//! glibc's malloc (the allocator of a Rust program on glibc Linux) kept
//! what a busy server freed: a demo server that idles at about 35 MB held
//! 680-820 MB after ten minutes of fuzzing (issue 16). Two settings and a
//! timer fix that, with no new dependency (`libc` is already in the tree):
//!
//! - A fixed mmap threshold ([`MMAP_THRESHOLD`]). By default glibc raises
//!   the threshold to the size of each large block freed, up to 32 MiB, so
//!   after the first password hash (argon2id, 19 MiB) every later one came
//!   from a per-thread arena instead of its own mapping, and each arena
//!   kept its 19 MiB (or more) after the hash was done. A fixed threshold
//!   keeps such blocks in their own mappings, unmapped when freed. Setting
//!   it also stops glibc from raising the trim threshold, so the top of
//!   each heap is returned as soon as [`TRIM_THRESHOLD`] is free there.
//! - At most [`ARENA_MAX`] arenas. glibc makes up to eight per core, and a
//!   thread of the blocking pool (password hashing) may take one each;
//!   every arena holds its own free memory.
//! - `malloc_trim(0)` every [`TRIM_EVERY`] on a thread of its own: it
//!   returns whole free pages from the middle of every arena, which the
//!   threshold cannot reach.
//!
//! Why not another allocator: jemalloc (`tikv-jemallocator`) builds its C
//! sources with autoconf and make, about a minute of a clean build on
//! two cores, and mimalloc is a C build too; both would also change the
//! allocation behaviour of everything else. The glibc settings cost no
//! build time and one `unsafe` module (this one), measured in
//! docs/BENCHMARKS.md ("Memory under load").
//!
//! An operator's own setting wins: a parameter set through its glibc
//! environment variable (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`,
//! `MALLOC_ARENA_MAX`) or `GLIBC_TUNABLES` (`glibc.malloc.mmap_threshold`,
//! ...) is left as given.
//!
//! Elsewhere (musl, macOS, Windows) these are no-ops: those allocators
//! return memory on their own terms.

use std::time::Duration;

/// Allocations of this size and more get their own mapping.
pub const MMAP_THRESHOLD: usize = 256 * 1024;
/// Free memory at the top of a heap beyond this goes back at once.
pub const TRIM_THRESHOLD: usize = 1024 * 1024;
/// Most malloc arenas (glibc's default is eight per core).
pub const ARENA_MAX: usize = 4;
/// How often free pages inside the heaps are handed back.
pub const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Set the allocator up; call first thing in `main`, before threads start.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::tune();
}

/// Hand free pages back every [`TRIM_EVERY`] for the life of the process
/// (a server: `serve`, `demo`).
pub fn spawn_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let spawned = std::thread::Builder::new()
            .name("malloc-trim".into())
            .spawn(|| loop {
                std::thread::sleep(TRIM_EVERY);
                glibc::trim();
            });
        if spawned.is_err() {
            tracing::warn!("cannot start the memory trimming thread");
        }
    }
}

/// Did the operator set this malloc parameter (its variable, or its name
/// in `GLIBC_TUNABLES`)?
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
fn operator_sets(variable: &str, tunable: &str, tunables: &str) -> bool {
    std::env::var_os(variable).is_some()
        || tunables
            .split(':')
            .any(|t| t.split('=').next() == Some(tunable))
}

/// The calls into glibc. The one reviewed use of `unsafe` in the binary:
/// `mallopt` and `malloc_trim` take plain integers, touch no memory of
/// ours, and are thread-safe (glibc takes each arena's lock).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod glibc {
    use super::{ARENA_MAX, MMAP_THRESHOLD, TRIM_THRESHOLD};

    pub fn tune() {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        for (param, value, variable, tunable) in [
            (
                libc::M_MMAP_THRESHOLD,
                MMAP_THRESHOLD,
                "MALLOC_MMAP_THRESHOLD_",
                "glibc.malloc.mmap_threshold",
            ),
            (
                libc::M_TRIM_THRESHOLD,
                TRIM_THRESHOLD,
                "MALLOC_TRIM_THRESHOLD_",
                "glibc.malloc.trim_threshold",
            ),
            (
                libc::M_ARENA_MAX,
                ARENA_MAX,
                "MALLOC_ARENA_MAX",
                "glibc.malloc.arena_max",
            ),
        ] {
            if super::operator_sets(variable, tunable, &tunables) {
                continue;
            }
            let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
            // SAFETY: mallopt only sets one of malloc's parameters; the
            // values are in range (a refused one returns 0 and leaves the
            // default).
            unsafe {
                libc::mallopt(param, value);
            }
        }
    }

    pub fn trim() {
        // SAFETY: malloc_trim releases free pages under each arena's lock;
        // it frees nothing that is in use.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_operators_tunables_win() {
        let t = "glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0";
        assert!(super::operator_sets(
            "CLINICOS_NO_SUCH_VAR",
            "glibc.malloc.arena_max",
            t
        ));
        assert!(!super::operator_sets(
            "CLINICOS_NO_SUCH_VAR",
            "glibc.malloc.mmap_threshold",
            t
        ));
        assert!(!super::operator_sets(
            "CLINICOS_NO_SUCH_VAR",
            "glibc.malloc.arena",
            t
        ));
        assert!(super::operator_sets("PATH", "glibc.malloc.arena_max", ""));
    }
}
