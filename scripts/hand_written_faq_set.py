"""What the hand-written FAQ check sets share (tests/data/faq_check3, faq_check4): each folder's
`queries.py` lists its new texts and calls `write(here, TEXTS)`, which writes queries.jsonl (for
scripts/faq_check_report.py) and checks.jsonl (each text paired with the stored entry it mimics, for
scripts/check_set_report.py)."""
import json
import os


def write(here, texts):
    """`texts`: (kind, id of the entry it mimics or None, new text); a paraphrase duplicates its entry."""
    entries = {}
    for line in open(os.path.join(here, "corpus.jsonl"), encoding="utf-8"):
        r = json.loads(line)
        entries[r["id"]] = r["text"]
    with open(os.path.join(here, "queries.jsonl"), "w", encoding="utf-8") as q, open(
        os.path.join(here, "checks.jsonl"), "w", encoding="utf-8"
    ) as c:
        for kind, entry, text in texts:
            dup = entry if kind == "paraphrase" else None
            q.write(json.dumps({"text": text, "duplicate_of": dup, "kind": kind, "mimics": entry}, ensure_ascii=False) + "\n")
            if entry is not None:
                pair = {"sentence1": entries[entry], "sentence2": text, "label": int(kind == "paraphrase"), "kind": kind}
                c.write(json.dumps(pair, ensure_ascii=False) + "\n")
