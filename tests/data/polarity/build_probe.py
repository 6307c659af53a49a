"""Builds the polarity probe: minimal pairs whose meaning flips (negation, antonyms, numbers), made by
rules from real sentences, plus true paraphrases that must still count as duplicates.

Sources (read-only, from ../shared/data): NSMC reviews (CC0) for the flips, paraKQC (CC BY-SA 4.0)
for the paraphrases. Deterministic: same inputs, same output.
Usage: python3 build_probe.py ../../../../shared/data > probe.jsonl
"""
import gzip, json, random, re, sys

data = sys.argv[1]
rng = random.Random(20261128)

# (pattern, replacement, what may follow the pattern): surface forms only, so conjugation stays
# grammatical. NOUN_END: the pattern must end the word or be followed by 의 / 하 (the two nouns end in
# different sounds, so other particles would not fit both).
NOUN_END = "의하 .,!?~"
ANTONYMS = [
    ("재밌어요", "재미없어요", None), ("재밌다", "재미없다", None), ("재밌네요", "재미없네요", None), ("재밌었다", "재미없었다", None),
    ("재미있다", "재미없다", None), ("재미있어요", "재미없어요", None), ("재미있었다", "재미없었다", None), ("재밌는", "재미없는", None),
    ("좋아요", "싫어요", None), ("좋다", "나쁘다", None), ("좋았다", "나빴다", None), ("좋네요", "나쁘네요", None), ("좋은", "나쁜", None),
    ("최고", "최악", NOUN_END), ("추천", "비추", NOUN_END), ("맛있", "맛없", None), ("친절", "불친절", None), ("만족", "불만족", None),
    ("행복", "불행", None), ("쉬운", "어려운", None), ("쉽다", "어렵다", None), ("빠른", "느린", None), ("빠르다", "느리다", None),
    ("재미있는", "재미없는", None), ("잘만든", "못만든", None), ("잘 만든", "못 만든", None),
    ("성공", "실패", NOUN_END), ("멋있", "멋없", None), ("훌륭한", "형편없는", None), ("훌륭하다", "형편없다", None),
]

def find(r, x, follow):
    """Index of `x` at the start of a word (so 아쉬운 is not 쉬운), with an allowed follower."""
    for m in re.finditer(re.escape(x), r):
        i = m.start()
        if i > 0 and r[i - 1] != " ":
            continue
        nxt = r[m.end()] if m.end() < len(r) else " "
        if follow is None or nxt in follow:
            return i
    return -1

# Final predicates that take 안 in front: verb/adjective endings, not nouns that happen to end in 다.
NEG_ENDINGS = ["했다", "었다", "았다", "한다", "된다", "진다", "있다", "좋다", "싶다", "든다", "난다",
               "네요", "어요", "아요", "해요", "했어요", "돼요", "와요", "가요", "봐요", "웃겨요", "슬퍼요"]
# Copulas (…이었다, …였다) and forms already negative (못…) do not take 안.
NEG_EXCLUDE = ["이었", "였", "못", "같"]

def nsmc(limit=200000):
    out = []
    with gzip.open(f"{data}/nsmc/nsmc_reviews.tsv.gz", "rt", encoding="utf-8") as f:
        next(f)
        for i, line in enumerate(f):
            r = line.rstrip("\n").split("\t")[-1].strip()
            if 8 <= len(r) <= 60 and re.fullmatch(r"[가-힣0-9 .,!?~]+", r):
                out.append(r)
            if i >= limit:
                break
    return out

reviews = nsmc()
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
