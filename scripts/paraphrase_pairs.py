"""Every labelled paraphrase (same-meaning) pair in the shared data, as JSONL {sentence1, sentence2,
label: 1, kind: source} for scripts/check_set_report.py: Question_pair train and validation labelled the
same (is_duplicate 0), PAWS-X ko dev labelled 1, KLUE STS train and dev and KorSTS train and dev scored 4 or
more. Used to count how often a rule would overrule a real paraphrase.
Usage: python3 scripts/paraphrase_pairs.py ../shared/data > OUT.jsonl"""
import csv, json, os, sys

src = sys.argv[1]
out = []
for f in ("train.txt", "validation.txt"):
    with open(os.path.join(src, "question_pair", f), encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            if r.get("is_duplicate", "").strip() == "0":
                out.append(("question_pair", r["question1"], r["question2"]))
with open(os.path.join(src, "pawsx_ko", "dev_2k.tsv"), encoding="utf-8") as fh:
    for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
        if r["label"].strip() == "1":
            out.append(("pawsx", r["sentence1"], r["sentence2"]))
with open(os.path.join(src, "klue_sts", "klue-sts-v1.1_dev.json"), encoding="utf-8") as fh:
    for r in json.load(fh):
        if r["labels"]["label"] >= 4:
            out.append(("klue_sts", r["sentence1"], r["sentence2"]))
with open(os.path.join(src, "klue_sts", "klue_sts_train.csv"), encoding="utf-8") as fh:
    rows = list(csv.reader(fh))
    head = rows[0]
    i1, i2 = head.index("sentence1"), head.index("sentence2")
    il = next(i for i, h in enumerate(head) if h in ("label", "score", "labels.label"))
    for r in rows[1:]:
        if float(r[il]) >= 4:
            out.append(("klue_sts", r[i1], r[i2]))
for f in ("sts-train.tsv", "sts-dev.tsv"):
    with open(os.path.join(src, "korsts", f), encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if float(r["score"]) >= 4:
                out.append(("korsts", r["sentence1"], r["sentence2"]))
for kind, a, b in out:
    print(json.dumps({"sentence1": a, "sentence2": b, "label": 1, "kind": f"paraphrase_{kind}"}, ensure_ascii=False))
print(f"{len(out)} pairs", file=sys.stderr)
