//! Who does what to whom: two texts with the same words and the same verb in which a person or
//! thing changes its role (엄마가 나한테 막말했어 / 내가 엄마한테 막말했어 / 엄마한테 막말했어) do not
//! mean the same. Every duplicate model tried merged such pairs (0 of 30 hand-written role swaps kept
//! apart): real text holds too few of them to learn from, and a cross-encoder sees nearly the same
//! characters. Korean marks a noun's role with the particle after it, which MeCab tags, so the roles
//! can be read instead of learned.
//!
//! The rule fires only where the reading is safe, each condition from a false alarm on paraphrase
//! data (Question_pair, StyleKQC, paraKQC, KLUE STS ≥ 4; docs/results/2026-12-07-role-swaps.md):
//! - a noun (or pronoun) holds one core role in one text and a different one in the other: subject
//!   (이/가/께서), object (을/를), recipient (에게/한테/께) or source (에게서/한테서); the topic
//!   particle 은/는 marks subjects and objects alike (계정은 몇 개 만들 수 있어 / 계정을 …), so it
//!   marks no role;
//! - both texts have the same predicates (verb stems in order): a converse verb says the same with
//!   the roles turned (친구가 나한테 빌려줬어 / 친구한테 빌렸어);
//! - each text is one clause with a verb (no copula, no question word, at most one main verb): a
//!   noun can be the subject of one clause and the object of the next (노트북이 식탁 위에 있는데
//!   그걸 갖다놔 / 식탁 위에 있는 노트북을 갖다놔), and adjectives take their experiencer either way
//!   (친구가 고마워 / 친구한테 고마워).

use crate::text::morphemes::Morpheme;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A noun's role in a clause, as its particle marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Subject,
    Object,
    Recipient,
    Source,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Subject => "subject",
            Role::Object => "object",
            Role::Recipient => "recipient",
            Role::Source => "source",
        }
    }

    /// The role a particle marks after a noun, if it marks a core one.
    fn of_particle(p: &Morpheme) -> Option<Role> {
        match (p.tag.as_str(), p.surface.as_str()) {
            ("JKS", "이" | "가" | "께서") => Some(Role::Subject),
            ("JKO", _) => Some(Role::Object),
            ("JKB", "에게" | "한테" | "께" | "에게다" | "한테다") => {
                Some(Role::Recipient)
            }
            ("JKB", "에게서" | "한테서") => Some(Role::Source),
            _ => None,
        }
    }
}

/// What the rule found: a noun whose roles differ between the two texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSwap {
    pub noun: String,
    pub in_a: BTreeSet<Role>,
    pub in_b: BTreeSet<Role>,
}

impl fmt::Display for RoleSwap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |r: &BTreeSet<Role>| r.iter().map(|r| r.name()).collect::<Vec<_>>().join("/");
        write!(
            f,
            "{} is {} in one text and {} in the other",
            self.noun,
            names(&self.in_a),
            names(&self.in_b)
        )
    }
}

/// Words that make a clause a question about the noun (화산이 많은 나라가 어디인지 / 나라를
/// 검색해): their nouns' particles say little about who acts.
const QUESTION_WORDS: [&str; 11] = [
    "무엇", "뭐", "뭘", "어디", "누구", "언제", "몇", "어떤", "무슨", "어느", "얼마",
];

/// Pronoun forms before 가 (내가, 제가, 네가) read as the pronoun (나, 저, 너).
fn pronoun(surface: &str) -> &str {
    match surface {
        "내" => "나",
        "제" => "저",
        "네" | "니" => "너",
        s => s,
    }
}

fn is_noun(m: &Morpheme) -> bool {
    matches!(m.tag.as_str(), "NNG" | "NNP" | "NP")
}

/// A text the rule can read: one clause with one main verb, no copula, no question word, no
/// adjective.
fn one_plain_clause(ms: &[Morpheme]) -> bool {
    let mut verbs = 0;
    for m in ms {
        if m.tag.split('+').any(|t| t == "VCP") || QUESTION_WORDS.contains(&m.surface.as_str()) {
            return false;
        }
        match m.head_tag() {
            "VA" | "XSA" => return false,
            "VV" | "XSV" => verbs += 1,
            _ => {}
        }
    }
    verbs == 1
}

/// The predicates' stems in order, a verb made of a noun and 하다 as one (막말했 → 막말하).
fn predicates(ms: &[Morpheme]) -> Vec<String> {
    ms.iter()
        .enumerate()
        .filter(|(_, m)| matches!(m.head_tag(), "VV" | "VA" | "VX" | "XSV" | "XSA"))
        .map(|(i, m)| match (m.head_tag(), i.checked_sub(1)) {
            ("XSV" | "XSA", Some(p)) => format!("{}{}", ms[p].surface, m.stem()),
            _ => m.stem().to_owned(),
        })
        .collect()
}

/// Each noun with a core role and the roles it takes.
fn roles(ms: &[Morpheme]) -> BTreeMap<String, BTreeSet<Role>> {
    let mut out: BTreeMap<String, BTreeSet<Role>> = BTreeMap::new();
    for w in ms.windows(2) {
        if !is_noun(&w[0]) {
            continue;
        }
        if let Some(role) = Role::of_particle(&w[1]) {
            let noun = match w[0].tag.as_str() {
                "NP" => pronoun(&w[0].surface),
                _ => &w[0].surface,
            };
            out.entry(noun.to_owned()).or_default().insert(role);
        }
    }
    out
}

