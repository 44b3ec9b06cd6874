//! The bucket bounds of the exported Prometheus histograms, the cumulative counts of an
//! HdrHistogram in them, and the quantile estimate a reader makes from such buckets.

use hdrhistogram::Histogram;

/// Upper bounds for latencies, in µs (10 µs .. 10 s; exported in seconds).
const LATENCY_BOUNDS_US: [u64; 19] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// Upper bounds for counts (accept-queue depth, completions per enter): 0, then powers of 2.
const COUNT_BOUNDS: [u64; 15] = [
    0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 4_096, 16_384, 65_536,
];

/// The finite bucket bounds (upper, inclusive) of the exported Prometheus histograms:
/// those of latencies in µs (`micros`, exported in seconds), else those of counts.
pub fn bounds(micros: bool) -> &'static [u64] {
    match micros {
        true => &LATENCY_BOUNDS_US,
        false => &COUNT_BOUNDS,
    }
}

/// The cumulative count of `h`'s values ≤ each of `bounds`, then the total (the `+Inf`
/// bucket). A value is placed by the highest value of its HdrHistogram bucket (the one its
/// percentiles report), so a value within 1 % above a bound may count in the next bucket.
pub(crate) fn cumulative(h: &Histogram<u64>, bounds: &[u64]) -> Vec<u64> {
    let mut counts = vec![0u64; bounds.len() + 1];
    for v in h.iter_recorded() {
        let i = bounds.partition_point(|&b| b < v.value_iterated_to());
        counts[i] += v.count_at_value();
    }
    let mut total = 0;
    for c in &mut counts {
        total += *c;
        *c = total;
    }
    counts
}

/// The `q` quantile estimated from cumulative bucket counts (`(upper bound, count)`, the
/// last one `+Inf`) as Prometheus' `histogram_quantile` does: linear within the bucket the
/// rank falls in; capped at `max`, which also answers for the `+Inf` bucket. NaN if empty.
pub(crate) fn quantile(buckets: &[(f64, f64)], q: f64, max: f64) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return f64::NAN;
    };
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank && count > lower.1 {
            if bound.is_infinite() {
                return max;
            }
            let within = (rank - lower.1) / (count - lower.1);
            let estimate = lower.0 + (bound - lower.0) * within;
            return if max.is_nan() {
                estimate
            } else {
                estimate.min(max)
            };
        }
        lower = (bound, count);
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_counts_and_quantiles() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 2).unwrap();
        for v in [5, 10, 30, 2_000, 20_000_000] {
            h.record(v).unwrap();
        }
        let c = cumulative(&h, &LATENCY_BOUNDS_US);
        assert_eq!(c.len(), 20);
        assert_eq!((c[0], c[1], c[2], c[6], c[7]), (2, 2, 3, 3, 4));
        assert_eq!((c[18], c[19]), (4, 5));
        assert!(c.windows(2).all(|w| w[0] <= w[1]));
        let buckets: Vec<(f64, f64)> = LATENCY_BOUNDS_US
            .iter()
            .map(|&b| b as f64)
            .chain([f64::INFINITY])
            .zip(c.iter().map(|&n| n as f64))
            .collect();
        assert_eq!(quantile(&buckets, 0.2, 2e7), 5.0); // rank 1 of 2 in (0, 10]
        assert_eq!(quantile(&buckets, 1.0, 2e7), 2e7);
        assert!((1_000.0..=2_500.0).contains(&quantile(&buckets, 0.8, 2e7)));
        assert!(quantile(&[(f64::INFINITY, 0.0)], 0.5, 0.0).is_nan());
    }
}
