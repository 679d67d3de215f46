//! Message search: the words of a query, what a store is asked for, and the highlighted
//! snippet each hit carries.
//!
//! Every backend guarantees the same minimum: a chat message (never a membership entry)
//! matches when it contains each query word as a word, ignoring case. Backends may match more
//! loosely — SQLite FTS5 also matches word prefixes and ignores diacritics, the MongoDB
//! fallback and the memory store match substrings — so callers must not rely on a word
//! *not* matching inside a longer one.

use crate::error::{Error, Result};
use crate::id::{MessageId, RoomId};
use crate::model::Message;

/// Most words a query may have; more is refused rather than silently cut.
pub const MAX_TERMS: usize = 8;
/// Most characters a query may have.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most hits one page returns.
pub const MAX_HITS: usize = 50;
/// How many characters of context a snippet keeps before its first highlighted word.
const CONTEXT_BEFORE: usize = 40;
/// How many characters a snippet shows at most (without its ellipses).
const SNIPPET_CHARS: usize = 160;

/// The words of a search query, lowercased, each a run of letters and digits, without
/// duplicates. Punctuation and operators in the query are separators, never syntax, so every
/// backend can put the words into its own query language without escaping surprises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms(Vec<String>);

impl Terms {
    /// Splits `query` into words. `Error::Invalid` when it has none, or is too long or has
    /// too many words.
    pub fn parse(query: &str) -> Result<Terms> {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::Invalid(format!(
                "a search is at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let mut words: Vec<String> = Vec::new();
        for word in query.split(|c: char| !c.is_alphanumeric()) {
            let word = word.to_lowercase();
            if !word.is_empty() && !words.contains(&word) {
                words.push(word);
            }
        }
        if words.is_empty() {
            return Err(Error::Invalid("search for at least one word".into()));
        }
        if words.len() > MAX_TERMS {
            return Err(Error::Invalid(format!(
                "a search has at most {MAX_TERMS} words"
            )));
        }
        Ok(Terms(words))
    }

    /// The words, lowercased, in the order the query gave them.
    pub fn words(&self) -> &[String] {
        &self.0
    }

    /// Whether `text` contains every word, ignoring case: the memory store's match, and the
    /// loosest any backend does.
    pub fn matches(&self, text: &str) -> bool {
        let folded = text.to_lowercase();
        self.0.iter().all(|word| folded.contains(word.as_str()))
    }

    /// Whether one word of a text contains one of the query's words: what gets highlighted.
    fn highlights(&self, word: &str) -> bool {
        let folded = word.to_lowercase();
        self.0.iter().any(|term| folded.contains(term.as_str()))
    }
}

/// What a store is asked: the messages of `rooms` (the caller's, checked by the engine) that
/// match `terms`, newest first, older than the message `before`, at most `limit`.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// The words every hit contains.
    pub terms: Terms,
    /// The rooms to search; the engine passes only rooms the caller is a member of.
    pub rooms: Vec<RoomId>,
    /// The last hit of the previous page; `None` for the first page.
    pub before: Option<MessageId>,
    /// At most this many hits.
    pub limit: usize,
}

/// One piece of a snippet: plain text, or text that matched a query word. Text is never
/// markup: clients render it as text (escaped) and mark the hits themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The characters, as they appear in the message.
    pub text: String,
    /// Whether this piece is a word that matched.
    pub hit: bool,
}

/// A message that matched, with the part of its text to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The whole message: its room, seq and id say where to open the conversation.
    pub message: Message,
    /// Up to 160 characters around the first matching word, with every word
    /// that contains a query word marked; "…" stands for text cut at either end.
    pub snippet: Vec<Segment>,
}

impl SearchHit {
    /// The hit for `message`, with its snippet for `terms`.
    pub fn new(message: Message, terms: &Terms) -> SearchHit {
        let snippet = snippet(&message.text, terms);
        SearchHit { message, snippet }
    }
}

