//! Fine-tuning plumbing on the tiny fixture: gradients reach every layer (candle's fused LayerNorm
//! would silently train only the head), a fixed seed repeats a run exactly, and the loss falls.

/// A fixture model under the repository's `tests/fixtures`.
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}
use yusa_core::model::encoder::Mode;
use yusa_core::model::tokenize::TextTokenizer;
use yusa_core::model::ModelDir;
use yusa_core::pairs::Pair;
use yusa_lab::train::model::TrainableCrossEncoder;
use yusa_lab::train::{train, Loss, TrainConfig};

fn pairs() -> Vec<Pair> {
    let raw = [
        ("오늘 날씨가 정말 좋네요", "날씨가 아주 맑고 좋습니다", 4.2),
        ("이 영화 정말 재밌어요", "이 영화 정말 재미없어요", 1.0),
        ("심심한데 뭐하지", "심심한데 뭐하면 좋을까", 4.6),
        ("주식 시장이 크게 하락했다", "학교에서 공부했어요", 0.0),
        ("자기 소개 어떻게 해", "자기 소개 또 어떻게 해", 4.8),
        ("화장이 안 먹네", "눈 많이 왔어", 0.2),
        ("밤 12시야", "출근길 막혀", 0.4),
        ("눈 많이 왔어", "눈 쌓였어", 4.0),
    ];
    raw.iter()
        .map(|(a, b, s)| Pair {
            sentence1: a.to_string(),
            sentence2: b.to_string(),
            score: *s,
        })
        .collect()
}

