#!/usr/bin/env python3
"""Draws the stored entries of an FAQ check set (tests/data/faq_check4/corpus.jsonl): a seeded sample of
ChatbotData questions from the tenth of ChatbotData the edit scripts keep for dev (by SHA-1), leaving out
every text of the hand-written check sets named, so no edit of an entry was trained on.

Usage: draw_faq_corpus.py DATA_DIR OUT_FILE [--seed 202612074] [--n 300] [--prefix s]
       (tests/data/faq_check4: the defaults)
"""
import argparse
import csv
import json
import random

from make_edit_pairs import held_texts, part_of


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=202612074)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--prefix", default="s")
    a = ap.parse_args()
    held = held_texts(faq_sets=("faq_check", "faq_check2", "faq_check3"))
    questions, seen = [], set()
    for r in csv.DictReader(open(f"{a.data}/chatbot_data/ChatbotData.csv", encoding="utf-8")):
        q = r["Q"].strip()
        if q in seen or q in held or part_of(q) != "dev":
            continue
        seen.add(q)
        questions.append(q)
    pick = random.Random(a.seed).sample(questions, a.n)
    with open(a.out, "w", encoding="utf-8") as f:
        for i, q in enumerate(pick):
            f.write(json.dumps({"id": f"{a.prefix}{i:03d}", "text": q}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
