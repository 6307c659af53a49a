"""Training pairs for the STS cross-encoder that teach polarity: the probe's rules applied to *other*
NSMC reviews (lines 200,001 onwards; the probe drew from the first 200,000, and any review text that
occurs in the probe is skipped as well), so the probe stays a held-out measurement.

Flipped pairs (antonym swap, 안-negation, changed number) get STS score 1.0 — same topic, meaning not
the same (KLUE's scale: 0 = unrelated, 1 = related but not equivalent). As many surface variants get
5.0 (spacing removed between two words, final punctuation dropped): a small edit alone must not read
as a change of meaning.
Usage: python3 scripts/build_hard_negatives.py ../shared/data [N_FLIPS] > hard_negatives.jsonl
"""
import json, os, random, re, sys

POLARITY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "polarity")
sys.path.insert(0, POLARITY)
from polarity_rules import ANTONYMS, NEG_ENDINGS, NEG_EXCLUDE, find, nsmc

data = sys.argv[1]
n_flips = int(sys.argv[2]) if len(sys.argv) > 2 else 1200
rng = random.Random(20261129)
probe = set()
for line in open(os.path.join(POLARITY, "probe.jsonl"), encoding="utf-8"):
    p = json.loads(line)
    probe.update([p["sentence1"], p["sentence2"]])

reviews = [r for r in nsmc(data, start=200001, limit=10**9) if r not in probe]
rng.shuffle(reviews)
quota = {"antonym": n_flips * 5 // 12, "negation": n_flips * 5 // 12, "number": n_flips // 6}
count = {k: 0 for k in quota}
out, seen = [], set()

def add(a, b, score, rule):
    if a != b and (a, b) not in seen:
        seen.add((a, b))
        out.append({"sentence1": a, "sentence2": b, "score": score, "rule": rule})
        return True
    return False

variants = 0
for r in reviews:
    if count["antonym"] < quota["antonym"]:
        done = False
        for x, y, follow in ANTONYMS:
            for src, dst in ((x, y), (y, x)):
                i = find(r, src, follow)
                if i >= 0 and dst not in r and add(r, r[:i] + dst + r[i + len(src):], 1.0, "antonym"):
                    count["antonym"] += 1
                    done = True
                    break
            if done:
                break
    words = r.split()
    if count["negation"] < quota["negation"] and len(words) >= 3 and not any(n in r for n in ["안 ", "못 ", "않", "없"]):
        last = words[-1].rstrip(".!?~")
        if any(last.endswith(e) for e in NEG_ENDINGS) and len(last) >= 2 and not any(x in last for x in NEG_EXCLUDE) and "." not in last[:-1]:
            if add(r, " ".join(words[:-1] + ["안 " + words[-1]]), 1.0, "negation"):
                count["negation"] += 1
    m = re.search(r"(\d+)", r)
    if count["number"] < quota["number"] and m:
        n = int(m.group(1))
        new = str(n + 1 if n < 5 else max(0, n // 2 if n > 1 else n + 3))
        if new != m.group(1) and add(r, r[: m.start()] + new + r[m.end():], 1.0, "number"):
            count["number"] += 1
    # Surface variants, one for every flip so far.
    if variants < sum(count.values()) and len(words) >= 3:
        k = rng.randrange(len(words) - 1)
        joined = " ".join(words[:k] + [words[k] + words[k + 1]] + words[k + 2:]).rstrip(".!?~ ")
        if add(r, joined, 5.0, "surface variant"):
            variants += 1
    if all(count[k] >= quota[k] for k in quota) and variants >= sum(count.values()):
        break

rng.shuffle(out)
for p in out:
    print(json.dumps(p, ensure_ascii=False))
print(f"{count}, {variants} surface variants", file=sys.stderr)
