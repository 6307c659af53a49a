#!/usr/bin/env python3
"""The training mixes of the duplicate model's stages 7c, 8 and 8q (docs/results/2026-12-07-contrast-edits-
duplicate-model.md, docs/results/2026-12-07-role-edits-duplicate-model.md), from stage 6's files
(`scripts/build_entailment_mix.py`) and the word-edit scripts' outputs:

  stage7c.jsonl  the contrast script's training part, stage 6's Question_pair rows (both orders), its
                 6,000 random and related ChatbotData pairs, and 8,000 of its other rows
  stage8.jsonl   stage 7c's mix and the role script's training part
  stage8q.jsonl  stage 8's mix with stage 6's Question_pair rows once more
  stage9.jsonl   stage 8's mix with stage 6's Question_pair rows three times more
  dev8.jsonl     stage 6's dev file, the contrast and role scripts' dev parts

Seeds as in the runs of record (9, 9, 10, 11), so with the same inputs the files are the same.

Usage: build_contrast_role_mix.py STAGE6_DIR CONTRAST_DIR ROLE_DIR OUT_DIR
  (STAGE6_DIR holds stage6.jsonl and dev6.jsonl; CONTRAST_DIR and ROLE_DIR each train.jsonl and dev.jsonl)
"""

import json
import os
import random
import sys


def lines(path):
    with open(path, encoding="utf-8") as f:
        return f.readlines()


def source(line):
    return json.loads(line)["source"]


def main():
    stage6, contrast, role, out = sys.argv[1:5]
    s6 = lines(f"{stage6}/stage6.jsonl")
    qp = [l for l in s6 if source(l).startswith("question-pair")]
    chat = [l for l in s6 if source(l).startswith("chatbot-r")]
    rest = [l for l in s6 if not source(l).startswith(("question-pair", "chatbot-r"))]

    rng = random.Random(9)
    rng.shuffle(rest)
    mix7c = lines(f"{contrast}/train.jsonl") + qp + chat + rest[:8000]
    rng.shuffle(mix7c)

    rng = random.Random(9)
    mix8 = mix7c + lines(f"{role}/train.jsonl")
    rng.shuffle(mix8)

    rng = random.Random(10)
    mix8q = mix8 + qp
    rng.shuffle(mix8q)

    rng = random.Random(11)
    mix9 = mix8 + qp + qp + qp
    rng.shuffle(mix9)

    dev8 = lines(f"{stage6}/dev6.jsonl") + lines(f"{contrast}/dev.jsonl") + lines(f"{role}/dev.jsonl")
    os.makedirs(out, exist_ok=True)
    for name, rows in (("stage7c", mix7c), ("stage8", mix8), ("stage8q", mix8q), ("stage9", mix9), ("dev8", dev8)):
        with open(f"{out}/{name}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(rows)
        print(f"{name}: {len(rows)} pairs", file=sys.stderr)


if __name__ == "__main__":
    main()
