//! Fitting the sentiment head: an L2-regularised logistic regression on fixed bi-encoder vectors,
//! full-batch Adam. Pure (vectors and labels in, weights out), so the CLI owns reading and
//! embedding, and a test can check the fit on vectors it makes up.
//!
//! Why not fine-tune the encoder for sentiment: the head must read the vectors the engine already
//! has for every stored text (a second encoder pass per text would double a scan's cost), and a
//! linear head on them already reads held-back NSMC movies' ratings at about 0.8.

use rayon::prelude::*;

/// A fitted head.
#[derive(Debug, Clone)]
pub struct Logistic {
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Logistic {
    pub fn probability(&self, x: &[f32]) -> f64 {
        let z: f64 = self
            .weights
            .iter()
            .zip(x)
            .map(|(w, v)| (*w as f64) * (*v as f64))
            .sum::<f64>()
            + self.bias as f64;
        1.0 / (1.0 + (-z).exp())
    }

    /// Mean log-loss of these examples (probabilities clipped away from 0 and 1).
    pub fn log_loss(&self, xs: &[Vec<f32>], ys: &[bool]) -> f64 {
        let sum: f64 = xs
            .par_iter()
            .zip(ys)
            .map(|(x, &y)| {
                let p = self.probability(x).clamp(1e-7, 1.0 - 1e-7);
                if y {
                    -p.ln()
                } else {
                    -(1.0 - p).ln()
                }
            })
            .sum();
        sum / xs.len().max(1) as f64
    }
}

/// How the fit runs.
#[derive(Debug, Clone, Copy)]
pub struct FitConfig {
    /// L2 penalty on the weights (not the bias), per example: loss + l2/2·|w|².
    pub l2: f64,
    pub iterations: usize,
    pub lr: f64,
}

/// Fits `P(y) = σ(w·x + b)` by full-batch Adam on the mean log-loss plus the L2 penalty.
pub fn fit(xs: &[Vec<f32>], ys: &[bool], cfg: FitConfig) -> Logistic {
    let dim = xs.first().map_or(0, Vec::len);
    let n = xs.len().max(1) as f64;
    let mut w = vec![0f64; dim + 1]; // the last slot is the bias
    let (mut m, mut v) = (vec![0f64; dim + 1], vec![0f64; dim + 1]);
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
    for t in 1..=cfg.iterations {
        let grad = xs
            .par_chunks(1024)
            .zip(ys.par_chunks(1024))
            .map(|(xc, yc)| {
                let mut g = vec![0f64; dim + 1];
                for (x, &y) in xc.iter().zip(yc) {
                    let z: f64 = w[..dim]
                        .iter()
                        .zip(x)
                        .map(|(a, b)| a * *b as f64)
                        .sum::<f64>()
                        + w[dim];
                    let err = 1.0 / (1.0 + (-z).exp()) - if y { 1.0 } else { 0.0 };
                    for (gi, xi) in g[..dim].iter_mut().zip(x) {
                        *gi += err * *xi as f64;
                    }
                    g[dim] += err;
                }
                g
            })
            .reduce(
                || vec![0f64; dim + 1],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        for i in 0..=dim {
            let mut g = grad[i] / n;
            if i < dim {
                g += cfg.l2 * w[i];
            }
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let mh = m[i] / (1.0 - b1.powi(t as i32));
            let vh = v[i] / (1.0 - b2.powi(t as i32));
            w[i] -= cfg.lr * mh / (vh.sqrt() + eps);
        }
    }
    Logistic {
        weights: w[..dim].iter().map(|&x| x as f32).collect(),
        bias: w[dim] as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_what_a_direction_separates() {
        // Labels follow the sign of the first coordinate; the second is noise.
        let xs: Vec<Vec<f32>> = (0..400)
            .map(|i| {
                let a = ((i * 37) % 200) as f32 / 100.0 - 1.0;
                let b = ((i * 91) % 113) as f32 / 56.0 - 1.0;
                vec![a, b]
            })
            .collect();
        let ys: Vec<bool> = xs.iter().map(|x| x[0] > 0.0).collect();
        let cfg = FitConfig {
            l2: 1e-4,
            iterations: 500,
            lr: 0.05,
        };
        let h = fit(&xs, &ys, cfg);
        assert!(h.weights[0] > 1.0 && h.weights[0].abs() > 5.0 * h.weights[1].abs());
        assert!(h.log_loss(&xs, &ys) < 0.3);
        // A stronger penalty shrinks the weights.
        let shrunk = fit(&xs, &ys, FitConfig { l2: 1.0, ..cfg });
        assert!(shrunk.weights[0].abs() < h.weights[0].abs());
    }
}
