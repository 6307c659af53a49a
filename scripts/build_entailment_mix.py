#!/usr/bin/env python3
"""Training and evaluation files for an entailment pair model: "same meaning" read as entailment
both ways (issue 30). A yes/no model is trained on ordered pairs — score 5 when the second text
follows from the first, 0 when it does not — and a pair is a duplicate when each text follows from the
other (the lower of the two orders). Sources, all real and labelled by people:

- KLUE NLI train (premise → hypothesis): entailment 5, neutral and contradiction 0. Its contradictions
  are written antonyms, negations, other outcomes, times and roles; its neutrals add or change a detail.
- Question_pair's grouped training part (`scripts/split_question_pair.py`): same question 5, other 0,
  in both orders (a paraphrase follows from its partner either way).
- StyleKQC training groups (`scripts/split_stylekqc.py`): one paraphrase pair per anchor, both orders.

Stage 2 (`stage2.jsonl`, trained from stage 1's model): the one-word look-alikes of
`scripts/mine_one_word_pairs.py` (CACHE/dup/mined_train.jsonl: real sentences that differ in one word,
a negative only when the two words differ in meaning by that script's rule; paraphrase groups' one-word
pairs as positives), with Question_pair and StyleKQC again so that paraphrases are not forgotten. Its dev
set (`dev2.jsonl`) adds the mined calibration pairs.

Stage 3 (`stage3.jsonl`, from stage 2's model): KLUE NLI's *hypotheses* of one premise paired with
each other — the one it entails against the one it contradicts, written by the same person about the
same sentence: short, natural look-alikes of every kind (찾았다 / 찾지 않았다, 12일 / 20일, 확대 / 중단,
김 차관 / 강 차관), none of them made by a rule; 2,000 random pairs of ChatbotData questions as easy
negatives (never the FAQ check set's stored entries); stage 2's data again, the mined pairs thinned to a
third. Its dev set (`dev3.jsonl`) adds the same hypothesis pairs of KLUE NLI dev.

Stage 4 (`stage4.jsonl`, from stage 2's model; only with EDIT_DIR, written by
`scripts/make_edit_pairs.py`): real chat sentences with one grammatical edit — a negation put in or
taken away, subject and object swapped, a number changed (0), spacing or punctuation changed (5) —
with stage 3's random ChatbotData pairs, stage 2's Question_pair and StyleKQC pairs and a third of the
mined pairs. Its dev set (`dev4.jsonl`) adds the edit script's dev part.

Stage 5 (`stage5.jsonl`, from stage 4's model; only with EDIT_DIR): served as the duplicate model,
stage 4 flagged unrelated chat questions (비 오는 날엔 파전이지 / 파도가 잔잔하네) in the FAQ check. So:
6,000 more random pairs of ChatbotData questions and 4,000 *related* ones — two questions that share
some character bigrams (Jaccard 0.1–0.4) and have different answers in ChatbotData — as negatives, with
Question_pair in both orders, a third of the edits, 3,000 StyleKQC and 2,000 mined pairs again.
Dev (`dev5.jsonl`): Question_pair's calibration part, the edits' dev part and 1,000 ChatbotData pairs
of the same two kinds drawn from questions the training pairs do not use.

Dev (early stopping): KLUE NLI dev (ordered, as in train) and Question_pair's calibration part (both
orders). Also written for scoring afterwards (`yusa-lab eval sts --predictions`): the hand-written check
set, Question_pair validation and calibration, each pair in both orders. The check sets' texts are
never trained on.

Stage 6 (`stage6.jsonl`, from stage 5's model; with EDIT6_DIR, the edit script's
--long-negation-and-time-units output): all of those edits (-지 않- and units of time added), 6,000
ChatbotData negatives of stage 5's two kinds, Question_pair both ways, 2,000 StyleKQC and 2,000 mined
pairs.

Usage: build_entailment_mix.py SHARED_DATA CACHE OUT_DIR [EDIT_DIR [EDIT6_DIR]]   (CACHE: the .cache folder holding
dup/qp_train.tsv, dup/qp_calib.tsv and stylekqc_train.jsonl)
"""

import csv
import json
import random
import sys
import tarfile
from pathlib import Path

ENTAIL = 5.0


def read_qp(path):
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    # Question_pair's label is inverted: 0 means the same question.
    return [(a, b, ENTAIL if lab.strip() == "0" else 0.0) for a, b, lab in rows[1:]]


