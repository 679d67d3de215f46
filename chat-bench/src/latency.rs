//! Send→receive latency: one HDR histogram for a step, and one per second of scheduled send
//! time for the timeline.
//!
//! Latency runs from when a message was *due* to be sent, not from when it was written, so a
//! server (or generator) that falls behind shows it in the figures (no coordinated omission).

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency kept exactly; longer ones are recorded as this (a minute, in µs).
const HIGHEST_MICROS: u64 = 60_000_000;
/// Significant digits of the histograms.
const PRECISION: u8 = 3;
/// Width of one timeline window.
const WINDOW: Duration = Duration::from_secs(1);

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

/// One second of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Start of the window, in seconds since the step began.
    pub start_s: f64,
    /// Deliveries of messages scheduled in the window.
    pub deliveries: u64,
    /// Their latencies.
    pub latency_ms: Percentiles,
}

/// A point of the latency distribution.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    /// Quantile, 0 to 1.
    pub quantile: f64,
    /// Latency at that quantile, ms.
    pub ms: f64,
}

/// The histograms of one step.
pub struct Recorder {
    total: Histogram<u64>,
    windows: Vec<Histogram<u64>>,
}

impl Recorder {
    /// Empty histograms.
    pub fn new() -> Self {
        Recorder {
            total: histogram(),
            windows: Vec::new(),
        }
    }

    /// A delivery of a message scheduled `scheduled` into the step, after `latency`.
    pub fn record(&mut self, scheduled: Duration, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, HIGHEST_MICROS);
        self.total.saturating_record(micros);
        let window = (scheduled.as_secs_f64() / WINDOW.as_secs_f64()) as usize;
        while self.windows.len() <= window {
            self.windows.push(histogram());
        }
        self.windows[window].saturating_record(micros);
    }

    /// Percentiles of the whole step.
    pub fn percentiles(&self) -> Percentiles {
        percentiles_of(&self.total)
    }

    /// Percentiles per window, skipping the first `skip` (the warmup).
    pub fn timeline(&self, skip: Duration) -> Vec<Window> {
        self.windows
            .iter()
            .enumerate()
            .map(|(index, histogram)| (index as f64 * WINDOW.as_secs_f64(), histogram))
            .filter(|(start, histogram)| *start >= skip.as_secs_f64() && !histogram.is_empty())
            .map(|(start_s, histogram)| Window {
                start_s,
                deliveries: histogram.len(),
                latency_ms: percentiles_of(histogram),
            })
            .collect()
    }

    /// The distribution at quantiles spread evenly in "nines" (0, 90, 99, 99.9, … %).
    pub fn distribution(&self) -> Vec<Point> {
        if self.total.is_empty() {
            return Vec::new();
        }
        let steps = 100;
        let most_nines = ((self.total.len() as f64).log10()).clamp(1.0, 6.0);
        (0..=steps)
            .map(|step| {
                let nines = most_nines * f64::from(step) / f64::from(steps);
                let quantile = 1.0 - 10f64.powf(-nines);
                Point {
                    quantile,
                    ms: millis(self.total.value_at_quantile(quantile)),
                }
            })
            .collect()
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_MICROS, PRECISION)
        .unwrap_or_else(|_| unreachable!("the bounds are constant and valid"))
}

/// Percentiles of any microsecond histogram, in milliseconds.
pub fn percentiles_of(histogram: &Histogram<u64>) -> Percentiles {
    if histogram.is_empty() {
        return Percentiles::default();
    }
    let at = |quantile| millis(histogram.value_at_quantile(quantile));
    Percentiles {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        p999: at(0.999),
        max: millis(histogram.max()),
    }
}

fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_windows_follow_the_samples() {
        let mut recorder = Recorder::new();
        for i in 1..=1000u64 {
            let scheduled = Duration::from_millis(i * 2);
            recorder.record(scheduled, Duration::from_micros(i * 100));
        }
        let all = recorder.percentiles();
        assert!((all.p50 - 50.0).abs() < 0.5, "{all:?}");
        assert!((all.max - 100.0).abs() < 0.1, "{all:?}");
        let timeline = recorder.timeline(Duration::from_secs(1));
        let counts: Vec<u64> = timeline.iter().map(|window| window.deliveries).collect();
        assert_eq!(counts, [500, 1]);
        let distribution = recorder.distribution();
        assert_eq!(distribution.first().unwrap().quantile, 0.0);
        assert!(distribution.windows(2).all(|pair| pair[0].ms <= pair[1].ms));
    }
}
