//! Plumbing of the model layer on tiny random-weight fixtures: the candle encoder against a naive
//! reference, pooling, prompts, position numbering per family, batching, truncation, STS heads.

mod common;
use common::*;
use yusa::model::{BiEncoder, CrossEncoder, ModelDir, Role};

const HEADS: usize = 4;

fn bi(name: &str) -> BiEncoder {
    BiEncoder::load(&ModelDir::open(fixture(name)).unwrap()).unwrap()
}

#[test]
fn bert_mean_pooling_with_query_prefix_matches_reference() {
    let dir = fixture("tiny-bert");
    let model = bi("tiny-bert");
    let text = "오늘 날씨가 정말 좋네요";
    let got = &model.embed(&[text], Role::Query).unwrap()[0];
    let ids = tokenize_ref(&dir, &format!("query: {text}"));
    assert_eq!(
        got.token_ids, ids,
        "the e5 query prefix is applied before tokenising"
    );
    let w = RefWeights::load(&dir);
    let positions: Vec<usize> = (0..ids.len()).collect();
    let expected = normalize(mean_rows(&reference_hidden(
        &w, "", HEADS, &ids, &positions,
    )));
    let diff = max_abs_diff(&got.embedding.0, &expected);
    assert!(diff < 1e-4, "max abs diff {diff}");
}

#[test]
fn roles_select_prefixes() {
    let model = bi("tiny-bert");
    let t = "학교에서 공부했어요";
    assert_eq!(model.prepare(t, Role::Query), format!("query: {t}"));
    assert_eq!(model.prepare(t, Role::Passage), format!("passage: {t}"));
    assert_eq!(model.prepare(t, Role::Raw), t);
    let e = model.embed(&[t, t, t], Role::Query).unwrap();
    let p = model.embed(&[t], Role::Passage).unwrap();
    assert_eq!(e[0].embedding, e[1].embedding);
    assert!(e[0].embedding.cosine(&p[0].embedding).value() < 0.99999);
}

#[test]
fn xlm_roberta_positions_are_offset_and_cls_pooled() {
    let dir = fixture("tiny-xlm-roberta");
    let model = bi("tiny-xlm-roberta");
    let text = "이 영화 정말 재밌어요";
    let got = &model.embed(&[text], Role::Query).unwrap()[0];
    let ids = tokenize_ref(&dir, text); // no prompts in this model
    assert_eq!(got.token_ids, ids);
    let w = RefWeights::load(&dir);
    let pad = 1;
    let roberta_pos: Vec<usize> = (0..ids.len()).map(|i| pad + 1 + i).collect();
    let bert_pos: Vec<usize> = (0..ids.len()).collect();
    let cls = |pos: &[usize]| normalize(reference_hidden(&w, "", HEADS, &ids, pos)[0].clone());
    let diff = max_abs_diff(&got.embedding.0, &cls(&roberta_pos));
    assert!(diff < 1e-4, "max abs diff {diff} against RoBERTa numbering");
    // The trap this guards against: BERT numbering gives a clearly different vector.
    assert!(max_abs_diff(&got.embedding.0, &cls(&bert_pos)) > 1e-2);
}

#[test]
fn batched_equals_unbatched() {
    for name in ["tiny-bert", "tiny-xlm-roberta"] {
        let model = bi(name);
        let texts = [
            "굿",
            "오늘 하루도 이렇게 마무리",
            "여자들은 몇 년이고 짝사랑하기도 해?",
            "심심한데 뭐하지",
            "The weather is lovely today.",
            "오래 사귀다가 식어서 헤어진 남자에게도 후폭풍 있나?",
        ];
        let together = model.embed(&texts, Role::Query).unwrap();
        for (t, e) in texts.iter().zip(&together) {
            let alone = &model.embed(&[*t], Role::Query).unwrap()[0];
            assert_eq!(alone.token_ids, e.token_ids);
            let d = max_abs_diff(&alone.embedding.0, &e.embedding.0);
            assert!(d < 1e-5, "{name}: {t}: padded batch differs by {d}");
        }
    }
}

