//! Calibration: fitting the duplicate thresholds (the three presets) to labelled pairs, by the same
//! decision rule that checks and scans use ([`super::decide_why`]). Pure: the pairs come scored (see
//! [`crate::engine::Engine::calibrate`]).

use super::settings::{DedupConfig, DedupSettings, Preset, ThresholdPatch};
use super::{PairScores, Thresholds, Verifier};
use crate::error::{Error, Result};
use crate::score::{Cosine, SameMeaning, Sentiment, StsScore};
use crate::stats::{best_f1, binary_at, threshold_for_precision, BinaryScores};

/// Scores of one labelled pair under every method.
#[derive(Debug, Clone)]
pub struct Scored {
    pub label: bool,
    pub cosine: Cosine,
    pub jaccard: f32,
    pub sts: Option<StsScore>,
    pub same_meaning: Option<SameMeaning>,
    pub exact: bool,
    pub polarity: Option<String>,
    /// A noun whose role differs between the texts ([`super::roles`]).
    pub roles: Option<String>,
    /// The learned sentiment head's reading of each text, when there is a head.
    pub sentiment: Option<[Sentiment; 2]>,
}

impl Scored {
    /// What the decision rule reads.
    pub fn pair(&self) -> PairScores {
        PairScores {
            exact: self.exact,
            cosine: self.cosine,
            sts: self.sts,
            same_meaning: self.same_meaning,
            polarity: self.polarity.clone(),
            roles: self.roles.clone(),
            sentiment: self.sentiment,
        }
    }

    /// Whether the sentiment head keeps the pair apart under these thresholds.
    fn kept_apart(&self, th: &Thresholds) -> bool {
        !self.exact && super::sentiment_apart(&self.pair(), th).is_some()
    }
}

/// The verifier's decision score, ordered like [`super::decide_why`]: exact above everything; the
/// duplicate model's probability where it was asked; else a confident cosine free of polarity
/// conflicts above any STS, else the STS score; with no STS score, the cosine, below everything
/// when the polarity check vetoes it.
pub fn decision_score(s: &Scored, th: &Thresholds) -> f64 {
    if s.exact {
        return 100.0;
    }
    if s.kept_apart(th) || s.roles.is_some() {
        return -200.0; // below every threshold, the cosine's vetoed pairs included
    }
    if let Some(m) = s.same_meaning {
        return m.value() as f64;
    }
    let conflict = super::polarity_speaks(&s.polarity, th);
    let confident =
        s.sts.is_some() && !conflict && th.confident_cosine.is_some_and(|c| s.cosine.value() >= c);
    match s.sts {
        _ if confident => 50.0, // accepted on the cosine alone, above any STS threshold
        Some(x) => x.value() as f64,
        None if conflict => s.cosine.value() as f64 - 100.0,
        None => s.cosine.value() as f64,
    }
}

/// Precision and recall of a set of thresholds on scored pairs, by the decision rule.
pub fn reached(scored: &[Scored], th: &Thresholds, verifier: Verifier) -> BinaryScores {
    let scores: Vec<f64> = scored.iter().map(|s| decision_score(s, th)).collect();
    let labels: Vec<bool> = scored.iter().map(|s| s.label).collect();
    binary_at(&scores, &labels, verifier.threshold(th) as f64)
}

/// A precision target calibration can fit: in 0.5..1.
pub fn check_target(target_precision: f64) -> Result<()> {
    if !(0.5..1.0).contains(&target_precision) {
        return Err(Error::BadRequest(format!(
            "the target precision must be in 0.5..1, got {target_precision}"
        )));
    }
    Ok(())
}

/// The precision `balanced` is fitted to when a caller names none.
pub const DEFAULT_TARGET_PRECISION: f64 = 0.95;