#[test]
fn gradients_reach_the_first_layer_and_embeddings() {
    let dir = ModelDir::open(fixture("tiny-bert")).unwrap();
    let m = TrainableCrossEncoder::from_base(&dir, None, 1).unwrap();
    let tok = TextTokenizer::from_file(&dir.tokenizer_path(), 40).unwrap();
    let t = tok
        .encode_pairs(&[
            ("학교".into(), "학교에서".into()),
            ("굿".into(), "날씨".into()),
        ])
        .unwrap();
    let seqs: Vec<(&[u32], &[u32])> = t
        .iter()
        .map(|x| (x.ids.as_slice(), x.type_ids.as_slice()))
        .collect();
    let input = m.encoder().batch_input(&seqs).unwrap();
    let logits = m.logits(&input, Mode::Train, None).unwrap();
    let loss = logits.sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    for name in [
        "bert.encoder.layer.0.attention.self.query.weight",
        "bert.encoder.layer.0.attention.output.LayerNorm.weight",
        "bert.embeddings.LayerNorm.weight",
        "bert.embeddings.position_embeddings.weight",
        "classifier.weight",
    ] {
        let g = grads
            .get(m.vars[name].as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let norm = g
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(norm > 0.0, "zero gradient for {name}");
    }
    assert!(
        !m.vars
            .contains_key("bert.embeddings.word_embeddings.weight"),
        "word embeddings stay frozen"
    );
}

/// A run with no callbacks to speak of: every evaluation, no pruning.
fn try_train_quietly(
    c: &TrainConfig,
    data: &[Pair],
) -> yusa_core::Result<yusa_lab::train::Trained> {
    train(c, data, data, &mut |_, _, _| {}, &mut |_| {}, &mut |_| {
        false
    })
}

fn train_quietly(c: &TrainConfig, data: &[Pair]) -> yusa_lab::train::Trained {
    try_train_quietly(c, data).unwrap()
}

fn cfg() -> TrainConfig {
    TrainConfig {
        base: fixture("tiny-bert"),
        layers: None,
        lr: 3e-3,
        batch_size: 4,
        epochs: 25,
        patience: 100,
        dropout: 0.0,
        warmup_ratio: 0.1,
        max_tokens: 40,
        ..TrainConfig::default()
    }
}

#[test]
fn same_seed_same_run_and_loss_falls() {
    let data = pairs();
    let run = |c: &TrainConfig| train_quietly(c, &data);
    let a = run(&cfg());
    let b = run(&cfg());
    let la: Vec<f64> = a.log.iter().map(|l| l.train_loss).collect();
    let lb: Vec<f64> = b.log.iter().map(|l| l.train_loss).collect();
    assert_eq!(la, lb, "a fixed seed must repeat the run exactly");
    eprintln!("{la:?}");
    assert!(
        la.last().unwrap() < &(la[0] * 0.8),
        "training loss should fall: {la:?}"
    );
    let c = run(&TrainConfig { seed: 7, ..cfg() });
    assert_ne!(la, c.log.iter().map(|l| l.train_loss).collect::<Vec<_>>());
    // MSE works too and reports on the same scale.
    let d = run(&TrainConfig {
        loss: Loss::Mse,
        epochs: 2,
        ..cfg()
    });
    assert!(d.log[0].dev.mse.is_finite());
}

#[test]
fn saved_model_loads_as_a_cross_encoder() {
    let data = pairs();
    let c = TrainConfig { epochs: 1, ..cfg() };
    let t = train_quietly(&c, &data);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ce");
    yusa_lab::train::save(&t, &c, &out, "test data", "cargo test").unwrap();
    let ce = yusa_core::model::CrossEncoder::load(&ModelDir::open(&out).unwrap()).unwrap();
    let s = ce
        .score(&[("오늘 날씨가 정말 좋네요", "날씨가 아주 맑고 좋습니다")])
        .unwrap();
    let report = yusa_lab::train::evaluate(
        &t.model,
        &ModelDir::open(fixture("tiny-bert")).unwrap(),
        &data[..1],
        Loss::Bce,
        40,
    )
    .unwrap();
    assert_eq!(report.pairs, 1);
    assert!((0.0..=5.0).contains(&s[0].value()));
    assert!(std::fs::read_to_string(out.join("README.md"))
        .unwrap()
        .contains("Training log"));
}

#[test]
fn a_trained_model_does_not_inherit_its_bases_cosine_blend() {
    // A blend is fitted to one model's outputs; a model trained from a blended STS cross-encoder
    // must not apply the base's blend to its own scores.
    let tmp = tempfile::tempdir().unwrap();
    // A cross-encoder to start from: one epoch from the fixture, then a blend written into it.
    let first = TrainConfig { epochs: 1, ..cfg() };
    let base = tmp.path().join("blended");
    yusa_lab::train::save(
        &train_quietly(&first, &pairs()),
        &first,
        &base,
        "test data",
        "cargo test",
    )
    .unwrap();
    let cfg_path = base.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    config["yusa_cosine_blend"] = serde_json::json!({
        "bi_encoder": "tiny-bert", "sts_weight": 0.5, "cosine_weight": 0.5, "bias": 0.0
    });
    std::fs::write(&cfg_path, config.to_string()).unwrap();
    let base_ce = yusa_core::model::CrossEncoder::load(&ModelDir::open(&base).unwrap()).unwrap();
    assert!(base_ce.blend().is_some(), "the base carries a blend");

    let c = TrainConfig {
        base: base.clone(),
        epochs: 1,
        ..cfg()
    };
    let t = train_quietly(&c, &pairs());
    let out = tmp.path().join("trained");
    yusa_lab::train::save(&t, &c, &out, "test data", "cargo test").unwrap();
    let saved = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert!(!saved.contains("yusa_cosine_blend"), "{saved}");
    let ce = yusa_core::model::CrossEncoder::load(&ModelDir::open(&out).unwrap()).unwrap();
    assert!(ce.blend().is_none());
}

/// The scores a saved model gives when loaded for serving (f32).
fn served_scores(dir: &std::path::Path, data: &[Pair]) -> Vec<f32> {
    let ce = yusa_core::model::CrossEncoder::load(&ModelDir::open(dir).unwrap()).unwrap();
    let texts: Vec<(&str, &str)> = data
        .iter()
        .map(|p| (p.sentence1.as_str(), p.sentence2.as_str()))
        .collect();
    ce.score(&texts)
        .unwrap()
        .iter()
        .map(|s| s.value())
        .collect()
}

/// The control of a served-scores check: `from` replaced by `to` in the saved model's config, the
/// largest change of any score against `pred` (the scores before the edit).
fn rescored_after_config_edit(
    dir: &std::path::Path,
    data: &[Pair],
    pred: &[f32],
    from: &str,
    to: &str,
) -> f32 {
    let cfg_path = dir.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    assert!(text.contains(from), "{text}");
    std::fs::write(&cfg_path, text.replace(from, to)).unwrap();
    served_scores(dir, data)
        .iter()
        .zip(pred)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max)
}

