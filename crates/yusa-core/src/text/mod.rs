//! Korean text analysis, shared by the lexical index (BM25 terms) and duplicate detection (shingles,
//! exact-duplicate keys). One place, one version number: an index records the analyzer version it was
//! built with, and a change here must bump it.
//!
//! Hangul has no spaces between a noun and its particle (학교에서 = 학교 + 에서), so Hangul and Hanja
//! runs become overlapping character bigrams (학교에서 → 학교, 교에, 에서): a query for 학교 matches,
//! and so does a word no dictionary knows (에어팟). A one-syllable word is kept as a unigram so that it
//! stays searchable. Latin letters and digits form whole words. Beside the bigrams, an [`Analyzer`]
//! with a morphological dictionary ([`morphemes`]) gives a second field of content morphemes
//! (먹었다 and 먹는다 → 먹), which bigrams cannot match.

pub mod lcs;
pub mod morphemes;
pub mod passages;

use std::sync::Arc;

use unicode_normalization::UnicodeNormalization;

/// Bump when [`analyze`] or the lexical fields change: an index built with an older version has its
/// lexical index rebuilt from its documents when it is opened. 2: a morpheme field beside the bigrams;
/// 3: each passage's number stored (a hit names the passage BM25 ranked it by); 4: a long document's
/// later passages indexed with its head ([`passages::head`]).
pub const ANALYZER_VERSION: u32 = 4;

/// The lexical analysis a process serves: the bigrams always, morphemes when a dictionary was loaded.
/// Cheap to clone (the dictionary is shared).
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    morphemes: Option<Arc<morphemes::MorphemeAnalyzer>>,
}

impl Analyzer {
    /// Bigrams only.
    pub fn bigrams_only() -> Analyzer {
        Analyzer::default()
    }

    /// Bigrams and the morphemes of the mecab-ko-dic in `dir`.
    pub fn with_dictionary(dir: &std::path::Path) -> crate::error::Result<Analyzer> {
        Ok(Analyzer {
            morphemes: Some(Arc::new(morphemes::MorphemeAnalyzer::open(dir)?)),
        })
    }

    /// The morpheme dictionary's identity, if there is one (recorded in each collection).
    pub fn dictionary(&self) -> Option<&str> {
        self.morphemes.as_ref().map(|m| m.id())
    }

    /// The text's morpheme terms (none without a dictionary).
    pub fn morphemes(&self, text: &str) -> Vec<String> {
        self.morphemes
            .as_ref()
            .map(|m| m.morphemes(text))
            .unwrap_or_default()
    }

    /// The text's morphemes with their tags, or `None` without a dictionary.
    pub fn tagged(&self, text: &str) -> Option<Vec<morphemes::Morpheme>> {
        self.morphemes.as_ref().map(|m| m.tagged(text))
    }
}

/// Which lexical fields a lexical search reads: both by default. The single fields are for measuring
/// (`yusa-lab eval retrieval --lexical-fields`).
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LexicalFields {
    #[default]
    Both,
    Bigrams,
    Morphemes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Hangul syllables and jamo, Hanja: analysed as character n-grams.
    Cjk,
    /// Letters of alphabetic scripts and digits: whole words.
    Word,
    /// Spaces, punctuation, symbols, emoji: separators.
    Other,
}

fn class(c: char) -> Class {
    match c as u32 {
        0xac00..=0xd7a3
        | 0x1100..=0x11ff
        | 0x3130..=0x318f
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xf900..=0xfaff => Class::Cjk,
        _ if c.is_alphanumeric() => Class::Word,
        _ => Class::Other,
    }
}

