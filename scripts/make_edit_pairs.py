#!/usr/bin/env python3
"""Training pairs made by one grammatical edit of a real sentence, read with MeCab (issue 30).

Real data holds almost no pairs that differ only by a negation word or by who did what to whom: of
NSMC's 712k reviews, 4 pairs differ by an inserted 안; of KLUE NLI's 8,047 entailed / contradicted
hypothesis pairs, 2 by 안 and 1 by 못. Every duplicate model trained on real pairs alone flagged
오늘 학교에 갔어 / 오늘 학교에 안 갔어 (docs/results/2026-12-07-entailment-duplicate-model.md). So this
script edits real chat sentences (ChatbotData questions, short NSMC reviews) with the morphemes MeCab
finds, and labels each edit by what it does to the meaning:

  other meaning (0):  negation put before the last predicate or taken away (안 / 못, spaced or run
                      together; 있 ↔ 없), or -지 않- after its stem, another unit of time after a
                      number (3개월 → 3년), the nouns before a subject and an object / dative particle
                      swapped (엄마가 나한테 → 내가 엄마한테), a number changed
  same meaning (5):   a space taken out or put in between two morphemes of one phrase (띄어쓰기), the
                      closing punctuation changed

It never reads the hand-written check sets (tests/data/dedup_check, tests/data/faq_check) except to
leave their texts out, and it uses no word list of antonyms, times or objects: those kinds stay with
the mined real pairs (`scripts/mine_one_word_pairs.py`). Sentences are split into a training and a dev
part by their own hash, so no source sentence is in both.

Needs the `mecab` command (Debian's `mecab`) and the dictionary folder `models/mecab-ko-dic`
(`make model`).

With --long-negation-and-time-units (the stage-6 mix) two more edits: -지 않- after the closing
predicate's stem, and another unit of time after a number. Without it the output is what stages 4
and 5 trained on.

Usage: make_edit_pairs.py [--long-negation-and-time-units] SHARED_DATA OUT_TRAIN.jsonl OUT_DEV.jsonl [SEED]
"""

import csv
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys

DICT = "models/mecab-ko-dic"
PREDICATE = ("VV", "VA", "XSV", "XSA", "VX")
SUBJECT = ("이", "가")
OTHER_PARTICLES = ("을", "를", "한테", "에게")
PRONOUN_BEFORE_GA = {"내": "나", "제": "저", "네": "너"}
PRONOUN_TO_GA = {v: k for k, v in PRONOUN_BEFORE_GA.items()}
CAP = {
    "edit-negation-spaced": 3500,
    "edit-negation-joined": 2500,
    "edit-role-swap": 1000,
    "edit-number": 1500,
    "edit-spacing": 4500,
    "edit-punctuation": 1500,
    "edit-negation-long": 2500,
    "edit-time-unit": 1000,
}