/// The first noun whose role differs between two analysed texts, when both are one plain clause
/// with the same predicates (see the module's conditions).
pub fn role_swap(a: &[Morpheme], b: &[Morpheme]) -> Option<RoleSwap> {
    if !one_plain_clause(a) || !one_plain_clause(b) || predicates(a) != predicates(b) {
        return None;
    }
    let (ra, rb) = (roles(a), roles(b));
    ra.iter().find_map(|(noun, in_a)| {
        let in_b = rb.get(noun)?;
        in_a.is_disjoint(in_b).then(|| RoleSwap {
            noun: noun.clone(),
            in_a: in_a.clone(),
            in_b: in_b.clone(),
        })
    })
}

/// Texts longer than this are not read for roles: the rule needs one clause, and a long text is
/// never one.
const MAX_CHARS: usize = 200;

/// The role finding for two texts, as a reason reads it; `None` without a dictionary, for long
/// texts, or when the roles agree.
pub fn role_conflict(analyzer: &crate::text::Analyzer, a: &str, b: &str) -> Option<String> {
    if a.chars().count() > MAX_CHARS || b.chars().count() > MAX_CHARS {
        return None;
    }
    let (ta, tb) = (analyzer.tagged(a)?, analyzer.tagged(b)?);
    role_swap(&ta, &tb).map(|s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text as MeCab tags it: `surface/TAG` or `surface/TAG/expression`, space-separated.
    fn tagged(s: &str) -> Vec<Morpheme> {
        s.split(' ')
            .map(|m| {
                let mut p = m.splitn(3, '/');
                Morpheme {
                    surface: p.next().unwrap().to_owned(),
                    tag: p.next().unwrap().to_owned(),
                    expression: p.next().unwrap_or("").replace('|', "/"),
                }
            })
            .collect()
    }

    const MOM_TO_ME: &str =
        "엄마/NNG 가/JKS 나/NP 한테/JKB 막말/NNG 했/XSV+EP/하|XSV|*+았|EP|* 어/EC";
    const ME_TO_MOM: &str =
        "내/NP 가/JKS 엄마/NNG 한테/JKB 막말/NNG 했/XSV+EP/하|XSV|*+았|EP|* 어/EC";
    const TO_MOM: &str = "엄마/NNG 한테/JKB 막말/NNG 했/XSV+EP/하|XSV|*+았|EP|* 어/EC";

    #[test]
    fn a_swapped_subject_and_recipient_is_found() {
        let s = role_swap(&tagged(MOM_TO_ME), &tagged(ME_TO_MOM)).expect("a swap");
        assert_eq!(s.noun, "나");
        assert!(s.to_string().contains("recipient"), "{s}");
        assert!(role_swap(&tagged(MOM_TO_ME), &tagged(TO_MOM)).is_some());
    }

    #[test]
    fn the_same_roles_in_other_words_are_no_swap() {
        let again =
            "엄마/NNG 가/JKS 나/NP 한테/JKB 또/MAG 막말/NNG 했/XSV+EP/하|XSV|*+았|EP|* 어/EC";
        assert_eq!(role_swap(&tagged(MOM_TO_ME), &tagged(again)), None);
        // The topic particle marks no role: 엄마는 may be the one who spoke.
        let topic = "엄마/NNG 는/JX 나/NP 한테/JKB 막말/NNG 했/XSV+EP/하|XSV|*+았|EP|* 어/EC";
        assert_eq!(role_swap(&tagged(MOM_TO_ME), &tagged(topic)), None);
    }

    #[test]
    fn converse_verbs_adjectives_and_questions_are_left_to_the_model() {
        // 빌려줬어 / 빌렸어: other predicates, the same event.
        let lent = "친구/NNG 가/JKS 나/NP 한테/JKB 돈/NNG 을/JKO 빌려/VV+EC/빌리|VV|*+어|EC|* 줬/VX+EP/주|VX|*+었|EP|* 어/EF";
        let borrowed = "친구/NNG 한테/JKB 돈/NNG 을/JKO 빌렸/VV+EP/빌리|VV|*+었|EP|* 어/EF";
        assert_eq!(role_swap(&tagged(lent), &tagged(borrowed)), None);
        // An adjective takes its experiencer with 가 or 한테 alike.
        let thanks_a = "친구/NNG 가/JKS 고맙/VA 네/EF";
        let thanks_b = "친구/NNG 한테/JKB 고맙/VA 네/EF";
        assert_eq!(role_swap(&tagged(thanks_a), &tagged(thanks_b)), None);
        // A question word: 나라가 어디인지 검색해 / 나라를 검색해.
        let q = "나라/NNG 가/JKS 어디/NP 인지/VCP+EC 검색/NNG 해/XSV+EC/하|XSV|*+아|EC|*";
        let plain = "나라/NNG 를/JKO 검색/NNG 해/XSV+EC/하|XSV|*+아|EC|*";
        assert_eq!(role_swap(&tagged(q), &tagged(plain)), None);
    }
}
