"""Builds the polarity probe: minimal pairs whose meaning flips (negation, antonyms, numbers), made by
rules from real sentences, plus true paraphrases that must still count as duplicates.

Sources (read-only, from ../shared/data): NSMC reviews (CC0) for the flips, paraKQC (CC BY-SA 4.0)
for the paraphrases. Deterministic: same inputs, same output.
Usage: python3 build_probe.py ../../../../shared/data > probe.jsonl
"""
import gzip, json, random, re, sys

data = sys.argv[1]
rng = random.Random(20261128)

sys.path.insert(0, __import__('os').path.dirname(__file__))
from polarity_rules import ANTONYMS, NEG_ENDINGS, NEG_EXCLUDE, find, nsmc

reviews = nsmc(data)
rng.shuffle(reviews)
pairs, seen = [], set()

def add(a, b, label, rule, source):
    if a == b or (a, b) in seen:
        return
    seen.add((a, b))
    pairs.append({"sentence1": a, "sentence2": b, "label": label, "rule": rule, "source": source})

quota = {"antonym": 130, "negation": 110, "number": 60}
count = {k: 0 for k in quota}
for r in reviews:
    if count["antonym"] < quota["antonym"]:
        for x, y, follow in ANTONYMS:
            for src, dst in ((x, y), (y, x)):
                i = find(r, src, follow)
                if i >= 0 and dst not in r:
                    add(r, r[:i] + dst + r[i + len(src):], 0, f"antonym {src}->{dst}", "nsmc")
                    count["antonym"] += 1
                    break
            else:
                continue
            break
    words = r.split()
    if count["negation"] < quota["negation"] and len(words) >= 3 and not any(n in r for n in ["안 ", "못 ", "않", "없"]):
        last = words[-1].rstrip(".!?~")
        if any(last.endswith(e) for e in NEG_ENDINGS) and len(last) >= 2 and not any(x in last for x in NEG_EXCLUDE) and "." not in last[:-1]:
            flipped = " ".join(words[:-1] + ["안 " + words[-1]])
            add(r, flipped, 0, "negation: 안 before the final predicate", "nsmc")
            count["negation"] += 1
    m = re.search(r"(\d+)", r)
    if count["number"] < quota["number"] and m:
        n = int(m.group(1))
        new = str(n + 1 if n < 5 else max(0, n // 2 if n > 1 else n + 3))
        if new != m.group(1):
            add(r, r[: m.start()] + new + r[m.end():], 0, f"number {m.group(1)}->{new}", "nsmc")
            count["number"] += 1
    if all(count[k] >= quota[k] for k in quota):
        break

# True paraphrases: two sentences of one paraKQC set (10 paraphrases each), one pair per sampled set.
lines = [l.rstrip("\n").split("\t") for l in open(f"{data}/parakqc/paraKQC_v1.txt", encoding="utf-8") if l.strip()]
sets = list(range(len(lines) // 10))
rng.shuffle(sets)
for s_ in sets[:150]:
    i, j = rng.sample(range(10), 2)
    add(lines[s_ * 10 + i][2].strip(), lines[s_ * 10 + j][2].strip(), 1, f"paraphrase (paraKQC set {s_})", "parakqc")
for p in pairs:
    print(json.dumps(p, ensure_ascii=False))
print(f"{count} + 150 paraphrases", file=sys.stderr)
