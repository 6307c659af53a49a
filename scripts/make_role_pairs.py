#!/usr/bin/env python3
"""Training pairs that change who does what to whom in a real sentence, or only how it is said
(issue 30: role swaps, the look-alike kind every duplicate model merges).

Every model so far merges 내가 짝남한테 연락했어 / 짝남이 나한테 연락했어 and 엄마가 막말했어 / 엄마한테
막말했어 (0 of 10 role swaps kept apart in the FAQ checks). `make_edit_pairs.py`'s swap took any two nouns
and made mostly nonsense (이유가 화난 여친을 모르겠어); the particle rule (`dedup/roles.rs`) fires only on
one-clause sentences. This script edits the *people* of real chat sentences (ChatbotData questions,
short NSMC reviews), read with MeCab, from a list of person nouns and pronouns written for it, and
labels each edit by what it does to the meaning:

  other meaning (0):  two people swapped, each keeping its particle (엄마가 나한테 → 내가 엄마한테),
                      neither modified by a clause or a determiner; or one person's role changed
                      (친구가 → 친구한테, 친구를 → 친구가, 엄마한테 → 엄마가) in a sentence with an action
                      verb and no adjective (친구가 고마워 / 친구한테 고마워 mean the same), and no noun
                      already in the role it moves to
  same meaning (5):   한테 ↔ 에게; the first word's subject 이/가 ↔ topic 은/는 (엄마가 → 엄마는) where
                      no relative clause follows;
                      나 ↔ 저 in any role (내가 → 제가, 나한테 → 저한테); the speaker as subject left out
                      (내가 엄마한테 전화했어 → 엄마한테 전화했어)

Both labels change a particle or a pronoun, so what the model can learn is which changes matter, not
that any change does. The hand-written check sets' texts are left out; sentences are split into a
training and a dev part by their own hash, as in `make_edit_pairs.py`.

Usage: make_role_pairs.py SHARED_DATA OUT_TRAIN.jsonl OUT_DEV.jsonl [SEED]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_edit_pairs import has_final, run_edit_script  # noqa: E402

PERSONS = {
    "나", "저", "너", "엄마", "아빠", "어머니", "아버지", "부모님", "친구", "친구들", "남친", "여친", "남자친구",
    "여자친구", "남편", "아내", "와이프", "신랑", "애인", "짝남", "짝녀", "썸남", "썸녀", "전남친", "전여친",
    "동생", "언니", "오빠", "형", "누나", "선배", "후배", "상사", "팀장", "팀장님", "부장님", "사장님",
    "선생님", "쌤", "교수님", "그", "그녀", "걔", "애", "아이", "아들", "딸", "할머니", "할아버지", "동료",
    "직원", "손님", "남자", "여자", "주인공", "감독", "배우", "사람", "룸메", "시어머니", "장모님",
}
# Particle → role. Topic 은/는 marks no role of its own (엄마는 나한테 / 엄마가 나한테 alike).
ROLE = {"이": "subject", "가": "subject", "께서": "subject", "을": "object", "를": "object",
        "한테": "recipient", "에게": "recipient", "께": "recipient", "한테서": "source", "에게서": "source",
        "은": "topic", "는": "topic"}
PRONOUN_BEFORE_GA = {"내": "나", "제": "저", "네": "너"}
REGISTER = {"나": "저", "저": "나"}
SAME_PERSON = {"저": "나"}
SPEAKER_SUBJECTS = {"내가", "나는", "제가", "저는"}
CAP = {
    "role-swap": 1500, "role-change": 2500,
    "role-same-particle": 700, "role-same-topic": 900, "role-same-register": 900, "role-same-drop": 900,
}
PER_WORD = 300


def inflect(noun, particle):
    """noun + particle in the form its last syllable takes (가 / 이, 를 / 을, 는 / 은; 나 + 가 = 내가)."""
    if particle in ("이", "가"):
        if noun in ("나", "저", "너"):
            return {"나": "내", "저": "제", "너": "네"}[noun] + "가"
        return noun + ("이" if has_final(noun[-1]) else "가")
    if particle in ("을", "를"):
        return noun + ("을" if has_final(noun[-1]) else "를")
    if particle in ("은", "는"):
        return noun + ("은" if has_final(noun[-1]) else "는")
    return noun + particle


def person(eojeol):
    """(noun, particle) when the eojeol is exactly a listed person and one role particle."""
    if len(eojeol) != 2:
        return None
    (noun, tag), (particle, ptag) = eojeol
    if tag not in ("NNG", "NNP", "NP") or not ptag.startswith(("JK", "JX")) or particle not in ROLE:
        return None
    if particle == "가":
        noun = PRONOUN_BEFORE_GA.get(noun, noun)
    return (noun, particle) if noun in PERSONS else None


def modified(eojeols, i):
    """Eojeol i follows a determiner or a clause ending in an adnominal ending (그 사람, 좋아하는 애)."""
    if i == 0:
        return False
    last_tag = eojeols[i - 1][-1][1]
    return last_tag == "MM" or last_tag.endswith("ETM")


def action_sentence(eojeols):
    """Has an action verb and no adjective, wish or existence predicate, whose experiencer may take
    가 or 한테 alike (친구가 고마워 / 친구한테 고마워)."""
    tags = [t for e in eojeols for _, t in e]
    surfaces = [s for e in eojeols for s, _ in e]
    if any("VA" in t or "XSA" in t or "VCP" in t for t in tags):
        return False
    if any(s in ("싶", "있", "없", "좋", "싫") for s in surfaces):
        return False
    return any(t.startswith("VV") or t.startswith("XSV") for t in tags)


def swap_people(words, eojeols, people, rng):
    options = [
        (i, j) for i in people for j in people
        if i < j and SAME_PERSON.get(people[i][0], people[i][0]) != SAME_PERSON.get(people[j][0], people[j][0])
        and ROLE[people[i][1]] != ROLE[people[j][1]]
        and not modified(eojeols, i) and not modified(eojeols, j)
    ]
    if not options:
        return None
    i, j = rng.choice(options)
    out = list(words)
    out[i] = inflect(people[j][0], people[i][1])
    out[j] = inflect(people[i][0], people[j][1])
    return " ".join(out), people[i][0] + "/" + people[j][0]


def change_role(words, eojeols, people, rng):
    if not action_sentence(eojeols):
        return None
    # Roles any noun holds, not only people's: 주인공이 총을 맞아 must not become 주인공을 총을.
    roles = {ROLE[s] for e in eojeols for s, t in e[1:] if t.startswith(("JK", "JX")) and s in ROLE}
    options = []
    for i, (noun, particle) in people.items():
        role = ROLE[particle]
        # Not subject → object: most verbs here are intransitive (동생이 돌아와 → 동생을 돌아와).
        moves = {"subject": ["한테"], "recipient": ["가"], "object": ["가"]}.get(role, [])
        for new in moves:
            new_role = ROLE[new]
            if new_role in roles or (new_role == "subject" and "topic" in roles):
                continue
            options.append((i, inflect(noun, new), noun))
    if not options:
        return None
    i, new, key = rng.choice(options)
    return " ".join(words[:i] + [new] + words[i + 1:]), key


def same_meaning(words, eojeols, people, rng):
    options = []
    for i, (noun, particle) in people.items():
        if particle in ("한테", "에게"):
            options.append(("role-same-particle", i, noun + ("에게" if particle == "한테" else "한테")))
        # Only where no adnominal ending follows: 내가 본 영화 (subject of a relative clause) is not 나는 본 영화.
        relative = any(t.endswith("ETM") for e in eojeols[i + 1:] for _, t in e)
        if i == 0 and ROLE[particle] in ("subject", "topic") and particle != "께서" and not relative:
            options.append(("role-same-topic", i, inflect(noun, "는" if ROLE[particle] == "subject" else "가")))
        if noun in REGISTER:
            options.append(("role-same-register", i, inflect(REGISTER[noun], particle)))
    if words[0] in SPEAKER_SUBJECTS and len(words) >= 3:
        options.append(("role-same-drop", 0, None))
    if not options:
        return None
    source, i, new = rng.choice(options)
    out = words[:i] + ([new] if new is not None else []) + words[i + 1:]
    return source, " ".join(out), words[i]


def edits(sentence, words, eojeols, rng):
    people = {i: p for i, p in enumerate(person(e) for e in eojeols) if p}
    if not people:
        return []
    made = []
    swapped = swap_people(words, eojeols, people, rng)
    if swapped:
        made.append((swapped, 0.0, "role-swap"))
    changed = change_role(words, eojeols, people, rng)
    if changed:
        made.append((changed, 0.0, "role-change"))
    same = same_meaning(words, eojeols, people, rng)
    if same:
        source, other, key = same
        made.append(((other, key), 5.0, source))
    return made


def main():
    run_edit_script(200000, 20261209, CAP, PER_WORD, edits)


if __name__ == "__main__":
    main()
