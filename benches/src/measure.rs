//! Timing, medians, resident memory, and measurements run in a fresh child process.

use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;

/// The median of some samples (the mean of the middle two for an even count).
///
/// # Panics
/// When there are no samples.
#[must_use]
pub fn median(mut samples: Vec<f64>) -> f64 {
    assert!(!samples.is_empty(), "a median needs samples");
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        f64::midpoint(samples[mid - 1], samples[mid])
    }
}

/// Seconds `f` takes.
#[must_use = "the time is the point"]
pub fn seconds(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64()
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); 0 where there is no such file.
#[must_use]
pub fn status_kib(field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resets `VmHWM` to the current `VmRSS`, so that the peak measured next belongs to what runs
/// next (Linux: writing 5 to `clear_refs`). Returns whether the kernel accepted it.
#[must_use = "without the reset, the peak includes everything before"]
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// What a child measurement printed: `key=value` pairs of its last line.
pub type ChildReport = HashMap<String, f64>;

/// Runs this harness again with `args` (the child side of a measurement) and parses the
/// `key=value` pairs of the last line it printed.
///
/// # Panics
/// When the child cannot start or fails: a broken harness, not a slow store.
#[must_use]
pub fn run_child(args: &[&str]) -> ChildReport {
    let exe = std::env::current_exe().expect("the harness knows its own executable");
    let output = Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .expect("the harness can run itself as a child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Runs a child measurement once to warm up (page cache, disk), then `runs` times, and returns
/// every report after the warm-up.
#[must_use]
pub fn child_runs(args: &[&str], runs: usize) -> Vec<ChildReport> {
    let _warm_up = run_child(args);
    (0..runs).map(|_| run_child(args)).collect()
}

/// [`child_runs`] for several measurements compared with each other, taken in turns: each
/// warmed up once, then `runs` rounds of one run of each. A machine whose speed drifts during
/// the minutes they take (a shared virtual machine's does) then slows them alike, where
/// measuring one after the other puts the drift into their ratios. Returns the reports of
/// each measurement, in the order given.
#[must_use]
pub fn child_runs_in_turns(measurements: &[Vec<String>], runs: usize) -> Vec<Vec<ChildReport>> {
    fn args(m: &[String]) -> Vec<&str> {
        m.iter().map(String::as_str).collect()
    }
    for m in measurements {
        let _warm_up = run_child(&args(m));
    }
    let mut reports = vec![Vec::with_capacity(runs); measurements.len()];
    for _ in 0..runs {
        for (m, reports) in measurements.iter().zip(&mut reports) {
            reports.push(run_child(&args(m)));
        }
    }
    reports
}

/// The median of one key over several reports.
///
/// # Panics
/// When a report lacks the key.
#[must_use]
pub fn median_of(reports: &[ChildReport], key: &str) -> f64 {
    median(
        reports
            .iter()
            .map(|r| {
                *r.get(key)
                    .unwrap_or_else(|| panic!("child reported no `{key}`"))
            })
            .collect(),
    )
}

/// The largest value of one key over several reports.
#[must_use]
pub fn max_of(reports: &[ChildReport], key: &str) -> f64 {
    reports
        .iter()
        .filter_map(|r| r.get(key).copied())
        .fold(0.0, f64::max)
}