def analyse(sentences):
    """Per sentence, its eojeols as lists of (surface, tag) morphemes."""
    proc = subprocess.run(
        ["mecab", "-d", DICT, "-F", "%pS%m\t%f[0]\n", "-E", "EOS\n"],
        input="\n".join(s.replace("\n", " ") for s in sentences) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    out, cur = [], []
    for line in proc.stdout.split("\n"):
        if line == "EOS":
            out.append(cur)
            cur = []
            continue
        if not line or "\t" not in line:
            continue
        surface, tag = line.rsplit("\t", 1)
        if surface.startswith(" ") or not cur:
            cur.append([(surface.strip(), tag)])
        else:
            cur[-1].append((surface, tag))
    return out


def has_final(syllable):
    """A Hangul syllable ending in a consonant (받침)."""
    return "가" <= syllable <= "힣" and (ord(syllable) - 0xAC00) % 28 != 0


def negation_edit(eojeols, rng):
    """(edited sentence, spaced?) or None: 안 / 못 put before the sentence's closing predicate (a verb
    or adjective, or a noun + 하다, ending the sentence) or taken away from it."""
    words = ["".join(s for s, _ in e) for e in eojeols]
    i = len(eojeols) - 1
    while i >= 0 and all(t.startswith(("S", "EF")) for _, t in eojeols[i]):
        i -= 1  # punctuation or emoticons alone
    if i < 0:
        return None
    morphemes = [(s, t) for s, t in eojeols[i] if not t.startswith("S")]
    if not morphemes:
        return None
    tags = "+".join(t for _, t in morphemes).split("+")
    # Only a closing predicate: its last morpheme a final or connective ending, not a modifier
    # (-ㄴ / -는 before a noun) or a nominaliser, which negated read as broken Korean.
    if tags[-1] not in ("EF", "EC") or "ETM" in tags or "ETN" in tags:
        return None
    first = tags[0]
    noun_hada = len(morphemes) >= 2 and first in ("NNG", "XR") and morphemes[1][1].split("+")[0] in ("XSV", "XSA")
    if first not in ("VV", "VA", "MAG") and not noun_hada:
        return None
    if i > 0 and words[i - 1] in ("안", "못"):
        return " ".join(words[: i - 1] + words[i:]), True
    if first == "MAG" and words[i].startswith(("안", "못")) and len(morphemes) >= 2:
        return " ".join(words[:i] + [words[i][1:]] + words[i + 1 :]), False
    if first == "MAG" or any(k in words[i] for k in ("않", "없", "못")):
        return None
    if words[i].startswith("있"):
        return " ".join(words[:i] + ["없" + words[i][1:]] + words[i + 1 :]), True
    verb = first == "VV" or (noun_hada and morphemes[1][1].startswith("XSV"))
    neg = "못" if verb and rng.random() < 0.3 else "안"
    spaced = rng.random() < 0.6
    if noun_hada:
        noun = morphemes[0][0]
        new = [noun, neg + (" " if spaced else "") + words[i][len(noun) :]]
    else:
        new = [neg + (" " if spaced else "") + words[i]]
    return " ".join(words[:i] + new + words[i + 1 :]), spaced


LONG_NEGATION = {"어": "지 않아", "아": "지 않아", "어요": "지 않아요", "아요": "지 않아요", "다": "지 않다", "네": "지 않네", "네요": "지 않네요", "습니다": "지 않습니다"}
TIME_COUNTERS = ("년", "개월", "달", "주", "일", "시간", "분")


def long_negation_edit(eojeols):
    """-지 않- put after the closing predicate's stem (먹고 싶어 → 먹고 싶지 않아, 믿었어 → 믿지
    않았어, 운동했어 → 운동하지 않았어); only where the stem and ending are written apart."""
    words = ["".join(s for s, _ in e) for e in eojeols]
    i = len(eojeols) - 1
    while i >= 0 and all(t.startswith("S") for _, t in eojeols[i]):
        i -= 1
    if i < 0:
        return None
    m = [(s, t) for s, t in eojeols[i] if not t.startswith("S")]
    tail = words[i][len("".join(s for s, _ in m)) :]
    if any(k in words[i] for k in ("않", "없", "못")) or (i > 0 and words[i - 1] in ("안", "못")):
        return None
    if len(m) == 2 and m[0][1] in ("VV", "VA", "VX") and m[1][0] in LONG_NEGATION:
        new = m[0][0] + LONG_NEGATION[m[1][0]]
    elif len(m) == 3 and m[0][1] in ("VV", "VA", "VX") and m[1][1] == "EP" and m[1][0] in ("었", "았"):
        if m[2][0] not in ("어", "어요", "다"):
            return None
        new = m[0][0] + "지 않았" + m[2][0]
    elif m[0][0].endswith("했") and m[0][1] in ("XSV+EP", "XSA+EP") and len(m) == 2 and m[1][0] in ("어", "어요", "다"):
        new = "하지 않았" + m[1][0]
    elif len(m) >= 3 and m[0][1] in ("NNG", "XR") and m[1][0].endswith("했") and m[1][1] in ("XSV+EP", "XSA+EP"):
        if len(m) != 3 or m[2][0] not in ("어", "어요", "다"):
            return None
        new = m[0][0] + "하지 않았" + m[2][0]
    else:
        return None
    return " ".join(words[:i] + [new + tail] + words[i + 1 :])


def counter_edit(eojeols, rng):
    """Another unit of time after a number (이별한 지 3개월 → 3년, 8일째 → 8주째)."""
    words = ["".join(s for s, _ in e) for e in eojeols]
    for i, e in enumerate(eojeols):
        for k in range(len(e) - 1):
            if e[k][1] == "SN" and e[k + 1][1] == "NNBC" and e[k + 1][0] in TIME_COUNTERS:
                other = rng.choice([c for c in TIME_COUNTERS if c != e[k + 1][0]])
                head = "".join(s for s, _ in e[: k + 1])
                rest = words[i][len(head) + len(e[k + 1][0]) :]
                words[i] = head + other + rest
                return " ".join(words)
    return None


def role_swap(eojeols):
    """The nouns before a subject particle and before an object / dative particle swapped."""
    subj = obj = None
    for i, e in enumerate(eojeols):
        if len(e) != 2 or e[0][1] not in ("NNG", "NNP", "NP"):
            continue
        noun, (part, tag) = e[0][0], e[1]
        if tag == "JKS" and part in SUBJECT and subj is None:
            subj = (i, PRONOUN_BEFORE_GA.get(noun, noun) if part == "가" else noun)
        elif tag in ("JKO", "JKB") and part in OTHER_PARTICLES and obj is None:
            obj = (i, noun, part)
    if subj is None or obj is None:
        return None
    (si, sn), (oi, on, op) = subj, obj
    if sn == on:
        return None

    def with_subject(noun):
        if noun in PRONOUN_TO_GA:
            return PRONOUN_TO_GA[noun] + "가"
        return noun + ("이" if has_final(noun[-1]) else "가")

    def with_other(noun, particle):
        if particle in ("을", "를"):
            return noun + ("을" if has_final(noun[-1]) else "를")
        return noun + particle

    words = ["".join(s for s, _ in e) for e in eojeols]
    words[si] = with_subject(on)
    words[oi] = with_other(sn, op)
    return " ".join(words)


def number_edit(eojeols, rng):
    words = ["".join(s for s, _ in e) for e in eojeols]
    for i, e in enumerate(eojeols):
        for s, t in e:
            if t == "SN" and s.isdigit() and len(s) <= 4:
                n = int(s)
                m = n + rng.choice([1, 2, 3, 5, 10]) if rng.random() < 0.5 or n < 2 else max(1, n // 2)
                if m == n:
                    return None
                words[i] = words[i].replace(s, str(m), 1)
                return " ".join(words)
    return None


def spacing_edit(eojeols, rng):
    """Same meaning: one space taken out, or one put in between two morphemes of an eojeol."""
    words = ["".join(s for s, _ in e) for e in eojeols]
    if len(words) >= 2 and rng.random() < 0.5:
        i = rng.randrange(len(words) - 1)
        return " ".join(words[:i] + [words[i] + words[i + 1]] + words[i + 2 :])
    splittable = [
        i
        for i, e in enumerate(eojeols)
        if len(e) >= 2 and e[0][1] in ("NNG", "NNP") and e[1][1] in ("NNG", "NNP", "XSN")
    ]
    if splittable:
        i = rng.choice(splittable)
        head = eojeols[i][0][0]
        return " ".join(words[:i] + [head, words[i][len(head) :]] + words[i + 1 :])
    return None


def punctuation_edit(sentence, rng):
    stripped = sentence.rstrip("?.!~ ")
    if not stripped or stripped == sentence and rng.random() < 0.5:
        return stripped + rng.choice(["?", ".", "!", "~"]) if stripped else None
    return stripped


def hangul_share(s):
    return sum("가" <= c <= "힣" for c in s) / max(1, len(s))


def main():
    args = [a for a in sys.argv[1:] if a != "--long-negation-and-time-units"]
    more = len(args) < len(sys.argv) - 1
    shared, out_train, out_dev = args[:3]
    rng = random.Random(int(args[3]) if len(args) > 3 else 20261207)

    held = held_texts(("dedup_check",), ("faq_check",))

    sentences = chat_sentences(shared, held, 30000, rng)

    rows = {"train": [], "dev": []}
    counts = {}
    for sentence, eojeols in zip(sentences, analyse(sentences)):
        if not eojeols:
            continue
        part = part_of(sentence)
        made = []
        neg = negation_edit(eojeols, rng)
        if neg:
            made.append((neg[0], 0.0, "edit-negation-" + ("spaced" if neg[1] else "joined")))
        swapped = role_swap(eojeols)
        if swapped:
            made.append((swapped, 0.0, "edit-role-swap"))
        if more:
            long_neg = long_negation_edit(eojeols)
            if long_neg:
                made.append((long_neg, 0.0, "edit-negation-long"))
            counter = counter_edit(eojeols, rng)
            if counter:
                made.append((counter, 0.0, "edit-time-unit"))
        number = number_edit(eojeols, rng)
        if number:
            made.append((number, 0.0, "edit-number"))
        if rng.random() < 0.5:
            spaced = spacing_edit(eojeols, rng)
            if spaced:
                made.append((spaced, 5.0, "edit-spacing"))
        elif rng.random() < 0.3:
            punct = punctuation_edit(sentence, rng)
            if punct:
                made.append((punct, 5.0, "edit-punctuation"))
        for other, score, source in made:
            if other == sentence or other in held or not other.strip():
                continue
            a, b = (sentence, other) if rng.random() < 0.5 else (other, sentence)
            rows[part].append({"sentence1": a, "sentence2": b, "score": score, "source": source})
            counts[source] = counts.get(source, 0) + 1
    # At most CAP pairs of one kind (negations are by far the most common edit).
    kept = write_capped(rows, {"train": out_train, "dev": out_dev}, CAP, rng)
    print("made:", json.dumps(counts, ensure_ascii=False), file=sys.stderr)
    print(f"train {kept['train']}, dev {kept['dev']}", file=sys.stderr)


def held_texts(pair_sets=("dedup_check", "dedup_check2"), faq_sets=("faq_check", "faq_check2")):
    """The texts of the hand-written check sets under tests/data, which no training file may hold."""
    held = set()
    for folder in pair_sets:
        for line in open(f"tests/data/{folder}/checks.jsonl", encoding="utf-8"):
            r = json.loads(line)
            held.update((r["sentence1"], r["sentence2"]))
    for folder in faq_sets:
        for name in ("corpus.jsonl", "queries.jsonl"):
            for line in open(f"tests/data/{folder}/{name}", encoding="utf-8"):
                held.add(json.loads(line)["text"])
    return held


def part_of(sentence):
    """"dev" for a tenth of the source sentences, chosen by their SHA-1, "train" for the rest: no
    sentence has edits on both sides."""
    return "dev" if int(hashlib.sha1(sentence.encode()).hexdigest(), 16) % 10 == 0 else "train"


def aligned(words, eojeols):
    """MeCab's eojeols spell the sentence's words one for one (an edit may then rebuild it by word)."""
    return bool(eojeols) and len(eojeols) == len(words) and all(
        "".join(s for s, _ in e) == w for e, w in zip(eojeols, words)
    )


def keep_edits(rows, counts, per_word, cap, sentence, made, held, rng):
    """Each edit `((other, key), score, source)` of `sentence` as a pair in its part, in random order,
    unless it changed nothing, is a held text, or its key (the word edited) already made `cap` of its
    source in that part."""
    part = part_of(sentence)
    for (other, key), score, source in made:
        per_word[(part, source, key)] = per_word.get((part, source, key), 0) + 1
        if other == sentence or other in held or per_word[(part, source, key)] > cap:
            continue
        a, b = (sentence, other) if rng.random() < 0.5 else (other, sentence)
        rows[part].append({"sentence1": a, "sentence2": b, "score": score, "source": source})
        counts[source] = counts.get(source, 0) + 1


def run_edit_script(nsmc_count, seed, cap, per_word_cap, edits):
    """The main of a word-edit script (`make_contrast_pairs.py`, `make_role_pairs.py`): argv is SHARED_DATA
    OUT_TRAIN OUT_DEV [SEED]; every chat sentence whose eojeols MeCab reads one for one goes through
    `edits(sentence, words, eojeols, rng)`, which returns its edits `((other, key), score, source)`;
    they are kept by `keep_edits` and written by `write_capped`."""
    shared, out_train, out_dev = sys.argv[1:4]
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else seed)
    held = held_texts()
    sentences = chat_sentences(shared, held, nsmc_count, rng, squeeze=True)
    rows = {"train": [], "dev": []}
    counts, per_word = {}, {}
    for sentence, eojeols in zip(sentences, analyse(sentences)):
        words = sentence.split()
        if aligned(words, eojeols):
            made = edits(sentence, words, eojeols, rng)
            keep_edits(rows, counts, per_word, per_word_cap, sentence, made, held, rng)
    kept = write_capped(rows, {"train": out_train, "dev": out_dev}, cap, rng)
    print(f"train {kept['train']}, dev {kept['dev']}", file=sys.stderr)
    print("made:", json.dumps(counts, ensure_ascii=False), file=sys.stderr)


def chat_sentences(shared, held, nsmc_count, rng, squeeze=False):
    """ChatbotData's questions and `nsmc_count` short NSMC reviews (2–8 words, 6–40 characters, mostly
    Hangul), none of them in `held`; `squeeze` collapses runs of whitespace inside a text."""
    clean = (lambda t: " ".join(t.split())) if squeeze else str.strip
    with open(f"{shared}/chatbot_data/ChatbotData.csv", encoding="utf-8") as f:
        chatbot = sorted({row["Q"].strip() for row in csv.DictReader(f)} - held)
    nsmc = set()
    with gzip.open(f"{shared}/nsmc/nsmc_reviews.tsv.gz", "rt", encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 5:
                t = clean(p[4])
                if 2 <= len(t.split()) <= 8 and 6 <= len(t) <= 40 and hangul_share(t) > 0.6:
                    nsmc.add(t)
    nsmc = sorted(nsmc - held)
    rng.shuffle(nsmc)
    print(f"{len(chatbot)} ChatbotData questions, {min(nsmc_count, len(nsmc))} NSMC reviews", file=sys.stderr)
    return [clean(s) for s in chatbot] + nsmc[:nsmc_count]


def write_capped(rows, paths, cap, rng):
    """Each part's pairs shuffled, at most `cap[source]` of a source (a ninth of it in dev), written as
    JSON lines; returns how many each part kept."""
    kept_counts = {}
    for name, path in paths.items():
        rng.shuffle(rows[name])
        kept, seen = [], {}
        for r in rows[name]:
            seen[r["source"]] = seen.get(r["source"], 0) + 1
            if seen[r["source"]] <= cap[r["source"]] // (9 if name == "dev" else 1):
                kept.append(r)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for r in kept:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        kept_counts[name] = len(kept)
    return kept_counts


if __name__ == "__main__":
    main()