def both_orders(pairs, source):
    out = []
    for a, b, s in pairs:
        out.append({"sentence1": a, "sentence2": b, "score": s, "source": source})
        out.append({"sentence1": b, "sentence2": a, "score": s, "source": source + "-reversed"})
    return out


def main():
    shared, cache, out = (Path(p) for p in sys.argv[1:4])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261207)

    held = set()
    for line in open("tests/data/dedup_check/checks.jsonl", encoding="utf-8"):
        r = json.loads(line)
        held.update((r["sentence1"], r["sentence2"]))
    for name in ("corpus.jsonl", "queries.jsonl"):
        for line in open(Path("tests/data/faq_check") / name, encoding="utf-8"):
            held.add(json.loads(line)["text"])

    with tarfile.open(shared / "klue_nli/klue-nli-v1.1.tar.gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("_train.json"))
        nli_train = json.load(tar.extractfile(member))
    nli_dev = json.load(open(shared / "klue_nli/klue-nli-v1.1_dev.json", encoding="utf-8"))

    def nli_rows(rows, source):
        return [
            {
                "sentence1": r["premise"],
                "sentence2": r["hypothesis"],
                "score": ENTAIL if r["gold_label"] == "entailment" else 0.0,
                "source": source + "-" + r["gold_label"],
            }
            for r in rows
            if r["premise"] not in held and r["hypothesis"] not in held
        ]

    train = nli_rows(nli_train, "klue-nli")
    train += both_orders(
        [p for p in read_qp(cache / "dup/qp_train.tsv") if p[0] not in held and p[1] not in held],
        "question-pair",
    )
    style = [json.loads(l) for l in open(cache / "stylekqc_train.jsonl", encoding="utf-8")]
    rng.shuffle(style)
    train += both_orders([(r["anchor"], r["positive"], ENTAIL) for r in style[:1500]], "stylekqc")
    rng.shuffle(train)

    dev = nli_rows(nli_dev, "klue-nli-dev")
    dev += both_orders(read_qp(cache / "dup/qp_calib.tsv"), "question-pair-calib")

    def write(name, rows):
        with open(out / name, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} pairs, {sum(r['score'] > 0 for r in rows)} positive")

    write("train.jsonl", train)
    write("dev.jsonl", dev)

    mined = [json.loads(l) for l in open(cache / "dup/mined_train.jsonl", encoding="utf-8")]
    mined = [r for r in mined if r["sentence1"] not in held and r["sentence2"] not in held]
    stage2 = mined + [r for r in train if not r["source"].startswith("klue-nli")]
    rng.shuffle(stage2)
    write("stage2.jsonl", stage2)
    mined_calib = [json.loads(l) for l in open(cache / "dup/mined_calib.jsonl", encoding="utf-8")]
    dev2 = both_orders(read_qp(cache / "dup/qp_calib.tsv"), "question-pair-calib") + mined_calib
    write("dev2.jsonl", dev2)

    def hypothesis_pairs(rows, source):
        by = {}
        for r in rows:
            by.setdefault(r["premise"], {})[r["gold_label"]] = r["hypothesis"]
        out = []
        for h in by.values():
            if "entailment" in h and "contradiction" in h:
                a, b = h["entailment"], h["contradiction"]
                if a in held or b in held:
                    continue
                if rng.random() < 0.5:
                    a, b = b, a
                out.append({"sentence1": a, "sentence2": b, "score": 0.0, "source": source})
        return out

    with open(shared / "chatbot_data/ChatbotData.csv", encoding="utf-8") as f:
        chatbot = sorted({row["Q"] for row in csv.DictReader(f)} - held)
    easy = []
    while len(easy) < 2000:
        a, b = rng.sample(chatbot, 2)
        easy.append({"sentence1": a, "sentence2": b, "score": 0.0, "source": "chatbot-random"})
    rest = [r for r in train if not r["source"].startswith("klue-nli")]
    stage3 = hypothesis_pairs(nli_train, "klue-nli-hypotheses") + easy + rest + mined[: len(mined) // 3]
    rng.shuffle(stage3)
    write("stage3.jsonl", stage3)
    write("dev3.jsonl", dev2 + hypothesis_pairs(nli_dev, "klue-nli-dev-hypotheses"))

    if len(sys.argv) > 4:
        edits = Path(sys.argv[4])
        edit_train = [json.loads(l) for l in open(edits / "train.jsonl", encoding="utf-8")]
        edit_dev = [json.loads(l) for l in open(edits / "dev.jsonl", encoding="utf-8")]
        stage4 = edit_train + easy + rest + mined[: len(mined) // 3]
        rng.shuffle(stage4)
        write("stage4.jsonl", stage4)
        write("dev4.jsonl", dev2 + edit_dev)

        with open(shared / "chatbot_data/ChatbotData.csv", encoding="utf-8") as f:
            answer = {}
            for row in csv.DictReader(f):
                if row["Q"] not in held:
                    answer.setdefault(row["Q"], row["A"])
        questions = sorted(answer)
        rng.shuffle(questions)
        dev_q = set(questions[: len(questions) // 10])

        def bigrams(s):
            t = s.replace(" ", "")
            return {t[i : i + 2] for i in range(len(t) - 1)}

        grams = {q: bigrams(q) for q in questions}
        by_gram = {}
        for q in questions:
            for g in grams[q]:
                by_gram.setdefault(g, []).append(q)

        def chat_pairs(pool, n_random, n_related, source):
            pool = sorted(pool)
            inside = set(pool)
            out = []
            while len(out) < n_random:
                a, b = rng.sample(pool, 2)
                out.append({"sentence1": a, "sentence2": b, "score": 0.0, "source": source + "-random"})
            related, tries = [], 0
            while len(related) < n_related and tries < 50 * n_related:
                tries += 1
                a = rng.choice(pool)
                if not grams[a]:
                    continue
                b = rng.choice(by_gram[rng.choice(sorted(grams[a]))])
                if a == b or b not in inside or answer[a] == answer[b]:
                    continue
                j = len(grams[a] & grams[b]) / len(grams[a] | grams[b])
                if 0.1 <= j <= 0.4:
                    related.append({"sentence1": a, "sentence2": b, "score": 0.0, "source": source + "-related"})
            return out + related

        qp_both = [r for r in rest if r["source"].startswith("question-pair")]
        style_both = [r for r in rest if r["source"].startswith("stylekqc")]
        stage5 = (
            chat_pairs(set(questions) - dev_q, 6000, 4000, "chatbot")
            + qp_both
            + edit_train[: len(edit_train) // 3]
            + style_both[:3000]
            + mined[:2000]
        )
        rng.shuffle(stage5)
        write("stage5.jsonl", stage5)
        dev5 = (
            both_orders(read_qp(cache / "dup/qp_calib.tsv"), "question-pair-calib")
            + edit_dev
            + chat_pairs(dev_q, 500, 500, "chatbot-dev")
        )
        write("dev5.jsonl", dev5)

        if len(sys.argv) > 5:
            # Stage 6 (from stage 5's model): every edit of the --long-negation-and-time-units run
            # (EDIT6_DIR), with stage 5's kinds of ChatbotData negatives, Question_pair both ways,
            # 2,000 StyleKQC and 2,000 mined pairs.
            edits6 = Path(sys.argv[5])
            e6_train = [json.loads(l) for l in open(edits6 / "train.jsonl", encoding="utf-8")]
            e6_dev = [json.loads(l) for l in open(edits6 / "dev.jsonl", encoding="utf-8")]
            stage6 = (
                e6_train
                + chat_pairs(set(questions) - dev_q, 3000, 3000, "chatbot")
                + qp_both
                + style_both[:2000]
                + mined[:2000]
            )
            rng.shuffle(stage6)
            write("stage6.jsonl", stage6)
            write(
                "dev6.jsonl",
                both_orders(read_qp(cache / "dup/qp_calib.tsv"), "question-pair-calib")
                + e6_dev
                + chat_pairs(dev_q, 500, 500, "chatbot-dev"),
            )

    checks = [json.loads(l) for l in open("tests/data/dedup_check/checks.jsonl", encoding="utf-8")]
    score = lambda r: ENTAIL if r["label"] in (1, "1", True, "duplicate") else 0.0
    write(
        "check_both.jsonl",
        [
            {"sentence1": a, "sentence2": b, "score": score(r), "kind": r["kind"]}
            for r in checks
            for a, b in ((r["sentence1"], r["sentence2"]), (r["sentence2"], r["sentence1"]))
        ],
    )
    write("qp_val_both.jsonl", both_orders(read_qp(shared / "question_pair/validation.txt"), "qp-val"))
    write("qp_calib_both.jsonl", both_orders(read_qp(cache / "dup/qp_calib.tsv"), "qp-calib"))


if __name__ == "__main__":
    main()
