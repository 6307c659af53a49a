//! Statistics for pair tasks: correlation (Pearson, Spearman), binary decisions (precision, recall,
//! F1 at a threshold) and ranking quality of a score (ROC-AUC).

/// Pearson correlation; 0 when either side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Ranks with ties averaged (1-based).
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Precision, recall and F1 of `score >= threshold` against boolean labels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BinaryScores {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub accuracy: f64,
    /// Share of negatives left unflagged (true-negative rate).
    pub specificity: f64,
}

/// Precision, recall and F1 from counts: `right` of `flagged` flags were right, out of `relevant`
/// that should have been flagged (0 where a ratio has nothing to divide).
pub fn precision_recall_f1(right: usize, flagged: usize, relevant: usize) -> (f64, f64, f64) {
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let (p, r) = (ratio(right, flagged), ratio(right, relevant));
    let f1 = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    (p, r, f1)
}

pub fn binary_at(scores: &[f64], labels: &[bool], threshold: f64) -> BinaryScores {
    let (mut tp, mut fp, mut fneg, mut tn) = (0usize, 0usize, 0usize, 0usize);
    for (s, &l) in scores.iter().zip(labels) {
        match (*s >= threshold, l) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
            (false, false) => tn += 1,
        }
    }
    let (precision, recall, f1) = precision_recall_f1(tp, tp + fp, tp + fneg);
    BinaryScores {
        threshold,
        precision,
        recall,
        f1,
        accuracy: (tp + tn) as f64 / labels.len().max(1) as f64,
        specificity: if tn + fp == 0 {
            0.0
        } else {
            tn as f64 / (tn + fp) as f64
        },
    }
}

/// ROC-AUC: the probability that a random positive outscores a random negative (ties count half).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let r = ranks(scores);
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return 0.5;
    }
    let sum_pos: f64 = r
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l)
        .map(|(r, _)| r)
        .sum();
    (sum_pos - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64
}

/// The decision at every distinct score used as a threshold, lowest threshold first.
fn sweep<'a>(scores: &'a [f64], labels: &'a [bool]) -> impl Iterator<Item = BinaryScores> + 'a {
    let mut cands: Vec<f64> = scores.to_vec();
    cands.sort_by(|a, b| a.total_cmp(b));
    cands.dedup();
    cands.into_iter().map(move |t| binary_at(scores, labels, t))
}

/// The threshold with the best F1 (for reference figures, never for the shipped defaults' own test).
pub fn best_f1(scores: &[f64], labels: &[bool]) -> BinaryScores {
    sweep(scores, labels)
        .max_by(|a, b| a.f1.total_cmp(&b.f1))
        .unwrap_or(BinaryScores {
            threshold: 0.0,
            precision: 0.0,
            recall: 0.0,
            f1: 0.0,
            accuracy: 0.0,
            specificity: 0.0,
        })
}

/// The lowest threshold whose precision reaches `target` (most recall at that precision).
pub fn threshold_for_precision(
    scores: &[f64],
    labels: &[bool],
    target: f64,
) -> Option<BinaryScores> {
    sweep(scores, labels).find(|b| b.precision >= target && b.recall > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((pearson(&x, &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&x, &[8.0, 6.0, 4.0, 2.0]) + 1.0).abs() < 1e-12);
        assert!((spearman(&x, &[1.0, 10.0, 100.0, 1000.0]) - 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![2.5, 1.0, 2.5]);
    }

    #[test]
    fn binary_and_auc() {
        let s = [0.9, 0.8, 0.3, 0.1];
        let l = [true, false, true, false];
        let b = binary_at(&s, &l, 0.5);
        assert_eq!((b.precision, b.recall), (0.5, 0.5));
        assert!((roc_auc(&s, &l) - 0.75).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.1, 0.9], &[false, true]), 1.0);
        assert_eq!(best_f1(&s, &l).threshold, 0.3);
        assert_eq!(threshold_for_precision(&s, &l, 1.0).unwrap().threshold, 0.9);
    }
}

/// Least squares `y ≈ a·x1 + b·x2 + c`, by the 3×3 normal equations (Cramer's rule in f64);
/// None when they are singular.
pub fn least_squares3(x1: &[f32], x2: &[f32], y: &[f32]) -> Option<[f32; 3]> {
    let mut m = [[0f64; 3]; 3];
    let mut v = [0f64; 3];
    for ((&a, &b), &t) in x1.iter().zip(x2).zip(y) {
        let r = [a as f64, b as f64, 1.0];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += r[i] * r[j];
            }
            v[i] += r[i] * t as f64;
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-9 * (m[0][0] * m[1][1] * m[2][2]).abs().max(1.0) {
        return None;
    }
    let mut out = [0f32; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut mk = m;
        for i in 0..3 {
            mk[i][k] = v[i];
        }
        *o = (det(&mk) / d) as f32;
    }
    Some(out)
}

#[cfg(test)]
mod least_squares_tests {
    #[test]
    fn recovers_an_exact_plane_and_refuses_a_degenerate_one() {
        let x1 = [0.0, 1.0, 2.0, 3.0, 1.5];
        let x2 = [1.0, 0.0, 1.0, 5.0, 2.0];
        let y: Vec<f32> = x1
            .iter()
            .zip(&x2)
            .map(|(a, b)| 2.0 * a - 0.5 * b + 1.0)
            .collect();
        let [a, b, c] = super::least_squares3(&x1, &x2, &y).unwrap();
        assert!((a - 2.0).abs() < 1e-4 && (b + 0.5).abs() < 1e-4 && (c - 1.0).abs() < 1e-4);
        assert!(super::least_squares3(&x1, &x1, &y).is_none());
    }
}
