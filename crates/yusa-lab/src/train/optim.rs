//! AdamW with decoupled weight decay whose moments are in the open, so that a long run can save them
//! and resume where it stopped (candle-nn's `AdamW` keeps its moments private). The arithmetic is
//! candle-nn's, operation for operation, so a run that never resumes gives the same weights as before.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use std::collections::HashMap;
use yusa_core::error::{Error, Result};

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// One trained tensor and its two moment estimates.
struct Param {
    name: String,
    var: Var,
    /// First moment (mean of gradients).
    m: Tensor,
    /// Second moment (mean of squared gradients).
    v: Tensor,
    weight_decay: f64,
}

pub struct AdamW {
    params: Vec<Param>,
    /// Steps taken (the bias correction's exponent).
    t: usize,
}

impl AdamW {
    /// `params`: (name, variable, weight decay). Names key the saved state.
    pub fn new(params: Vec<(String, Var, f64)>) -> Result<Self> {
        let params = params
            .into_iter()
            .map(|(name, var, weight_decay)| {
                let zeros = var.as_tensor().zeros_like()?;
                Ok(Param {
                    name,
                    m: zeros.clone(),
                    v: zeros,
                    var,
                    weight_decay,
                })
            })
            .collect::<Result<_>>()?;
        Ok(AdamW { params, t: 0 })
    }

    /// One update at learning rate `lr` of every variable that has a gradient.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        self.t += 1;
        let scale_m = 1f64 / (1f64 - BETA1.powi(self.t as i32));
        let scale_v = 1f64 / (1f64 - BETA2.powi(self.t as i32));
        for p in &mut self.params {
            let Some(g) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            let next_m = ((&p.m * BETA1)? + (g * (1.0 - BETA1))?)?;
            let next_v = ((&p.v * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
            let m_hat = (&next_m * scale_m)?;
            let v_hat = (&next_v * scale_v)?;
            let theta = (p.var.as_tensor() * (1f64 - lr * p.weight_decay))?;
            let adjusted = (m_hat / (v_hat.sqrt()? + EPS)?)?;
            p.var.set(&(theta - (adjusted * lr)?)?)?;
            (p.m, p.v) = (next_m, next_v);
        }
        Ok(())
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.t
    }

    /// The moments by name (`m.NAME`, `v.NAME`), to save beside the weights.
    pub fn moments(&self) -> HashMap<String, Tensor> {
        self.params
            .iter()
            .flat_map(|p| {
                [
                    (format!("m.{}", p.name), p.m.clone()),
                    (format!("v.{}", p.name), p.v.clone()),
                ]
            })
            .collect()
    }

    /// Puts saved moments back (after `steps` steps); every variable's pair must be there.
    pub fn restore(&mut self, steps: usize, saved: &HashMap<String, Tensor>) -> Result<()> {
        for p in &mut self.params {
            let get = |k: String| {
                saved
                    .get(&k)
                    .cloned()
                    .ok_or_else(|| Error::Invalid(format!("resume state lacks {k}")))
            };
            let (m, v) = (get(format!("m.{}", p.name))?, get(format!("v.{}", p.name))?);
            if m.shape() != p.var.shape() || v.shape() != p.var.shape() {
                return Err(Error::Invalid(format!(
                    "resume state: moments of {} have the wrong shape",
                    p.name
                )));
            }
            (p.m, p.v) = (m, v);
        }
        self.t = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::optim::{Optimizer, ParamsAdamW};

    /// Same arithmetic as candle-nn's AdamW: the same weights after a few steps.
    #[test]
    fn matches_candle_adamw_and_resumes_exactly() -> Result<()> {
        let dev = Device::Cpu;
        let init = Tensor::new(&[[0.5f32, -1.0], [2.0, 0.25]], &dev)?;
        let target = Tensor::new(&[[1.0f32, 0.0], [0.0, 1.0]], &dev)?;
        let loss = |v: &Var| -> Result<Tensor> { Ok((v.as_tensor() - &target)?.sqr()?.sum_all()?) };

        let ours = Var::from_tensor(&init)?;
        let theirs = Var::from_tensor(&init)?;
        let mut a = AdamW::new(vec![("w".into(), ours.clone(), 0.01)])?;
        let mut b = candle_nn::optim::AdamW::new(
            vec![theirs.clone()],
            ParamsAdamW {
                lr: 0.1,
                weight_decay: 0.01,
                ..Default::default()
            },
        )?;
        for _ in 0..3 {
            a.step(&loss(&ours)?.backward()?, 0.1)?;
            b.step(&loss(&theirs)?.backward()?)?;
        }
        let (x, y) = (
            ours.as_tensor().to_vec2::<f32>()?,
            theirs.as_tensor().to_vec2::<f32>()?,
        );
        assert_eq!(x, y);

        // Save after 3 steps, restore into a fresh optimiser over a copy, take 2 more on both.
        let copy = Var::from_tensor(&ours.as_tensor().copy()?)?;
        let mut c = AdamW::new(vec![("w".into(), copy.clone(), 0.01)])?;
        c.restore(a.steps(), &a.moments())?;
        for _ in 0..2 {
            a.step(&loss(&ours)?.backward()?, 0.1)?;
            c.step(&loss(&copy)?.backward()?, 0.1)?;
        }
        assert_eq!(
            ours.as_tensor().to_vec2::<f32>()?,
            copy.as_tensor().to_vec2::<f32>()?
        );
        assert!(c.restore(5, &HashMap::new()).is_err());
        Ok(())
    }
}
