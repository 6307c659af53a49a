//! Splitting a long document into passages for the bi-encoder: the encoder sees 512 tokens, and one
//! vector for a whole manual says little about its last chapter. A text of at most [`MAX_CHARS`]
//! characters is one passage (every short text yusa held before passages existed stays one); a longer
//! one is cut at sentence ends into passages of at most `MAX_CHARS`, each starting with the previous
//! passage's last sentence when that is short (so that a sentence which needs its neighbour is seen
//! with it). A sentence longer than a passage is cut at a space.
//!
//! Offsets are in characters (Unicode scalar values), the unit the API reports. The split is a pure
//! function of the text and [`SPLITTER_VERSION`]; stores keep the spans they were given, so a later
//! change here does not misplace the passages of stored vectors.

/// Bump when [`split`] changes its output.
pub const SPLITTER_VERSION: u32 = 1;

/// Longest passage, in characters. Korean runs at about 0.7–0.9 e5 tokens per character, so 500
/// characters stay inside the encoder's 512-token window with the prefix and special tokens.
pub const MAX_CHARS: usize = 500;

/// A previous sentence this short or shorter is repeated at the start of the next passage.
const OVERLAP_CHARS: usize = 150;

/// A stretch of a text, in characters: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// The span's text (out-of-range ends are clamped).
    pub fn slice<'a>(&self, text: &'a str) -> &'a str {
        let byte = |c: u32| {
            text.char_indices()
                .nth(c as usize)
                .map_or(text.len(), |(b, _)| b)
        };
        let (s, e) = (byte(self.start), byte(self.end));
        &text[s..e.max(s)]
    }
}

/// The texts of many spans of one text, with one pass over it (a span's own [`Span::slice`] walks the
/// text from its start: over a 1 MB document's 1,400 passages that was a second of ingest).
pub fn slices<'a>(text: &'a str, spans: &[Span]) -> Vec<&'a str> {
    // Byte offset of every character boundary, the text's end included.
    let bytes: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect();
    let at = |c: u32| bytes[(c as usize).min(bytes.len() - 1)];
    spans
        .iter()
        .map(|s| {
            let (a, b) = (at(s.start), at(s.end));
            &text[a..b.max(a)]
        })
        .collect()
}

/// Sentence spans: a sentence ends after `.`, `!`, `?`, `。`, `…` or a line break, with the spaces
/// that follow it.
fn sentences(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let ends = matches!(c, '.' | '!' | '?' | '。' | '…' | '\n')
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        i += 1;
        if ends {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            out.push((start, i));
            start = i;
        }
    }
    if start < chars.len() {
        out.push((start, chars.len()));
    }
    // A sentence longer than a passage is cut, at the last space before the limit when there is one.
    let mut cut = Vec::with_capacity(out.len());
    for (mut s, e) in out {
        while e - s > MAX_CHARS {
            let limit = s + MAX_CHARS;
            let at = (s + MAX_CHARS / 2..limit)
                .rev()
                .find(|&j| chars[j].is_whitespace())
                .map_or(limit, |j| j + 1);
            cut.push((s, at));
            s = at;
        }
        cut.push((s, e));
    }
    cut
}

/// The passages of `text`: one span covering it all when it has at most [`MAX_CHARS`] characters.
pub fn split(text: &str) -> Vec<Span> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n <= MAX_CHARS {
        return vec![Span {
            start: 0,
            end: n as u32,
        }];
    }
    let sents = sentences(&chars);
    let mut out: Vec<Span> = Vec::new();
    let mut i = 0;
    while i < sents.len() {
        let start = sents[i].0;
        let mut j = i;
        while j + 1 < sents.len() && sents[j + 1].1 - start <= MAX_CHARS {
            j += 1;
        }
        out.push(Span {
            start: start as u32,
            end: sents[j].1 as u32,
        });
        if j + 1 >= sents.len() {
            break;
        }
        // Start the next passage with this one's last sentence when it is short and the passage
        // holds more than that sentence (else the split would not advance).
        let last = sents[j];
        i = if j > i && last.1 - last.0 <= OVERLAP_CHARS {
            j
        } else {
            j + 1
        };
    }
    out
}

/// Longest document head repeated before a later passage, in characters.
pub const HEAD_CHARS: usize = 80;

