//! A process's CPU time and resident memory, read from `/proc` (Linux); and raising this process's limit on
//! open files, which thousands of connections need.

use std::time::Instant;

/// CPU time used by a process so far, and when that was read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuSample {
    ticks: u64,
    at: Instant,
}

/// Reads `utime + stime` of `pid` (fields 14 and 15 of `/proc/PID/stat`, in clock ticks).
pub(crate) fn cpu_sample(pid: u32) -> Option<CpuSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // After the name: state is field 3, so utime (14) is the 12th and stime (15) the 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(CpuSample {
        ticks: utime + stime,
        at: Instant::now(),
    })
}

/// CPU use between two samples, in percent of one core (so up to 100 × cores).
pub(crate) fn cpu_percent(before: CpuSample, after: CpuSample) -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = if per_second > 0 {
        per_second as f64
    } else {
        100.0
    };
    let wall = after.at.duration_since(before.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    after.ticks.saturating_sub(before.ticks) as f64 / per_second / wall * 100.0
}

/// Resident memory of `pid` in KiB (`VmRSS` in `/proc/PID/status`).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Raises the soft limit on open files to the hard limit and returns the new soft limit (or the old one,
/// if it could not be raised).
pub(crate) fn raise_open_files() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we pass; raising the soft limit up to the hard one is allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    limit.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        let before = cpu_sample(pid).expect("/proc/self/stat");
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let after = cpu_sample(pid).expect("/proc/self/stat");
        assert!(cpu_percent(before, after) >= 0.0);
        assert!(rss_kib(pid).expect("VmRSS") > 0);
        assert!(raise_open_files() > 0);
    }
}