/// NFKC, then lower case: full-width letters, compatibility jamo and case variants compare equal.
pub fn normalize(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// The index terms of a text, in order of appearance (repeats kept: BM25 counts them).
pub fn analyze(text: &str) -> Vec<String> {
    let norm = normalize(text);
    let mut terms = Vec::new();
    let chars: Vec<char> = norm.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let cl = class(chars[i]);
        let start = i;
        while i < chars.len() && class(chars[i]) == cl {
            i += 1;
        }
        let run = &chars[start..i];
        match cl {
            Class::Cjk if run.len() == 1 => terms.push(run[0].to_string()),
            Class::Cjk => terms.extend(run.windows(2).map(|w| w.iter().collect::<String>())),
            Class::Word => terms.push(run.iter().collect()),
            Class::Other => {}
        }
    }
    terms
}

/// The key under which exact duplicates collide: NFKC, lower case, and nothing but letters and digits
/// (whitespace and punctuation dropped), so "굿!!" and "굿" share it.
pub fn exact_key(text: &str) -> String {
    let norm = normalize(text);
    let key: String = norm.chars().filter(|c| c.is_alphanumeric()).collect();
    if key.is_empty() {
        // No letters or digits (`?`, `♥♥`, `^_^`, `..`): nothing is left to compare once the
        // punctuation goes, so such texts are duplicates only when they are the same text (spaces
        // aside). The leading NUL keeps these keys apart from every alphanumeric one.
        let symbols: String = norm.chars().filter(|c| !c.is_whitespace()).collect();
        return format!("\0{symbols}");
    }
    key
}

/// Two texts, one of them with no letters or digits (`?` and `♥♥`, `.....` and `ㅡ.`), that are not
/// the same symbols: a text with nothing to compare means the same as no other text, and no model is
/// asked to find a meaning (one called `.....` a duplicate of `ㅡ.` in an NSMC scan).
pub fn nothing_to_compare(a: &str, b: &str) -> bool {
    let bare = |t: &str| !normalize(t).chars().any(char::is_alphanumeric);
    (bare(a) || bare(b)) && exact_key(a) != exact_key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_letters_matches_only_the_same_symbols() {
        assert!(nothing_to_compare("?", "♥♥"));
        assert!(nothing_to_compare(".....", "ㅡ."));
        assert!(nothing_to_compare("^_^", "좋아요"));
        assert!(!nothing_to_compare("♥♥", "♥ ♥"));
        assert!(!nothing_to_compare("좋아요", "좋아요!"));
    }

    #[test]
    fn particles_do_not_block_matches() {
        let doc = analyze("학교에서 공부했어요");
        assert!(doc.contains(&"학교".to_string()));
        assert_eq!(analyze("학교"), vec!["학교"]);
        assert_eq!(
            doc,
            vec!["학교", "교에", "에서", "공부", "부했", "했어", "어요"]
        );
    }

    #[test]
    fn one_syllable_words_latin_and_digits() {
        assert_eq!(analyze("굿"), vec!["굿"]);
        assert_eq!(analyze("KTX 3시 출발!"), vec!["ktx", "3", "시", "출발"]);
        assert_eq!(
            analyze("Ｆｕｌｌ-width ＡＢＣ"),
            vec!["full", "width", "abc"]
        );
        assert!(analyze("  ?!  ").is_empty());
    }

    #[test]
    fn hanja_is_ngrammed_like_hangul() {
        assert_eq!(analyze("大韓民國"), vec!["大韓", "韓民", "民國"]);
    }

    #[test]
    fn exact_key_ignores_case_space_punctuation() {
        assert_eq!(exact_key("굿!!"), exact_key(" 굿 "));
        assert_eq!(exact_key("Good Movie."), exact_key("good movie"));
        assert_ne!(exact_key("재밌어요"), exact_key("재미없어요"));
        // Texts without letters or digits match only themselves.
        assert_ne!(exact_key("?"), exact_key("♥♥"));
        assert_ne!(exact_key("^_^"), exact_key(".."));
        assert_ne!(exact_key("?"), exact_key(""));
        assert_eq!(exact_key("♥ ♥"), exact_key("♥♥"));
        assert_ne!(exact_key("?"), exact_key("a"));
    }
}
