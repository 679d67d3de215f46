//! Which of a chat server's admission bounds refused the step's sends as `overloaded`, read
//! from its Prometheus metrics (`chat_sends_overloaded_total{bound}`) before and after the
//! step, so that a report says which setting the refusals point at.

use std::collections::BTreeMap;
use std::time::Duration;

/// The counter of refusals by bound.
const COUNTER: &str = "chat_sends_overloaded_total";

/// How long a scrape may take before the step goes on without it.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);

/// Refusals so far by bound, or `None` when there is no metrics address or it did not answer
/// (another target, metrics served elsewhere).
pub async fn scrape(metrics_url: Option<&str>) -> Option<BTreeMap<String, u64>> {
    let client = reqwest::Client::builder()
        .timeout(SCRAPE_TIMEOUT)
        .build()
        .ok()?;
    let response = client.get(metrics_url?).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    Some(parse(&response.text().await.ok()?))
}

/// The refusals by bound in a Prometheus text exposition.
fn parse(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let labels = line.strip_prefix(COUNTER)?.strip_prefix('{')?;
            let (labels, value) = labels.rsplit_once("} ")?;
            let bound = labels
                .split(',')
                .find_map(|label| label.strip_prefix("bound=\""))?
                .strip_suffix('"')?;
            let count = value.trim().parse::<f64>().ok()?;
            Some((bound.to_owned(), count as u64))
        })
        .collect()
}

/// The refusals by bound between two scrapes (bounds that refused nothing left out).
pub fn since(
    before: Option<BTreeMap<String, u64>>,
    after: Option<BTreeMap<String, u64>>,
) -> BTreeMap<String, u64> {
    let (before, after) = (before.unwrap_or_default(), after.unwrap_or_default());
    after
        .into_iter()
        .map(|(bound, count)| {
            let earlier = before.get(&bound).copied().unwrap_or(0);
            (bound, count.saturating_sub(earlier))
        })
        .filter(|(_, count)| *count > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = "\
# TYPE chat_sends_overloaded_total counter
chat_sends_overloaded_total{bound=\"ready_queue\"} 12
chat_sends_overloaded_total{bound=\"in_flight\"} 3
chat_sends_overloaded_total_other{bound=\"x\"} 9
chat_messages_refused_total{reason=\"overloaded\"} 15
";

    #[test]
    fn reads_each_bound_and_nothing_else() {
        let counts = parse(EXPOSITION);
        assert_eq!(
            counts,
            BTreeMap::from([("in_flight".to_owned(), 3), ("ready_queue".to_owned(), 12)])
        );
    }

    #[test]
    fn counts_what_each_bound_refused_between_scrapes() {
        let before = parse("chat_sends_overloaded_total{bound=\"ready_queue\"} 10\n");
        let after = parse(EXPOSITION);
        assert_eq!(
            since(Some(before), Some(after)),
            BTreeMap::from([("in_flight".to_owned(), 3), ("ready_queue".to_owned(), 2)])
        );
        assert!(since(None, None).is_empty());
    }
}
