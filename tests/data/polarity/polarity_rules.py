"""Rules shared by the polarity probe and the hard-negative training pairs: antonym swaps, 안-negation of
the final predicate, and the NSMC reader. Surface forms only, so edits stay grammatical."""
import gzip, re

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

def nsmc(data, start=0, limit=200000):
    """NSMC reviews of lines [start, limit) that the rules can work on: 8–60 characters of Hangul, digits, basic punctuation."""
    out = []
    with gzip.open(f"{data}/nsmc/nsmc_reviews.tsv.gz", "rt", encoding="utf-8") as f:
        next(f)
        for i, line in enumerate(f):
            if i < start:
                continue
            r = line.rstrip("\n").split("\t")[-1].strip()
            if 8 <= len(r) <= 60 and re.fullmatch(r"[가-힣0-9 .,!?~]+", r):
                out.append(r)
            if i >= limit:
                break
    return out

