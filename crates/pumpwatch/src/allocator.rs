//! The process allocator: mimalloc, told to keep the memory it frees.

/// mimalloc rather than the system allocator: the replay's per-batch buffers and boxed events
/// spent about 6% of a Parquet replay in glibc's malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (mimalloc.h, v2 and v3); the Rust
/// bindings name only some options. A test checks it against the option's default in the
/// bundled mimalloc v3 (1000 ms, a default no other option has).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Stops mimalloc from returning freed memory to the OS, unless `MIMALLOC_PURGE_DELAY` says
/// otherwise. A Parquet replay frees and reallocates a few MB of column buffers per slice;
/// with the default delay each slice's buffers were returned and then faulted back in
/// as freshly zeroed huge pages (5–6% of the replay in the kernel's page clearing, about 15%
/// of wall time in all). Peak memory is unchanged: the process only keeps what it once used.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets one integer option of the allocator; mimalloc documents options as settable
    // at any time, and reads them atomically.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number names `purge_delay`: read before anything sets it, it has that
    /// option's default of 1000 ms; after `keep_freed_memory` it is -1 (never purge).
    #[test]
    fn the_purge_delay_option_number_is_mimallocs() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        let get = || {
            #[allow(unsafe_code)]
            // SAFETY: reads one integer option.
            unsafe {
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY)
            }
        };
        assert_eq!(get(), 1000);
        keep_freed_memory();
        assert_eq!(get(), -1);
    }
}
