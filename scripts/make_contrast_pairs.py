#!/usr/bin/env python3
"""Training pairs made by swapping one word of a real sentence for a contrasting or an equivalent one
(issue 30: antonyms, times, objects and outcomes — the kinds the duplicate model reads worst).

The duplicate model keeps most negations and numbers apart, but merges 더워서 잠이 안 와 / 추워서 잠이
안 와 and 어제 날씨 / 내일 날씨: the mined real pairs hold too few of them (one-word NSMC pairs with opposite
ratings are mostly noise). So this script edits real chat sentences (ChatbotData questions, short NSMC
reviews), as `make_edit_pairs.py` does, with word lists written for it:

  other meaning (0):  an adjective or verb swapped for its opposite (더워 → 추워, 빨라 → 느려, 샀 →
                      팔았), an outcome for the other one (붙었 → 떨어졌, 이겼 → 졌), a time word for
                      another of the same tense (어제 → 그저께, 내일 → 다음주, 아침 → 저녁), a noun for
                      another of its kind (담배 → 술, 엄마 → 아빠)
  same meaning (5):   an intensifier swapped for another (너무 → 정말), a word for its synonym (핸드폰 →
                      휴대폰, 남친 → 남자친구, 뛰어 → 달려), a filler adverb (좀, 그냥) taken out or put in,
                      the polite ending 요 taken away or put in

A word is swapped only where MeCab reads it as what the list means (a predicate: an eojeol starting with
a verb, adjective, root or auxiliary, or a noun with a verb-making suffix; a noun: followed by nothing or
a particle), so 커피 is not 크다 and 술래 is not 술.
The lists were written without reading the hand-written check sets, whose texts are left out; sentences
are split into a training and a dev part by their own hash, as in `make_edit_pairs.py`.

Usage: make_contrast_pairs.py SHARED_DATA OUT_TRAIN.jsonl OUT_DEV.jsonl [SEED]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_edit_pairs import run_edit_script  # noqa: E402

# Predicate forms, each pair inflected alike; matched (either side, the first listed pair that fits)
# at the start of an eojeol that MeCab reads as a predicate.
OPPOSITE_PREDICATES = [
    ("좋아해", "싫어해"), ("좋아하", "싫어하"), ("좋아했", "싫어했"),
    ("좋은", "나쁜"), ("좋았", "나빴"), ("좋아졌", "나빠졌"), ("좋아져", "나빠져"), ("좋다", "나쁘다"),
    ("빠른", "느린"), ("빨라", "느려"), ("빨랐", "느렸"), ("빠르", "느리"),
    ("큰", "작은"), ("커서", "작아서"), ("커요", "작아요"), ("컸", "작았"), ("크다", "작다"), ("크네", "작네"),
    ("많은", "적은"), ("많아", "적어"), ("많았", "적었"), ("많다", "적다"), ("많네", "적네"),
    ("높은", "낮은"), ("높아", "낮아"), ("높았", "낮았"), ("높다", "낮다"),
    ("쉬운", "어려운"), ("쉬워", "어려워"), ("쉬웠", "어려웠"), ("쉽다", "어렵다"), ("쉽네", "어렵네"),
    ("길어", "짧아"), ("길었", "짧았"), ("길다", "짧다"),
    ("비싼", "싼"), ("비싸요", "싸요"), ("비싸다", "싸다"), ("비쌌", "쌌"),
    ("무거운", "가벼운"), ("무거워", "가벼워"), ("무거웠", "가벼웠"), ("무겁", "가볍"),
    ("밝은", "어두운"), ("밝아", "어두워"), ("밝았", "어두웠"),
    ("넓은", "좁은"), ("넓어", "좁아"), ("넓었", "좁았"),
    ("깨끗한", "더러운"), ("깨끗해", "더러워"), ("깨끗했", "더러웠"),
    ("더운", "추운"), ("더워", "추워"), ("더웠", "추웠"), ("덥", "춥"),
    ("뜨거운", "차가운"), ("뜨거워", "차가워"),
    ("재밌", "재미없"), ("재미있", "재미없"), ("맛있", "맛없"),
    ("편한", "불편한"), ("편해", "불편해"), ("편했", "불편했"), ("편하", "불편하"),
    ("친절한", "불친절한"), ("친절해", "불친절해"), ("친절했", "불친절했"),
    ("기쁜", "슬픈"), ("기뻐", "슬퍼"), ("기뻤", "슬펐"),
    ("행복해", "불행해"), ("행복했", "불행했"), ("행복한", "불행한"),
    ("잘생겼", "못생겼"), ("잘생긴", "못생긴"),
    ("가까운", "먼"), ("가까워", "멀어"),
    ("강한", "약한"), ("강해", "약해"), ("젊은", "늙은"),
    ("늘었", "줄었"), ("늘어", "줄어"), ("올랐", "내렸"), ("올라", "내려"),
    ("켜줘", "꺼줘"), ("켜놔", "꺼놔"), ("켰", "껐"), ("열어", "닫아"), ("열었", "닫았"),
    ("입었", "벗었"), ("입어요", "벗어요"), ("샀", "팔았"), ("살까", "팔까"),
    ("들어왔", "나갔"), ("빌려줬", "빌렸"), ("가르쳐", "배워"), ("가르쳤", "배웠"),
]
OUTCOME_PREDICATES = [
    ("붙었", "떨어졌"), ("이겼", "졌"), ("성공했", "실패했"), ("합격했", "불합격했"),
    ("찾았", "잃어버렸"), ("잡았", "놓쳤"), ("시작했", "끝났"), ("나았", "심해졌"), ("지켰", "어겼"),
    ("통과했", "탈락했"), ("승진했", "해고됐"), ("살았", "죽었"),
]
OUTCOME_NOUNS = [
    ("합격", "불합격"), ("성공", "실패"), ("승리", "패배"), ("찬성", "반대"), ("최고", "최악"),
    ("추천", "비추"), ("장점", "단점"), ("입학", "졸업"), ("결혼", "이혼"), ("취업", "퇴사"),
]
# Time words: swapped within a group (one tense, or one kind of time).
TIME_GROUPS = [
    ["어제", "그저께", "지난주", "작년", "지난달"],
    ["내일", "모레", "다음주", "내년", "다음달"],
    ["아침", "점심", "저녁", "새벽"],
    ["주말", "평일"],
    ["봄", "여름", "가을", "겨울"],
    ["월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"],
]
OBJECT_GROUPS = [
    ["담배", "술", "커피"],
    ["엄마", "아빠", "언니", "오빠", "누나", "동생", "할머니", "할아버지"],
    ["남친", "여친"], ["남자친구", "여자친구"], ["남편", "아내"], ["남자", "여자"],
    ["고양이", "강아지"], ["회사", "학교", "학원"], ["버스", "지하철", "택시"],
    ["카톡", "전화", "문자"], ["치킨", "피자", "라면"], ["운동", "공부"], ["수학", "영어"],
    ["한국", "일본", "중국", "미국"], ["아들", "딸"],
]
SYNONYMS = [
    ["핸드폰", "휴대폰", "스마트폰"], ["남친", "남자친구"], ["여친", "여자친구"], ["엄마", "어머니"],
    ["아빠", "아버지"], ["알바", "아르바이트"], ["회사", "직장"], ["영화관", "극장"], ["요즘", "최근", "요새"],
    ["제일", "가장"], ["빨리", "얼른"], ["약간", "조금", "살짝"], ["배송", "배달"], ["카톡", "카카오톡"],
    ["컴퓨터", "컴"], ["선생님", "쌤"], ["애인", "연인"], ["남편", "신랑"], ["아내", "와이프", "부인"],
    ["이유", "까닭"], ["가격", "값"], ["자동차", "차"], ["아이", "애"], ["배우", "연기자"], ["결말", "엔딩"],
    ["줄거리", "스토리"], ["숙제", "과제"], ["몸무게", "체중"], ["항상", "늘", "언제나"], ["벌써", "이미"],
    ["아직", "여전히"], ["같이", "함께"], ["매일", "날마다"], ["아마", "아마도"], ["전혀", "하나도"],
    ["모두", "전부"], ["계속", "자꾸"], ["다시", "또다시"], ["혹시", "혹여"],
]
SAME_PREDICATES = [
    ("뛰어", "달려"), ("뛰었", "달렸"), ("예쁜", "이쁜"), ("예뻐", "이뻐"), ("예쁘", "이쁘"), ("예뻤", "이뻤"),
    ("말해", "얘기해"), ("말했", "얘기했"), ("말하", "얘기하"), ("알려줘", "가르쳐줘"),
    ("그만둬", "관둬"), ("그만뒀", "관뒀"), ("그만두", "관두"), ("고마워", "감사해"), ("고맙", "감사하"),
    ("미안해", "죄송해"), ("미안하", "죄송하"), ("싸웠", "다퉜"), ("싸워", "다퉈"), ("헤어졌", "이별했"),
    ("귀찮아", "성가셔"), ("멋있", "멋지"), ("심심해", "지루해"), ("무서워", "겁나"), ("힘들어", "버거워"),
    ("사귀", "만나"), ("걱정돼", "걱정되"), ("먹고싶", "먹고 싶"),
]
FILLERS = ["좀", "그냥", "진짜", "정말"]
INTENSIFIERS = ["너무", "정말", "진짜", "엄청", "되게", "매우", "아주", "무척"]
PARTICLES = {"", "은", "는", "이", "가", "을", "를", "에", "에서", "도", "만", "랑", "이랑", "하고", "과",
             "와", "의", "로", "으로", "부터", "까지", "엔", "에는", "이나", "나", "보다", "한테", "에게"}
PER_WORD = 150
POLITE_BEFORE = set("어아여해네죠지래게데까나")
CAP = {
    "contrast-antonym": 2500, "contrast-outcome": 1200, "contrast-time": 1500, "contrast-object": 1200,
    "same-intensifier": 1500, "same-synonym": 3000, "same-filler": 2000, "same-polite-ending": 1500,
}


def is_predicate(e):
    """An eojeol that starts with a verb, adjective, root or auxiliary, or a noun + 하다-like suffix."""
    tag = e[0][1]
    return tag.startswith(("VV", "VA", "XR", "VX")) or (tag.startswith("NNG") and len(e) > 1 and e[1][1].startswith("XS"))


def is_noun(e):
    return e[0][1].split("+")[0] in ("NNG", "NNP", "NNB", "MAG", "NR")


def swap_predicate(words, eojeols, pairs, rng):
    found = []
    for i, (w, e) in enumerate(zip(words, eojeols)):
        if not is_predicate(e):
            continue
        for a, b in pairs:
            for x, y in ((a, b), (b, a)):
                if w.startswith(x):
                    found.append((i, y + w[len(x):], x))
                    break
            else:
                continue
            break
    if not found:
        return None
    i, new, key = rng.choice(found)
    return " ".join(words[:i] + [new] + words[i + 1:]), key


def swap_noun(words, eojeols, groups, rng):
    found = []
    for i, (w, e) in enumerate(zip(words, eojeols)):
        if not is_noun(e):
            continue
        for g in groups:
            for x in sorted(g, key=len, reverse=True):
                if w.startswith(x) and w[len(x):] in PARTICLES:
                    others = [y for y in g if y != x]
                    if others:
                        found.append((i, rng.choice(others) + w[len(x):], x))
                    break
    if not found:
        return None
    i, new, key = rng.choice(found)
    return " ".join(words[:i] + [new] + words[i + 1:]), key


def swap_intensifier(words, rng):
    at = [i for i, w in enumerate(words) if w in INTENSIFIERS]
    if not at:
        return None
    i = rng.choice(at)
    new = rng.choice([x for x in INTENSIFIERS if x != words[i]])
    return " ".join(words[:i] + [new] + words[i + 1:]), words[i]


def filler_edit(words, eojeols, rng):
    """A filler adverb taken out, or put in before a closing predicate (배고파 / 좀 배고파)."""
    at = [i for i, w in enumerate(words) if w in FILLERS]
    if at and len(words) > 2:
        i = rng.choice(at)
        return " ".join(words[:i] + words[i + 1:]), words[i]
    last = eojeols[-1][0]
    if (
        len(words) >= 2
        and last[1].split("+")[0] in ("VV", "VA")
        and not last[0].startswith(("같", "싶"))
        and words[-2] not in ("안", "못", "잘")
        and not words[-2].endswith(("고", "거", "수", "게", "지", "것"))
    ):
        f = rng.choice(FILLERS)
        return " ".join(words[:-1] + [f] + words[-1:]), f
    return None


def polite_edit(sentence):
    body = sentence.rstrip(".?!~ ")
    tail = sentence[len(body):]
    if len(body) < 3:
        return None
    if body.endswith("요") and body[-2] in POLITE_BEFORE:
        return body[:-1] + tail, body[-2:]
    if body[-1] in "어아해네지래" and not body.endswith(("해해", "어어")):
        return body + "요" + tail, body[-1]
    return None


def edits(sentence, words, eojeols, rng):
    made = [
        (swap_predicate(words, eojeols, OPPOSITE_PREDICATES, rng), 0.0, "contrast-antonym"),
        (swap_predicate(words, eojeols, OUTCOME_PREDICATES, rng)
         or swap_noun(words, eojeols, [list(p) for p in OUTCOME_NOUNS], rng), 0.0, "contrast-outcome"),
        (swap_noun(words, eojeols, TIME_GROUPS, rng), 0.0, "contrast-time"),
        (swap_noun(words, eojeols, OBJECT_GROUPS, rng), 0.0, "contrast-object"),
        (swap_intensifier(words, rng), 5.0, "same-intensifier"),
        (swap_noun(words, eojeols, SYNONYMS, rng)
         or swap_predicate(words, eojeols, SAME_PREDICATES, rng), 5.0, "same-synonym"),
        (filler_edit(words, eojeols, rng) if rng.random() < 0.2 else None, 5.0, "same-filler"),
        (polite_edit(sentence) if rng.random() < 0.3 else None, 5.0, "same-polite-ending"),
    ]
    return [(e, score, source) for e, score, source in made if e]


def main():
    # At most PER_WORD pairs of a kind from one word: 재밌 / 재미없 alone would be half the antonyms.
    run_edit_script(80000, 20261208, CAP, PER_WORD, edits)


if __name__ == "__main__":
    main()
