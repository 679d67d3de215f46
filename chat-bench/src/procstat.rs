//! What /proc says about a process (resident memory, CPU time, open file descriptors) and
//! about the machine (CPU busy time, interrupts between cores).

use serde::Serialize;

/// Clock ticks per second of /proc's CPU times (`USER_HZ`, 100 on every Linux ABI in use).
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// User plus system CPU time so far, seconds.
    pub cpu_seconds: f64,
}

/// Reads process `pid` (or this process when `None`); `None` if /proc cannot tell.
pub fn sample(pid: Option<u32>) -> Option<Sample> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_owned(),
    };
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |n: usize| fields.get(n).and_then(|v| v.parse::<u64>().ok());
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    let cpu_ticks = ticks(11)? + ticks(12)?;
    Some(Sample {
        rss_bytes: rss_kib * 1024,
        cpu_seconds: cpu_ticks as f64 / TICKS_PER_SECOND,
    })
}

/// How many file descriptors process `pid` holds open; `None` if /proc cannot tell.
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// CPU time all processes of the machine have used so far (user, nice, system, irq,
/// softirq, steal), seconds: with the server's and the generator's taken out, what else ran.
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum();
    Some(busy as f64 / TICKS_PER_SECOND)
}

/// Interrupts the machine's cores have sent one another so far (rescheduling and
/// function-call interrupts, summed over every core), most of them a thread waking a thread on
/// the other core. On a virtual machine each can cost its sender tens of µs (BENCHMARKS.md), so
/// per message they show how much of a loopback run's CPU is its two processes waking each
/// other rather than their own work.
pub fn cross_core_interrupts() -> Option<u64> {
    cross_core_interrupts_in(&std::fs::read_to_string("/proc/interrupts").ok()?)
}

/// The rescheduling and function-call interrupt counts of a `/proc/interrupts` text, summed.
fn cross_core_interrupts_in(text: &str) -> Option<u64> {
    let mut found = false;
    let mut total = 0;
    for line in text.lines() {
        let line = line.trim_start();
        let Some(counts) = line
            .strip_prefix("RES:")
            .or_else(|| line.strip_prefix("CAL:"))
        else {
            continue;
        };
        found = true;
        total += counts
            .split_whitespace()
            .map_while(|field| field.parse::<u64>().ok())
            .sum::<u64>();
    }
    found.then_some(total)
}

/// CPU used between two readings, as a share of one core.
pub fn cpu_share(before: Option<Sample>, after: Option<Sample>, seconds: f64) -> Option<f64> {
    let (before, after) = (before?, after?);
    (seconds > 0.0).then(|| (after.cpu_seconds - before.cpu_seconds) / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_and_cpu_time() {
        let mut spin = 0u64;
        for i in 0..10_000_000u64 {
            spin = spin.wrapping_add(i ^ (spin >> 3));
        }
        std::hint::black_box(spin);
        let sample = sample(None).unwrap();
        assert!(sample.rss_bytes > 1024 * 1024);
        assert!(sample.cpu_seconds >= 0.0);
        assert!(super::sample(Some(u32::MAX)).is_none());
        assert!(open_fds(std::process::id()).unwrap() >= 3);
        assert!(open_fds(u32::MAX).is_none());
        assert!(machine_busy_seconds().unwrap() >= sample.cpu_seconds);
    }

    #[test]
    fn counts_rescheduling_and_function_call_interrupts_of_every_core() {
        let text = "            CPU0       CPU1
  0:         45          0   IO-APIC    2-edge      timer
NMI:          0          0   Non-maskable interrupts
LOC:   20414766   82863335   Local timer interrupts
RES:    9411128    6517422   Rescheduling interrupts
CAL:   25621137   32611840   Function call interrupts
TLB:    2851075    2819886   TLB shootdowns
";
        assert_eq!(
            cross_core_interrupts_in(text),
            Some(9_411_128 + 6_517_422 + 25_621_137 + 32_611_840)
        );
        assert_eq!(cross_core_interrupts_in("LOC: 5 6 Local timer\n"), None);
    }
}