/// What a calibration found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Calibration {
    /// The server-wide form (`models/dedup.json`): balanced thresholds and the other presets.
    pub config: DedupConfig,
    /// The per-collection form: the balanced thresholds as a collection's own settings.
    pub collection_settings: DedupSettings,
    /// Each preset's precision / recall / F1 on the calibration pairs.
    pub reached: Vec<(Preset, BinaryScores)>,
    pub pairs: usize,
    pub duplicates: usize,
    /// What the pairs said about the sentiment veto.
    pub sentiment_gap_fit: GapFit,
}

/// What labelled pairs say about the sentiment veto.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "fit", content = "gap")]
pub enum GapFit {
    /// The narrowest gap that is right often enough and costs few enough duplicates.
    Fitted(f32),
    /// Enough pairs were vetoed to judge it, and at every gap it was wrong too often or cost too
    /// many duplicates: no veto.
    Rejected,
    /// At no gap did it veto enough pairs to be judged; the veto stays as it was. Pairs a user
    /// reviewed after a scan or a check are like this: every one of them had already passed the
    /// veto, so they cannot say what it saves.
    TooFewPairs,
}

/// How often the sentiment veto must be right (keep apart a non-duplicate) on the calibration pairs
/// it acts on.
pub const VETO_PRECISION: f64 = 0.9;
/// The most of the calibration pairs' duplicates the sentiment veto may keep apart.
pub const VETO_MAX_LOSS: f64 = 0.01;
/// A veto fitted on fewer pairs than this is not trusted (none is set).
const MIN_VETOED: usize = 10;

/// The narrowest sentiment gap whose veto — at it and at every wider gap — is right at least
/// [`VETO_PRECISION`] of the time and keeps apart at most [`VETO_MAX_LOSS`] of the duplicates among
/// these pairs, over at least [`MIN_VETOED`] pairs. Independent of the STS threshold, so that
/// look-alike pairs (`--guard-pairs`) can fit it without moving the presets.
///
/// Why both limits: on Question_pair's calibration part plus mined look-alikes, a gap of 0.50 was
/// right 93% of the time (opposite-rating reviews are many) yet kept apart 2.4% of the duplicates —
/// questions whose sentiment the head, fitted on reviews, reads loosely.
pub fn fit_sentiment_gap(pairs: &[Scored]) -> GapFit {
    let duplicates = pairs.iter().filter(|s| s.label).count();
    let mut chosen = None;
    let mut judged = false;
    for k in (0..14).rev() {
        let gap = 0.3 + 0.05 * k as f32;
        let th = Thresholds {
            sentiment_gap: Some(gap),
            ..Thresholds::default()
        };
        let vetoed: Vec<bool> = pairs
            .iter()
            .filter(|s| s.kept_apart(&th))
            .map(|s| s.label)
            .collect();
        let lost = vetoed.iter().filter(|&&dup| dup).count();
        if vetoed.len() < MIN_VETOED {
            continue;
        }
        judged = true;
        let right = (vetoed.len() - lost) as f64;
        let (n, all) = (vetoed.len() as f64, duplicates as f64);
        if right < VETO_PRECISION * n || (lost as f64) > VETO_MAX_LOSS * all {
            break;
        }
        chosen = Some((gap * 100.0).round() / 100.0);
    }
    match (chosen, judged) {
        (Some(gap), _) => GapFit::Fitted(gap),
        (None, true) => GapFit::Rejected,
        (None, false) => GapFit::TooFewPairs,
    }
}

/// Fits the presets: balanced at `target_precision` (of the whole decision), strict halfway to 1,
/// loose at the best F1 (never stricter than balanced); candidates recall-first. `base` supplies the
/// fields calibration does not fit; `verifier`: which score the pairs carry that decides (the
/// duplicate model's, the cross-encoder's, or only the cosine).
///
/// The sentiment veto (when the pairs carry the head's readings) is fitted on `guards` together
/// with the pairs: look-alikes (another word, opposite sentiment) are what a veto is for, and
/// paraphrases and unrelated questions alone would not show what it costs and what it saves.
pub fn fit(
    scored: &[Scored],
    guards: &[Scored],
    base: Thresholds,
    verifier: Verifier,
    target_precision: f64,
) -> Result<Calibration> {
    let all: Vec<Scored> = scored.iter().chain(guards).cloned().collect();
    let gap_fit = fit_sentiment_gap(&all);
    let base = Thresholds {
        sentiment_gap: match gap_fit {
            GapFit::Fitted(gap) => Some(gap),
            GapFit::Rejected => None,
            GapFit::TooFewPairs => base.sentiment_gap,
        },
        ..base
    };
    let mut cal = fit_at_gap(scored, base, verifier, target_precision)?;
    cal.sentiment_gap_fit = gap_fit;
    if gap_fit == GapFit::TooFewPairs {
        // A collection's settings name only what these pairs fitted; the veto stays the server's.
        cal.collection_settings.thresholds.sentiment_gap = None;
    }
    Ok(cal)
}