/// Users bring their own encoder (the founding report's was a RoBERTa): a cross-encoder trained from a
/// BERT or an XLM-R/RoBERTa base must score, once saved and loaded for serving, exactly what the trainer
/// scored in memory. An XLM-R base whose position offset were lost on the way would score differently.
#[test]
fn a_model_trained_from_bert_or_xlm_roberta_serves_the_scores_it_trained_to() {
    let data = pairs();
    for base in ["tiny-bert", "tiny-xlm-roberta"] {
        let c = TrainConfig {
            base: fixture(base),
            epochs: 3,
            ..cfg()
        };
        let t = train_quietly(&c, &data);
        let base_dir = ModelDir::open(fixture(base)).unwrap();
        let trained = yusa_lab::train::evaluate(&t.model, &base_dir, &data, Loss::Bce, 40).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("ce");
        yusa_lab::train::save(&t, &c, &out, "test data", "cargo test").unwrap();
        let pred = served_scores(&out, &data);
        let gold: Vec<f32> = data.iter().map(|p| p.score).collect();
        let report = yusa_core::pairs::sts_report(&pred, &gold);
        assert!(
            (report.mse - trained.mse).abs() < 1e-4
                && (report.pearson - trained.pearson).abs() < 1e-4,
            "{base}: served {report:?} vs trained {trained:?}"
        );
        assert_eq!(
            ModelDir::open(&out).unwrap().config().unwrap().model_type,
            base_dir.config().unwrap().model_type,
            "{base}: the saved model keeps its base's position scheme"
        );
        if base == "tiny-xlm-roberta" {
            // The control: the same weights read with BERT's positions score differently, so the
            // check above can fail.
            let diff =
                rescored_after_config_edit(&out, &data, &pred, "\"xlm-roberta\"", "\"bert\"");
            assert!(
                diff > 1e-3,
                "BERT positions gave the same scores (largest difference {diff})"
            );
        }
    }
}

#[test]
fn tune_runs_baseline_trials_and_seed_grid() {
    let data = pairs();
    let base = TrainConfig { epochs: 2, ..cfg() };
    let mut seen = vec![];
    let (trials, seeds) =
        yusa_lab::train::tune::tune(&base, 3, &[1, 2], 9, &data, &data, &[], &mut |t| {
            seen.push(t.clone())
        })
        .unwrap();
    assert_eq!((trials.len(), seeds.len(), seen.len()), (3, 2, 5));
    assert_eq!(trials[0].lr, base.lr, "trial 0 is the baseline");
    assert!(trials[1..].iter().any(|t| t.lr != base.lr));
    assert!(trials
        .iter()
        .all(|t| t.dev_pearson.is_finite() && t.epochs_run >= 1));
    assert_eq!(seeds.iter().map(|t| t.seed).collect::<Vec<_>>(), vec![1, 2]);

    // An interrupted search (two trials finished) resumes from its log: the same configurations,
    // only the rest run. The log is read back through JSON, as the CLI does (floats may come back a
    // bit off).
    let logged: Vec<yusa_lab::train::tune::Trial> = seen[..2]
        .iter()
        .map(|t| serde_json::from_str(&serde_json::to_string(t).unwrap()).unwrap())
        .collect();
    let mut rerun = vec![];
    let (again, again_seeds) =
        yusa_lab::train::tune::tune(&base, 3, &[1, 2], 9, &data, &data, &logged, &mut |t| {
            rerun.push(t.trial)
        })
        .unwrap();
    assert_eq!(rerun, vec![2, 3, 4], "finished trials are not run again");
    for (a, b) in again.iter().zip(&trials) {
        assert_eq!((a.lr, a.batch_size, a.seed), (b.lr, b.batch_size, b.seed));
        assert_eq!(a.dev_pearson, b.dev_pearson, "runs repeat exactly");
    }
    assert_eq!(again_seeds.len(), 2);
    let table = yusa_lab::train::tune::markdown(&again, &again_seeds);
    assert_eq!(
        table.lines().filter(|l| l.starts_with("| ")).count(),
        1 + 3 + 2
    );
    assert!(table.contains("defaults") && table.contains("seed grid") && table.contains(" ± "));
    // A log from a different search is refused, not silently mixed in.
    let other = TrainConfig {
        lr: 1e-3,
        ..base.clone()
    };
    let err =
        yusa_lab::train::tune::tune(&other, 3, &[1], 9, &data, &data, &seen[..1], &mut |_| {})
            .unwrap_err();
    assert!(err.to_string().contains("new --out"), "{err}");
}

