"""How often a time rule would name a difference in labelled paraphrases, by text alone (no model):
the shipped named times (`TIMES` in crates/yusa-core/src/dedup/explain.rs, copied here as of 2026-12-07),
that list with weekdays, parts of the day and three seasons added (the rule tests/data/time_check2 was
written to decide), and the same categories compared each on its own.
Usage: python3 scripts/paraphrase_pairs.py ../shared/data > P.jsonl; python3 scripts/time_rule_count.py P.jsonl"""
import json, unicodedata, sys
OLD = [("모레", ["내일모레", "낼모레", "모레"]), ("그제", ["그저께", "그제"]), ("어제", ["어젯밤", "어저께", "어제"]),
 ("오늘", ["오늘", "금일"]), ("내일", ["내일"]), ("지난주", ["지난주", "지난 주", "저번주", "저번 주"]),
 ("이번 주", ["이번주", "이번 주", "금주"]), ("다음 주", ["다음주", "다음 주", "담주"]),
 ("지난달", ["지난달", "지난 달", "저번달", "저번 달"]), ("이번 달", ["이번달", "이번 달"]), ("다음 달", ["다음달", "다음 달"]),
 ("작년", ["작년", "지난해"]), ("올해", ["올해", "금년"]), ("내년", ["내년"])]
NEW = OLD + [(d, [d, d[0] + "욜"]) for d in ["월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"]] + [
 ("주말", ["주말"]), ("평일", ["평일"]), ("새벽", ["새벽"]), ("아침", ["아침"]), ("점심", ["점심"]), ("저녁", ["저녁"]), ("밤", ["밤"]),
 ("여름", ["여름"]), ("가을", ["가을"]), ("겨울", ["겨울"])]
def times(s, T):
    rest = unicodedata.normalize("NFC", s).lower(); found = []
    for name, sp in T:
        for x in sp:
            if x in rest:
                rest = rest.replace(x, " ")
                if name not in found: found.append(name)
    return found
def fires(a, b, T):
    ta, tb = times(a, T), times(b, T)
    return ta and tb and not any(t in tb for t in ta)
for T, name in ((OLD, "shipped"), (NEW, "extended")):
    hits = []
    for l in open(sys.argv[1]):
        d = json.loads(l)
        if fires(d["sentence1"], d["sentence2"], T): hits.append(d)
    print(name, len(hits))
    for h in hits: print("  ", h["kind"], "|", h["sentence1"][:70], "|", h["sentence2"][:70])
# Variant: each category compared on its own (named days/weeks/months/years; weekdays; parts of day; seasons).
CATS = [OLD, [(d, [d, d[0] + "욜"]) for d in ["월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"]],
        [("새벽", ["새벽"]), ("아침", ["아침"]), ("점심", ["점심"]), ("저녁", ["저녁"]), ("밤", ["밤"])],
        [("여름", ["여름"]), ("가을", ["가을"]), ("겨울", ["겨울"])]]
def fires_cat(a, b):
    # A spelling of an earlier category is removed first (어젯밤 is 어제, not 밤).
    ra, rb = unicodedata.normalize("NFC", a).lower(), unicodedata.normalize("NFC", b).lower()
    for T in CATS:
        ta, tb = times(ra, T), times(rb, T)
        for name, sp in T:
            for x in sp:
                ra, rb = ra.replace(x, " "), rb.replace(x, " ")
        if ta and tb and not any(t in tb for t in ta):
            return True
    return False
for f in sys.argv[1:]:
    hits = [json.loads(l) for l in open(f) if fires_cat(json.loads(l)["sentence1"], json.loads(l)["sentence2"])]
    print("per-category", f, len(hits))
    for h in hits: print("  ", h["kind"], "|", h["sentence1"][:70], "|", h["sentence2"][:70])