/// The snippet of `text` for `terms` (see [`SearchHit::snippet`]). When no word is marked
/// (a backend matched a form the highlighter does not see, such as a word without its
/// accents), it is the start of the text.
pub fn snippet(text: &str, terms: &Terms) -> Vec<Segment> {
    let hits = hit_ranges(text, terms);
    let first = hits.first().map_or(0, |range| range.0);
    let start = back_chars(text, first, CONTEXT_BEFORE);
    let end = forward_chars(text, start, SNIPPET_CHARS);
    let mut segments: Vec<Segment> = Vec::new();
    let mut push = |text: &str, hit: bool| {
        if text.is_empty() {
            return;
        }
        match segments.last_mut() {
            Some(last) if last.hit == hit => last.text.push_str(text),
            _ => segments.push(Segment {
                text: text.to_owned(),
                hit,
            }),
        }
    };
    if start > 0 {
        push("…", false);
    }
    let mut at = start;
    for (from, to) in hits {
        let (from, to) = (from.max(start), to.min(end));
        if from >= to {
            continue;
        }
        push(&text[at..from], false);
        push(&text[from..to], true);
        at = to;
    }
    push(&text[at..end.max(at)], false);
    if end < text.len() {
        push("…", false);
    }
    segments
}

/// The byte ranges of the words of `text` that contain a query word, in order.
fn hit_ranges(text: &str, terms: &Terms) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut word_start = None;
    for (at, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_alphanumeric(), word_start) {
            (true, None) => word_start = Some(at),
            (false, Some(from)) => {
                if terms.highlights(&text[from..at]) {
                    ranges.push((from, at));
                }
                word_start = None;
            }
            _ => {}
        }
    }
    ranges
}

/// The byte offset `count` characters before `at`, or 0.
fn back_chars(text: &str, at: usize, count: usize) -> usize {
    text[..at]
        .char_indices()
        .rev()
        .nth(count.saturating_sub(1))
        .map_or(0, |(offset, _)| offset)
}

/// The byte offset `count` characters after `at`, or the end.
fn forward_chars(text: &str, at: usize, count: usize) -> usize {
    text[at..]
        .char_indices()
        .nth(count)
        .map_or(text.len(), |(offset, _)| at + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| {
                if s.hit {
                    format!("[{}]", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn queries_are_words_without_syntax() {
        let terms = Terms::parse(r#"  Lunch "AT" the-Café? lunch OR * "#).unwrap();
        assert_eq!(terms.words(), ["lunch", "at", "the", "café", "or"]);
        assert!(Terms::parse(" *:\"() ").is_err());
        assert!(Terms::parse("").is_err());
        assert!(Terms::parse("a b c d e f g h i").is_err());
        assert!(Terms::parse(&"x".repeat(MAX_QUERY_CHARS + 1)).is_err());
    }

    #[test]
    fn matching_ignores_case_and_needs_every_word() {
        let terms = Terms::parse("harbour LUNCH").unwrap();
        assert!(terms.matches("Lunch at the Harbour tomorrow?"));
        assert!(!terms.matches("Lunch tomorrow?"));
    }

    #[test]
    fn snippets_mark_matching_words_and_keep_the_rest_as_text() {
        let terms = Terms::parse("cafe").unwrap();
        let segments = snippet("Meet at <b>the cafe</b>, Cafeteria later", &terms);
        assert_eq!(
            render(&segments),
            "Meet at <b>the [cafe]</b>, [Cafeteria] later"
        );
        let plain = snippet("nothing marked here", &terms);
        assert_eq!(render(&plain), "nothing marked here");
    }

    #[test]
    fn long_texts_are_cut_around_the_first_hit() {
        let text = format!("{} needle {}", "é".repeat(300), "ü".repeat(300));
        let segments = snippet(&text, &Terms::parse("needle").unwrap());
        let rendered = render(&segments);
        assert!(
            rendered.starts_with('…') && rendered.ends_with('…'),
            "{rendered}"
        );
        assert!(rendered.contains("[needle]"));
        assert!(rendered.chars().count() <= SNIPPET_CHARS + 4, "{rendered}");
        assert!(segments.iter().any(|s| s.hit));
    }
}
