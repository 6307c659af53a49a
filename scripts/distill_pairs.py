"""Pairs for distilling the 12-layer STS cross-encoder into a shallower student, and the relabelling
of them with the teacher's scores.

`pairs` mode writes JSONL {sentence1, sentence2, score} to be scored by the teacher (`yusa-lab eval sts
--no-blend --predictions`); `score` there is only a rough placeholder (the eval needs one). The pairs are
native Korean and none comes from an evaluation set:
- KLUE NLI *train* premise–hypothesis pairs (entailment / neutral / contradiction: the whole range of
  similarity, and the opposite-polarity look-alikes), a seeded sample of N_NLI;
- StyleKQC *training* groups (scripts/split_stylekqc.py's training file, held-out groups never):
  each anchor with its paraphrase, and with the anchor of another group of the same file.
`relabel` mode turns the teacher's predictions file(s) into training JSONL whose score is the
teacher's prediction (clipped to 0–5).

Usage: python3 scripts/distill_pairs.py pairs KLUE_NLI_TAR STYLEKQC_TRAIN_JSONL N_NLI OUT.jsonl
       python3 scripts/distill_pairs.py relabel OUT.jsonl PREDICTIONS.jsonl...
"""
import json, random, sys, tarfile


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def pairs(nli_tar, stylekqc, n_nli, out):
    with tarfile.open(nli_tar) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("_train.json"))
        nli = json.load(tar.extractfile(member))
    rough = {"entailment": 4.0, "neutral": 2.5, "contradiction": 1.0}
    rows = [{"sentence1": r["premise"].strip(), "sentence2": r["hypothesis"].strip(),
             "score": rough[r["gold_label"]]} for r in nli if r["gold_label"] in rough]
    random.Random(11).shuffle(rows)
    rows = rows[:n_nli]
    style = [json.loads(l) for l in open(stylekqc, encoding="utf-8")]
    rng = random.Random(13)
    for i, t in enumerate(style):
        rows.append({"sentence1": t["anchor"], "sentence2": t["positive"], "score": 5.0})
        other = style[(i + rng.randrange(1, len(style))) % len(style)]
        rows.append({"sentence1": t["anchor"], "sentence2": other["anchor"], "score": 0.0})
    write(out, rows)
    print(f"{len(rows)} pairs ({min(n_nli, len(nli))} NLI, {2 * len(style)} StyleKQC) -> {out}",
          file=sys.stderr)


def relabel(out, preds):
    rows = []
    for path in preds:
        for l in open(path, encoding="utf-8"):
            p = json.loads(l)
            rows.append({"sentence1": p["sentence1"], "sentence2": p["sentence2"],
                         "score": round(min(5.0, max(0.0, p["predicted"])), 4)})
    write(out, rows)
    print(f"{len(rows)} teacher-scored pairs -> {out}", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "pairs":
        pairs(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "relabel":
        relabel(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
