//! The `Range` request header (RFC 9110 §14): one byte range, from the start, to the end, or
//! a suffix. Anything else (several ranges, other units, bad syntax) is ignored and the whole
//! file served, as the RFC allows.

use std::ops::Range;

/// What a `Range` header asks of a file of some size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// Serve the whole file (no header, or one to ignore).
    Whole,
    /// Serve these bytes with 206.
    Part(Range<u64>),
    /// No byte of the range exists: 416.
    Unsatisfiable,
}

/// Reads `header` against a file of `size` bytes.
pub fn requested(header: Option<&str>, size: u64) -> Requested {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Requested::Whole;
    };
    if spec.contains(',') {
        return Requested::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Requested::Whole;
    };
    let number = |text: &str| text.trim().parse::<u64>().ok();
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, true) => return Requested::Whole,
        (true, false) => match number(last) {
            Some(0) => return Requested::Unsatisfiable,
            Some(suffix) => size.saturating_sub(suffix)..size,
            None => return Requested::Whole,
        },
        (false, open_end) => {
            let Some(start) = number(first) else {
                return Requested::Whole;
            };
            let end = if open_end {
                size
            } else {
                match number(last) {
                    Some(last) if last >= start => last.saturating_add(1).min(size),
                    _ => return Requested::Whole,
                }
            };
            start..end
        }
    };
    if range.start >= size {
        return Requested::Unsatisfiable;
    }
    Requested::Part(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_of_every_form() {
        assert_eq!(requested(Some("bytes=0-9"), 100), Requested::Part(0..10));
        assert_eq!(requested(Some("bytes=90-"), 100), Requested::Part(90..100));
        assert_eq!(requested(Some("bytes=-10"), 100), Requested::Part(90..100));
        assert_eq!(requested(Some("bytes=-500"), 100), Requested::Part(0..100));
        assert_eq!(
            requested(Some("bytes=50-500"), 100),
            Requested::Part(50..100)
        );
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable_and_odd_ones_ignored() {
        assert_eq!(requested(Some("bytes=100-"), 100), Requested::Unsatisfiable);
        assert_eq!(requested(Some("bytes=-0"), 100), Requested::Unsatisfiable);
        assert_eq!(requested(Some("bytes=0-"), 0), Requested::Unsatisfiable);
        for ignored in [
            None,
            Some("items=0-1"),
            Some("bytes=0-1,5-6"),
            Some("bytes=9-2"),
            Some("bytes=x-"),
        ] {
            assert_eq!(requested(ignored, 100), Requested::Whole, "{ignored:?}");
        }
    }
}
