//! How a pair reaches a cross-encoder: as written, or with the words where the two texts differ
//! bracketed. Look-alikes (너무 더워서 / 너무 추워서) differ in one word among many shared ones; a small
//! pair model reads the shared words as "same meaning". Brackets around the differing runs tell it where
//! to look. A model is trained with one input form and must be served with the same one, so the form
//! is part of the model (`yusa_pair_input` in its `config.json`), applied by the trainer and by
//! [`CrossEncoder`](super::CrossEncoder) alike.

use serde::{Deserialize, Serialize};

/// The input form a pair model was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairInput {
    /// The two texts as they are.
    #[default]
    Plain,
    /// Runs of words not shared with the other text in `[` `]` ([`mark_differences`]).
    MarkedDifferences,
}

impl PairInput {
    /// The pair as this form presents it to the model.
    pub fn apply(self, a: &str, b: &str) -> (String, String) {
        match self {
            PairInput::Plain => (a.to_owned(), b.to_owned()),
            PairInput::MarkedDifferences => mark_differences(a, b),
        }
    }
}

/// Word alignments larger than this are not computed: the marks are for sentence pairs, and a long
/// document against a sentence differs almost everywhere anyway.
const MAX_ALIGNMENT_CELLS: usize = 40_000;

/// Brackets each maximal run of words (whitespace-separated) that the longest common subsequence of the
/// two texts' words leaves out. Words are compared without punctuation and case (`더워요?` = `더워요`).
/// When the texts share no word, or every word, or are too long to align, both come back unmarked
/// (words joined by single spaces): marks then say nothing.
pub fn mark_differences(a: &str, b: &str) -> (String, String) {
    let wa: Vec<&str> = a.split_whitespace().collect();
    let wb: Vec<&str> = b.split_whitespace().collect();
    let plain = || (wa.join(" "), wb.join(" "));
    if wa.is_empty() || wb.is_empty() || wa.len() * wb.len() > MAX_ALIGNMENT_CELLS {
        return plain();
    }
    let ka: Vec<String> = wa.iter().map(|w| key(w)).collect();
    let kb: Vec<String> = wb.iter().map(|w| key(w)).collect();
    let (in_a, in_b) = common_words(&ka, &kb);
    let shared = in_a.iter().filter(|&&s| s).count();
    if shared == 0 || (shared == wa.len() && shared == wb.len()) {
        return plain();
    }
    (bracket(&wa, &in_a), bracket(&wb, &in_b))
}

/// A word's comparison key: letters and digits only, lower-cased; a word of punctuation alone keeps
/// itself, so `?` still matches `?`.
fn key(word: &str) -> String {
    let k: String = word
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if k.is_empty() {
        word.to_owned()
    } else {
        k
    }
}

/// Which words of each side belong to one longest common subsequence.
fn common_words(a: &[String], b: &[String]) -> (Vec<bool>, Vec<bool>) {
    let (n, m) = (a.len(), b.len());
    let lcs = crate::text::lcs::suffix_table(a, b);
    let (mut in_a, mut in_b) = (vec![false; n], vec![false; m]);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            in_a[i] = true;
            in_b[j] = true;
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    (in_a, in_b)
}

/// The words joined by spaces, each run of words not in common inside one pair of brackets.
fn bracket(words: &[&str], common: &[bool]) -> String {
    let mut parts: Vec<String> = vec![];
    let mut i = 0;
    while i < words.len() {
        if common[i] {
            parts.push(words[i].to_owned());
            i += 1;
        } else {
            let start = i;
            while i < words.len() && !common[i] {
                i += 1;
            }
            parts.push(format!("[{}]", words[start..i].join(" ")));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_differing_word_is_bracketed_on_both_sides() {
        let (a, b) = mark_differences("너무 더워서 잠이 안 와", "너무 추워서 잠이 안 와");
        assert_eq!(a, "너무 [더워서] 잠이 안 와");
        assert_eq!(b, "너무 [추워서] 잠이 안 와");
    }

    #[test]
    fn runs_and_insertions_are_one_bracket_each() {
        let (a, b) = mark_differences("엄마가 나한테 막말했어", "엄마한테 막말했어");
        assert_eq!(a, "[엄마가 나한테] 막말했어");
        assert_eq!(b, "[엄마한테] 막말했어");
        let (a, b) = mark_differences("배송이 빨라요", "배송이 정말 빨라요!");
        assert_eq!(a, "배송이 빨라요");
        assert_eq!(b, "배송이 [정말] 빨라요!");
    }

    #[test]
    fn punctuation_and_case_do_not_make_a_difference() {
        let (a, b) = mark_differences("환불 되나요?", "환불  되나요");
        assert_eq!((a.as_str(), b.as_str()), ("환불 되나요?", "환불 되나요"));
        let (a, b) = mark_differences("Rust 좋아", "rust 싫어");
        assert_eq!((a.as_str(), b.as_str()), ("Rust [좋아]", "rust [싫어]"));
    }

    #[test]
    fn texts_with_nothing_in_common_stay_unmarked() {
        let (a, b) = mark_differences("잠이안와요", "잠와요");
        assert_eq!((a.as_str(), b.as_str()), ("잠이안와요", "잠와요"));
        assert_eq!(
            PairInput::Plain.apply("a  b", "c"),
            ("a  b".to_owned(), "c".to_owned())
        );
    }

    #[test]
    fn the_form_reads_from_a_config_value() {
        let f: PairInput = serde_json::from_str("\"marked_differences\"").unwrap();
        assert_eq!(f, PairInput::MarkedDifferences);
    }
}