fn fit_at_gap(
    scored: &[Scored],
    base: Thresholds,
    verifier: Verifier,
    target_precision: f64,
) -> Result<Calibration> {
    let has_ce = verifier == Verifier::CrossEncoder;
    let has_dm = verifier == Verifier::DuplicateModel;
    check_target(target_precision)?;
    if scored.is_empty() {
        return Err(Error::BadRequest(
            "no labelled pairs to calibrate on".into(),
        ));
    }
    let labels: Vec<bool> = scored.iter().map(|s| s.label).collect();
    // The lowest threshold that reaches the precision (None: the best F1); where no threshold
    // reaches it, the best F1 — or, for a preset stricter than another, no looser than that one.
    let pick = |scores: &[f64], labels: &[bool], precision: Option<f64>, floor: f32| -> f32 {
        let best = best_f1(scores, labels).threshold as f32;
        match precision {
            None => best,
            Some(p) => threshold_for_precision(scores, labels, p)
                .map_or(best.max(floor), |b| (b.threshold as f32).max(floor)),
        }
    };
    // The target is the precision of the whole decision, so exact pairs (always flagged) take part
    // with a score above any threshold. The cosine decides only where the polarity check lets a pair
    // through (see `decide_why`; a vetoed pair is never flagged, so it cannot cost precision); the
    // cross-encoder's STS decides every pair, flipped ones included.
    const ALWAYS: f64 = 100.0;
    // Pairs the sentiment head keeps apart are never flagged (as the polarity veto's for the cosine).
    let apart: Vec<bool> = scored.iter().map(|s| s.kept_apart(&base)).collect();
    let vetoed = |s: &Scored| super::polarity_speaks(&s.polarity, &base);
    let through: Vec<usize> = (0..scored.len())
        .filter(|&i| scored[i].exact || !vetoed(&scored[i]) && !apart[i])
        .collect();
    let through_labels: Vec<bool> = through.iter().map(|&i| labels[i]).collect();
    let cos: Vec<f64> = through
        .iter()
        .map(|&i| match scored[i].exact {
            true => ALWAYS,
            false => scored[i].cosine.value() as f64,
        })
        .collect();
    const NEVER: f64 = -1.0;
    let sts: Vec<f64> = scored
        .iter()
        .zip(&apart)
        .map(|(s, &apart)| match (s.exact, apart) {
            (true, _) => ALWAYS,
            (false, true) => NEVER,
            (false, false) => s.sts.map(|s| s.value() as f64).unwrap_or(0.0),
        })
        .collect();
    let same: Vec<f64> = scored
        .iter()
        .zip(&apart)
        .map(|(s, &apart)| match (s.exact, apart) {
            (true, _) => ALWAYS,
            (false, true) => NEVER,
            (false, false) => s.same_meaning.map(|m| m.value() as f64).unwrap_or(0.0),
        })
        .collect();
    let fit = |precision: Option<f64>, floor: &Thresholds| -> Thresholds {
        let mut th = base;
        // (A threshold only the exact pairs pass is the top of the scale.)
        th.cosine = pick(&cos, &through_labels, precision, floor.cosine).min(1.0);
        if has_ce {
            th.sts = pick(&sts, &labels, precision, floor.sts).min(StsScore::MAX);
            // No cosine shortcut: every pair that is not identical is confirmed by the pair model.
            // One fitted at 99% precision on Question_pair (0.952) held 12% look-alikes among the
            // mined calibration pairs above it, and 0.987 on both sets still let role swaps through
            // (엄마가 나한테 / 내가 엄마한테 막말했어: 0.989). A user may still set one.
            th.confident_cosine = None;
            // Scans ask the cross-encoder only about pairs the cosine calls duplicates.
            th.scan_cross_encoder_from = Some(th.cosine);
        }
        if has_dm {
            th.same_meaning = pick(&same, &labels, precision, floor.same_meaning).min(1.0);
            // The duplicate model confirms every pair: no cosine shortcut.
            th.confident_cosine = None;
            th.scan_cross_encoder_from = Some(th.cosine);
        }
        th
    };
    let none = Thresholds {
        sts: 0.0,
        same_meaning: 0.0,
        cosine: -1.0,
        ..base
    };
    let mut balanced = fit(Some(target_precision), &none);
    // Candidates: a cosine that keeps 98% of the true duplicates (recall first; verification decides).
    let mut pos_cos: Vec<f64> = scored
        .iter()
        .filter(|s| s.label)
        .map(|s| s.cosine.value() as f64)
        .collect();
    pos_cos.sort_by(|a, b| a.total_cmp(b));
    if !pos_cos.is_empty() {
        balanced.candidate_cosine =
            (pos_cos[(pos_cos.len() as f64 * 0.02) as usize] as f32).min(balanced.cosine);
    }
    // Lexical candidates are recall-first too: the best-F1 Jaccard even under a precision target.
    let jac: Vec<f64> = scored.iter().map(|s| s.jaccard as f64).collect();
    balanced.candidate_jaccard = (best_f1(&jac, &labels).threshold as f32).max(0.3);
    let patch = |th: Thresholds| ThresholdPatch {
        sentiment_gap: th.sentiment_gap,
        sts: has_ce.then_some(th.sts),
        same_meaning: has_dm.then_some(th.same_meaning),
        cosine: Some(th.cosine),
        scan_cross_encoder_from: th.scan_cross_encoder_from,
        ..Default::default()
    };
    let strict = fit(Some((1.0 + target_precision) / 2.0), &balanced);
    // Loose is the best F1, but never stricter than balanced.
    let mut loose = fit(None, &none);
    loose.sts = loose.sts.min(balanced.sts);
    loose.same_meaning = loose.same_meaning.min(balanced.same_meaning);
    loose.cosine = loose.cosine.min(balanced.cosine);
    loose.scan_cross_encoder_from = loose.scan_cross_encoder_from.map(|_| loose.cosine);
    let config = DedupConfig {
        balanced,
        presets: [
            (Preset::Strict, patch(strict)),
            (Preset::Loose, patch(loose)),
        ]
        .into_iter()
        .collect(),
    };
    let reached = [Preset::Strict, Preset::Balanced, Preset::Loose]
        .into_iter()
        .map(|p| (p, reached(scored, &config.preset(p), verifier)))
        .collect();
    let collection_settings = DedupSettings {
        preset: None,
        thresholds: ThresholdPatch {
            candidate_cosine: Some(balanced.candidate_cosine),
            candidate_jaccard: Some(balanced.candidate_jaccard),
            confident_cosine: balanced.confident_cosine,
            sentiment_gap: balanced.sentiment_gap,
            ..patch(balanced)
        },
    };
    Ok(Calibration {
        config,
        collection_settings,
        reached,
        pairs: scored.len(),
        duplicates: labels.iter().filter(|&&l| l).count(),
        sentiment_gap_fit: GapFit::TooFewPairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(label: bool, a: f32, b: f32) -> Scored {
        Scored {
            label,
            cosine: Cosine(0.9),
            jaccard: 0.5,
            sts: Some(StsScore::new(if label { 4.0 } else { 3.0 })),
            same_meaning: None,
            exact: false,
            polarity: None,
            roles: None,
            sentiment: Some([Sentiment::new(a), Sentiment::new(b)]),
        }
    }

    #[test]
    fn the_sentiment_gap_is_the_narrowest_that_is_right_and_costs_little() {
        // 200 duplicates read alike (gap 0.1); 40 opposite pairs at gap 0.94; 1 duplicate at 0.94
        // (within the 1% loss) and 10 duplicates at gap 0.56 (too many to lose).
        let mut pairs: Vec<Scored> = (0..200).map(|_| scored(true, 0.5, 0.6)).collect();
        pairs.extend((0..40).map(|_| scored(false, 0.97, 0.03)));
        pairs.push(scored(true, 0.97, 0.03));
        pairs.extend((0..10).map(|_| scored(true, 0.78, 0.22)));
        assert_eq!(fit_sentiment_gap(&pairs), GapFit::Fitted(0.6));
        // Opposite pairs that are mostly duplicates: no gap is right 9 times in 10.
        let wrong: Vec<Scored> = (0..20).map(|i| scored(i % 3 != 0, 0.97, 0.03)).collect();
        assert_eq!(fit_sentiment_gap(&wrong), GapFit::Rejected);
        // Too few opposite pairs to judge the veto by.
        let few: Vec<Scored> = (0..9).map(|_| scored(false, 0.97, 0.03)).collect();
        assert_eq!(fit_sentiment_gap(&few), GapFit::TooFewPairs);
        // Without readings there is nothing to fit.
        let bare: Vec<Scored> = pairs
            .iter()
            .map(|s| Scored {
                sentiment: None,
                ..s.clone()
            })
            .collect();
        assert_eq!(fit_sentiment_gap(&bare), GapFit::TooFewPairs);
    }

    #[test]
    fn pairs_that_cannot_judge_the_veto_keep_it() {
        // Reviewed flags: every pair read alike, so the veto would have kept none of them apart.
        let pairs: Vec<Scored> = (0..100)
            .map(|i| Scored {
                same_meaning: Some(SameMeaning::new(if i % 5 == 0 { 0.6 } else { 0.95 })),
                ..scored(i % 5 != 0, 0.5, 0.55)
            })
            .collect();
        let base = Thresholds {
            sentiment_gap: Some(0.6),
            ..Thresholds::default()
        };
        let c = fit(&pairs, &[], base, Verifier::DuplicateModel, 0.95).unwrap();
        assert_eq!(c.sentiment_gap_fit, GapFit::TooFewPairs);
        assert_eq!(c.config.balanced.sentiment_gap, Some(0.6));
        // The collection's own settings leave it to the server's value.
        assert_eq!(c.collection_settings.thresholds.sentiment_gap, None);
        // Pairs that show the veto wrong remove it.
        let wrong: Vec<Scored> = (0..20).map(|i| scored(i % 3 != 0, 0.97, 0.03)).collect();
        let c = fit(&pairs, &wrong, base, Verifier::DuplicateModel, 0.95).unwrap();
        assert_eq!(c.sentiment_gap_fit, GapFit::Rejected);
        assert_eq!(c.config.balanced.sentiment_gap, None);
    }

    #[test]
    fn calibration_sets_no_cosine_shortcut_and_fits_the_gap_on_the_guards() {
        let pairs: Vec<Scored> = (0..100)
            .map(|i| Scored {
                cosine: Cosine(if i % 2 == 0 { 0.99 } else { 0.7 }),
                ..scored(i % 2 == 0, 0.5, 0.55)
            })
            .collect();
        let guards: Vec<Scored> = (0..30).map(|_| scored(false, 0.97, 0.03)).collect();
        let c = fit(
            &pairs,
            &guards,
            Thresholds::default(),
            Verifier::CrossEncoder,
            0.95,
        )
        .unwrap();
        assert_eq!(c.config.balanced.confident_cosine, None);
        assert_eq!(c.config.balanced.sentiment_gap, Some(0.3));
        assert_eq!(c.collection_settings.thresholds.sentiment_gap, Some(0.3));
    }
}
