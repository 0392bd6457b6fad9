//! The process's limit on open files: every TCP session holds a file descriptor, and the usual soft limit
//! (often 1,024) is far below the default 10,000 sessions (PROTOCOL.md ).

/// Raises the soft limit on open files to the hard limit, and returns the limit now in force. `None` where
/// the limit cannot be read (or off Unix); a limit that cannot be raised is left as it was, and returned.
pub(super) fn raise_to_hard_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes a `struct rlimit` through a pointer to a live, properly aligned one.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: setrlimit reads a `struct rlimit` through a pointer to a live, properly aligned one.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit = raised;
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere.
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}