#[test]
fn evaluates_every_n_steps_and_keeps_the_best_evaluation() {
    let data = pairs();
    let per_epoch = data.len().div_ceil(cfg().batch_size);
    let tmp = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        epochs: 2,
        eval_every: Some(3),
        checkpoint_dir: Some(tmp.path().join("checkpoint")),
        ..cfg()
    };
    let mut lines = 0;
    let t = train(
        &c,
        &data,
        &data,
        &mut |_, _, _| {},
        &mut |_| lines += 1,
        &mut |_| false,
    )
    .unwrap();
    // Every third step, and at each epoch's end.
    let want: Vec<usize> = (1..=2 * per_epoch)
        .filter(|s| s % 3 == 0 || s % per_epoch == 0)
        .collect();
    let steps: Vec<usize> = t.log.iter().map(|l| l.step).collect();
    assert_eq!(steps, want);
    assert_eq!(lines, want.len(), "each evaluation is reported");
    let top = t.log.iter().map(|l| l.dev.pearson).fold(f64::MIN, f64::max);
    assert_eq!(
        t.best_line().dev.pearson,
        top,
        "the best evaluation is kept"
    );
    assert!(tmp.path().join("checkpoint/model.safetensors").exists());
}

/// `max_steps` ends a run where a run stopped by hand would have ended: the same weights as the
/// first N steps of the full run (the learning-rate schedule is still the whole run's), evaluated there.
#[test]
fn max_steps_stops_a_run_where_the_full_run_passed() {
    let data = pairs();
    let full = TrainConfig {
        epochs: 5,
        eval_every: Some(3),
        ..cfg()
    };
    let whole = train_quietly(&full, &data);
    let cut = train_quietly(
        &TrainConfig {
            max_steps: Some(5),
            ..full.clone()
        },
        &data,
    );
    let before: Vec<_> = whole.log.iter().filter(|l| l.step < 5).collect();
    let steps: Vec<usize> = cut.log.iter().map(|l| l.step).collect();
    let mut want: Vec<usize> = before.iter().map(|l| l.step).collect();
    want.push(5);
    assert_eq!(
        steps, want,
        "the full run's evaluations, then one at the last step"
    );
    for (a, b) in before.iter().zip(&cut.log) {
        assert_eq!((a.train_loss, a.dev.pearson), (b.train_loss, b.dev.pearson));
    }
    assert!(whole.log.last().unwrap().step > 5, "the full run goes on");
}