/// The document's head: its first non-empty line without Markdown heading marks, cut at a space to at
/// most [`HEAD_CHARS`] characters (None: no such line).
pub fn head(text: &str) -> Option<String> {
    let line = text
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .find(|l| !l.is_empty())?;
    if line.chars().count() <= HEAD_CHARS {
        return Some(line.to_owned());
    }
    let cut: String = line.chars().take(HEAD_CHARS).collect();
    Some(match cut.rfind(char::is_whitespace) {
        Some(b) if b > 0 => cut[..b].trim_end().to_owned(),
        _ => cut,
    })
}

/// What a document is indexed under for BM25, one text per passage (both stores index these): the
/// whole text when it is one passage; else each passage, the later ones read after the document's
/// [`head`] — a question names the document's subject, which a later passage seldom repeats, as
/// retrievers put an article's title with each of its passages. Measured on the tuning sets in
/// docs/results/2026-12-06-passage-heads.md (sections: lexical Recall@1 0.471 -> 0.520).
pub fn lexical_parts(text: &str) -> Vec<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    let spans = split(text);
    if spans.len() == 1 {
        return vec![Cow::Borrowed(text)];
    }
    let head = head(text);
    slices(text, &spans)
        .into_iter()
        .enumerate()
        .map(|(n, part)| match (&head, n) {
            (Some(h), 1..) => Cow::Owned(format!("{h}\n{part}")),
            _ => Cow::Borrowed(part),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_text_is_one_passage() {
        let spans = split("짧은 문서입니다. 두 문장.");
        assert_eq!(spans, [Span { start: 0, end: 15 }]);
    }

    #[test]
    fn passages_cover_the_text_in_order_within_the_limit_and_overlap() {
        let sentence = "이 문장은 설명서의 한 부분으로 사용법을 알려 줍니다. ";
        let text: String = (0..200).map(|i| format!("{i}번째 {sentence}")).collect();
        let n = text.chars().count() as u32;
        let spans = split(&text);
        assert!(spans.len() > 10);
        assert_eq!(spans[0].start, 0);
        assert_eq!(spans.last().unwrap().end, n);
        for w in spans.windows(2) {
            assert!(w[1].start <= w[0].end, "no gap: {w:?}");
            assert!(w[1].start > w[0].start, "advances: {w:?}");
            assert!(w[1].start < w[0].end, "short sentences overlap: {w:?}");
        }
        for s in &spans {
            assert!(s.end - s.start <= MAX_CHARS as u32);
            // Passages start at a sentence.
            assert!(
                s.slice(&text).chars().next().unwrap().is_ascii_digit(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_text_without_sentence_ends_is_cut_at_spaces() {
        let text = "단어 ".repeat(1000);
        let spans = split(&text);
        assert_eq!(spans.last().unwrap().end as usize, text.chars().count());
        for s in &spans {
            assert!(s.end - s.start <= MAX_CHARS as u32);
            assert!(s.slice(&text).starts_with('단'), "{s:?}");
        }
        let solid = "가".repeat(1200);
        let spans = split(&solid);
        assert_eq!(
            spans.iter().map(|s| s.end - s.start).collect::<Vec<_>>(),
            [500, 500, 200]
        );
    }

    #[test]
    fn the_head_is_the_first_line_without_heading_marks_cut_at_a_space() {
        assert_eq!(
            head("\n## 데이터 타입\n본문").as_deref(),
            Some("데이터 타입")
        );
        assert_eq!(head("  \n \n"), None);
        let long = "세종은 조선의 제4대 국왕이다. ".repeat(10);
        let h = head(&long).unwrap();
        assert!(
            h.chars().count() <= HEAD_CHARS && long.starts_with(&h),
            "{h}"
        );
        assert!(!h.ends_with(' ') && long[h.len()..].starts_with(' '), "{h}");
    }

    #[test]
    fn slices_are_by_character() {
        let s = Span { start: 1, end: 3 };
        assert_eq!(s.slice("가나다라"), "나다");
        assert_eq!(Span { start: 2, end: 9 }.slice("가나다"), "다");
        let text = "첫 문장입니다. ".repeat(200);
        let spans = split(&text);
        let one_pass = slices(&text, &spans);
        assert_eq!(
            one_pass,
            spans.iter().map(|s| s.slice(&text)).collect::<Vec<_>>()
        );
        assert_eq!(slices("가나", &[Span { start: 1, end: 7 }]), ["나"]);
    }
}