#[test]
fn long_input_is_truncated_and_counted() {
    for (name, max) in [("tiny-bert", 40), ("tiny-xlm-roberta", 38)] {
        let model = bi(name);
        assert_eq!(model.max_tokens(), max, "{name}");
        let long = "학교에서 공부했어요 ".repeat(10_000); // ~100 KB
        assert!(long.len() > 100_000);
        let out = model.embed(&[long.as_str(), "굿"], Role::Query).unwrap();
        assert!(out[0].truncated);
        assert_eq!(out[0].token_ids.len(), max);
        assert_eq!(
            *out[0].token_ids.last().unwrap(),
            2,
            "the closing </s> survives truncation"
        );
        assert!(!out[1].truncated);
        let norm: f32 = out[0].embedding.0.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn bert_cross_encoder_head_matches_reference() {
    let dir = fixture("tiny-bert-cross");
    let ce = CrossEncoder::load(&ModelDir::open(&dir).unwrap()).unwrap();
    let (a, b) = ("오늘 날씨가 정말 좋네요", "날씨가 아주 맑고 좋습니다");
    let got = ce.score(&[(a, b)]).unwrap()[0].value();
    let ids = tokenize_pair_ref(&dir, a, b);
    // XLM-R pair template: <s> A </s></s> B </s>
    assert_eq!(ids[0], 0);
    assert_eq!(ids.iter().filter(|&&i| i == 2).count(), 3);
    let w = RefWeights::load(&dir);
    let pos: Vec<usize> = (0..ids.len()).collect();
    let first = reference_hidden(&w, "bert.", HEADS, &ids, &pos)[0].clone();
    let pooled: Vec<f32> = linear_ref(
        &first,
        w.get("bert.pooler.dense.weight"),
        w.get("bert.pooler.dense.bias"),
    )
    .into_iter()
    .map(f32::tanh)
    .collect();
    let logit = linear_ref(
        &pooled,
        w.get("classifier.weight"),
        w.get("classifier.bias"),
    )[0];
    let expected = (sigmoid(logit) * 5.0).clamp(0.0, 5.0);
    assert!((got - expected).abs() < 1e-3, "{got} vs {expected}");
}

#[test]
fn roberta_cross_encoder_head_matches_reference() {
    let dir = fixture("tiny-xlm-roberta-cross");
    let ce = CrossEncoder::load(&ModelDir::open(&dir).unwrap()).unwrap();
    let pairs = [
        ("이 영화 정말 재밌어요", "이 영화 정말 재미없어요"),
        ("굿", "자기 소개 어떻게 해"),
        ("심심한데 뭐하지", "심심한데 뭐하면 좋을까"),
    ];
    let got = ce.score(&pairs).unwrap();
    let w = RefWeights::load(&dir);
    for ((a, b), g) in pairs.iter().zip(&got) {
        let ids = tokenize_pair_ref(&dir, a, b);
        let pos: Vec<usize> = (0..ids.len()).map(|i| 2 + i).collect();
        let first = reference_hidden(&w, "roberta.", HEADS, &ids, &pos)[0].clone();
        let dense: Vec<f32> = linear_ref(
            &first,
            w.get("classifier.dense.weight"),
            w.get("classifier.dense.bias"),
        )
        .into_iter()
        .map(f32::tanh)
        .collect();
        let logit = linear_ref(
            &dense,
            w.get("classifier.out_proj.weight"),
            w.get("classifier.out_proj.bias"),
        )[0];
        let expected = (logit * 5.0).clamp(0.0, 5.0); // identity scale in this fixture
        assert!(
            (g.value() - expected).abs() < 1e-3,
            "{a} / {b}: {} vs {expected}",
            g.value()
        );
        // Batched scoring equals scoring the pair alone.
        let alone = ce.score(&[(*a, *b)]).unwrap()[0].value();
        assert!((alone - g.value()).abs() < 1e-5);
    }
}

/// The two forward passes — candle's (training, reference) and the packed one (serving) — agree
/// token by token on a batch of mixed lengths, for both position-numbering families.
#[test]
fn packed_forward_equals_candle_forward() {
    use yusa::model::encoder::{Encoder, Mode, Weights};
    use yusa::model::packed::{PackedEncoder, Precision};
    for name in ["tiny-bert", "tiny-xlm-roberta"] {
        let dir = ModelDir::open(fixture(name)).unwrap();
        let cfg = dir.config().unwrap();
        let encoder = Encoder::new(&cfg, &Weights::load(&dir.weights_path()).unwrap()).unwrap();
        let packed = PackedEncoder::new(&encoder).unwrap();
        let seqs: Vec<Vec<u32>> = vec![
            vec![0, 17, 5, 2],
            vec![0, 100, 101, 102, 103, 104, 105, 106, 2],
            vec![0, 2],
        ];
        let types: Vec<Vec<u32>> = seqs.iter().map(|s| vec![0; s.len()]).collect();
        let pairs: Vec<(&[u32], &[u32])> = seqs
            .iter()
            .zip(&types)
            .map(|(s, t)| (s.as_slice(), t.as_slice()))
            .collect();
        let input = encoder.batch_input(&pairs).unwrap();
        let padded = encoder.forward(&input, Mode::Infer).unwrap();
        let padded = padded.to_vec3::<f32>().unwrap();
        let states = packed.forward(&pairs).unwrap();
        assert_eq!(states.len(), 3);
        for (i, seq) in seqs.iter().enumerate() {
            let rows = states.sequence(i);
            assert_eq!(rows.len(), seq.len() * states.hidden);
            for (t, row) in rows.chunks_exact(states.hidden).enumerate() {
                let d = max_abs_diff(row, &padded[i][t]);
                assert!(d < 1e-4, "{name}: sequence {i} token {t} differs by {d}");
            }
        }
        // The first-token pass (what a cross-encoder's head reads) gives the same first-token
        // states with its last layer cut down to them, in f32 and in int8.
        for precision in [Precision::F32, Precision::Int8] {
            let packed = PackedEncoder::with_precision(&encoder, precision).unwrap();
            let all = packed.forward(&pairs).unwrap();
            let first = packed.forward_first(&pairs).unwrap();
            assert_eq!(first.len(), 3);
            assert_eq!(first.data.len(), 3 * first.hidden);
            for i in 0..3 {
                let d = max_abs_diff(first.first(i), all.first(i));
                assert!(
                    d < 1e-5,
                    "{name} {precision:?}: sequence {i} differs by {d}"
                );
            }
        }
    }
}

/// A fine-tuned model stored as int8 deltas against its base and rebuilt from them scores like
/// the original; a delta refuses a base other than its own.
#[test]
fn delta_pack_and_assemble_round_trip() {
    use yusa::model::delta;
    use yusa::model::import::{write_safetensors, NamedTensor, StoreDType};
    let tmp = tempfile::tempdir().unwrap();
    // "Fine-tune" the cross fixture (whose encoder equals tiny-bert's): nudge every matrix of the
    // first layer, leave the rest as the base has it.
    let trained = tmp.path().join("trained");
    std::fs::create_dir(&trained).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(fixture("tiny-bert-cross").join(f), trained.join(f)).unwrap();
    }
    let bytes = std::fs::read(fixture("tiny-bert-cross").join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors: Vec<NamedTensor> = st
        .tensors()
        .into_iter()
        .map(|(name, t)| {
            let mut values: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if name.contains("layer.0.") && t.shape().len() == 2 {
                for (i, v) in values.iter_mut().enumerate() {
                    *v += 0.01 * ((i % 7) as f32 - 3.0);
                }
            }
            NamedTensor {
                name,
                shape: t.shape().to_vec(),
                values,
            }
        })
        .collect();
    write_safetensors(
        &trained.join("model.safetensors"),
        &tensors,
        StoreDType::F32,
    )
    .unwrap();
    let (d, out) = (tmp.path().join("d"), tmp.path().join("out"));
    let report = delta::pack(&trained, &fixture("tiny-bert"), &d).unwrap();
    assert!(report.int8_delta > 0 && report.base > 0, "{report:?}");
    assert!(report.max_abs_error < 1e-3, "{report:?}");
    assert!(delta::assemble(&d, &fixture("tiny-bert"), &out).unwrap());
    assert!(
        !delta::assemble(&d, &fixture("tiny-bert"), &out).unwrap(),
        "second run is a no-op"
    );
    let pairs = [("오늘 날씨가 좋다", "날씨가 맑다"), ("배고파", "밥 먹자")];
    let a = CrossEncoder::load(&ModelDir::open(&trained).unwrap()).unwrap();
    let b = CrossEncoder::load(&ModelDir::open(&out).unwrap()).unwrap();
    for (x, y) in a
        .score(&pairs)
        .unwrap()
        .iter()
        .zip(b.score(&pairs).unwrap())
    {
        assert!((x.value() - y.value()).abs() < 1e-3, "{x:?} vs {y:?}");
    }
    let err = delta::assemble(&d, &fixture("tiny-xlm-roberta"), &tmp.path().join("x"));
    assert!(format!("{}", err.unwrap_err()).contains("SHA-256"));
}

/// A cross-encoder with a fitted cosine blend scores `a·sts + b·5·cos + c` with its own
/// bi-encoder, and its plain scores with any other.
#[test]
fn cosine_blend_applies_only_with_its_bi_encoder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ce");
    std::fs::create_dir(&dir).unwrap();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture("tiny-bert-cross").join(f), dir.join(f)).unwrap();
    }
    let mut config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("tiny-bert-cross").join("config.json")).unwrap(),
    )
    .unwrap();
    config["yusa_cosine_blend"] = serde_json::json!(
        {"bi_encoder": "tiny-bert", "sts_weight": 0.5, "cosine_weight": 0.4, "bias": 0.25}
    );
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let ce = CrossEncoder::load(&ModelDir::open(&dir).unwrap()).unwrap();
    let pairs = [("오늘 날씨가 좋다", "날씨가 맑다")];
    let plain = ce.score(&pairs).unwrap()[0].value();
    let own = bi("tiny-bert");
    let v = own.embed(&[pairs[0].0, pairs[0].1], Role::Query).unwrap();
    let cos = v[0].embedding.cosine(&v[1].embedding).value();
    let want = (0.5 * plain + 0.4 * 5.0 * cos + 0.25).clamp(0.0, 5.0);
    let got = ce.score_blended(&pairs, &own).unwrap()[0].value();
    assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    let other = ce.score_blended(&pairs, &bi("tiny-xlm-roberta")).unwrap()[0].value();
    assert_eq!(other, plain);
    // A query shared by several pairs (a rerank) scores each pair as if alone.
    let shared = [
        ("오늘 날씨가 좋다", "배고파"),
        ("오늘 날씨가 좋다", "날씨가 맑다"),
        ("배고파", "오늘 날씨가 좋다"),
    ];
    let together = ce.score_blended(&shared, &own).unwrap();
    for (pair, t) in shared.iter().zip(&together) {
        let alone = ce.score_blended(&[*pair], &own).unwrap()[0].value();
        assert!(
            (alone - t.value()).abs() < 1e-4,
            "{pair:?}: {alone} vs {t:?}"
        );
    }
    // Cosines the caller already has are used as given (the others computed): with the true
    // cosine the score is the same, with another one it moves by the blend's weight.
    let known = [Some(yusa::score::Cosine(cos)), None];
    let two = [pairs[0], ("배고파", "오늘 날씨가 좋다")];
    let got = ce.score_blended_known(&two, &known, &own).unwrap();
    let fresh = ce.score_blended(&two, &own).unwrap();
    for (g, f) in got.iter().zip(&fresh) {
        assert!((g.value() - f.value()).abs() < 1e-4, "{g:?} vs {f:?}");
    }
    let moved = ce
        .score_blended_known(&pairs, &[Some(yusa::score::Cosine(cos - 0.1))], &own)
        .unwrap()[0]
        .value();
    let want = (0.5 * plain + 0.4 * 5.0 * (cos - 0.1) + 0.25).clamp(0.0, 5.0);
    assert!((moved - want).abs() < 1e-4, "{moved} vs {want}");
}