/// A run stopped after an evaluation (as a killed session would be, at its last saved state) and
/// started again resumes there, and ends exactly where an unbroken run ends (no dropout here: its
/// masks are the one thing a resumed run does not replay). A different run refuses the state.
#[test]
fn an_interrupted_run_resumes_from_its_last_evaluation() {
    let data = pairs();
    let tmp = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        epochs: 3,
        eval_every: Some(1),
        resume_dir: Some(tmp.path().join("resume")),
        ..cfg()
    };
    let unbroken = train_quietly(
        &TrainConfig {
            resume_dir: None,
            ..c.clone()
        },
        &data,
    );
    // "Killed" after the third evaluation (step 3 of 6: mid-way through the second epoch).
    let mut evals = 0;
    let first = train(
        &c,
        &data,
        &data,
        &mut |_, _, _| {},
        &mut |_| {},
        &mut |_| {
            evals += 1;
            evals == 3
        },
    )
    .unwrap();
    assert_eq!(first.log.len(), 3);
    let mut steps = vec![];
    let resumed = train(
        &c,
        &data,
        &data,
        &mut |s, _, _| steps.push(s),
        &mut |_| {},
        &mut |_| false,
    )
    .unwrap();
    assert_eq!(steps.first(), Some(&4), "picks up after step 3: {steps:?}");
    let pearsons = |t: &yusa_lab::train::Trained| -> Vec<f64> {
        t.log.iter().map(|l| l.dev.pearson).collect()
    };
    assert_eq!(pearsons(&resumed), pearsons(&unbroken));
    assert_eq!(resumed.best, unbroken.best);
    for (k, v) in &unbroken.model.vars {
        assert_eq!(
            v.as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
            resumed.model.vars[k]
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
            "{k}"
        );
    }
    // Other data, or other settings, must not resume this state.
    let refused = |c: &TrainConfig, data: &[Pair]| {
        let err = try_train_quietly(c, data)
            .err()
            .expect("a different run must not resume this state");
        assert!(err.to_string().contains("different run"), "{err}");
    };
    let mut changed = data.clone();
    changed[0].score += 0.1;
    refused(&c, &changed);
    refused(&TrainConfig { lr: 1e-3, ..c }, &data);
}

/// A pair model trained on marked differences is served with them: the form is recorded in its
/// config, the served scores are the trained ones, a model continued from it keeps the form without
/// being told, and the control — the same weights served plain — scores differently.
#[test]
fn a_model_trained_on_marked_differences_is_served_with_them() {
    let data = pairs();
    let c = TrainConfig {
        epochs: 3,
        pair_input: yusa_core::model::PairInput::MarkedDifferences,
        ..cfg()
    };
    let t = train_quietly(&c, &data);
    let base_dir = ModelDir::open(fixture("tiny-bert")).unwrap();
    let trained = yusa_lab::train::evaluate(&t.model, &base_dir, &data, Loss::Bce, 40).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ce");
    yusa_lab::train::save(&t, &c, &out, "test data", "cargo test").unwrap();
    let served = yusa_core::model::CrossEncoder::load(&ModelDir::open(&out).unwrap()).unwrap();
    assert_eq!(
        served.pair_input(),
        yusa_core::model::PairInput::MarkedDifferences
    );
    let pred = served_scores(&out, &data);
    let gold: Vec<f32> = data.iter().map(|p| p.score).collect();
    let report = yusa_core::pairs::sts_report(&pred, &gold);
    assert!(
        (report.mse - trained.mse).abs() < 1e-4,
        "served {report:?} vs trained {trained:?}"
    );

    let next = TrainConfig {
        base: out.clone(),
        epochs: 1,
        ..cfg()
    };
    let t2 = train_quietly(&next, &data);
    let out2 = tmp.path().join("ce2");
    yusa_lab::train::save(&t2, &next, &out2, "test data", "cargo test").unwrap();
    let saved = std::fs::read_to_string(out2.join("config.json")).unwrap();
    assert!(
        saved.contains("\"yusa_pair_input\": \"marked_differences\""),
        "{saved}"
    );

    let diff = rescored_after_config_edit(&out, &data, &pred, "marked_differences", "plain");
    assert!(
        diff > 1e-4,
        "marks changed no score (largest difference {diff})"
    );
}
