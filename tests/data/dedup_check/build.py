"""Writes checks.jsonl from the hand-written lists in pairs_*.py: one JSON line a pair,
{sentence1, sentence2, label (1 = duplicate), kind}. The lists are the source; this only formats them."""
import json
import pathlib
import sys

here = pathlib.Path(__file__).parent
sys.path.insert(0, str(here))
from pairs_a import ANTONYM, NEGATION_SPACED, NEGATION_UNSPACED, ROLE_SWAP, TIME  # noqa: E402
from pairs_b import OBJECT, OUTCOME, QUANTITY  # noqa: E402
from pairs_c import PARAPHRASE_REGISTER, PARAPHRASE_SPELLING, PARAPHRASE_WORDING  # noqa: E402

kinds = {
    "antonym": (ANTONYM, 0),
    "negation_spaced": (NEGATION_SPACED, 0),
    "negation_unspaced": (NEGATION_UNSPACED, 0),
    "role_swap": (ROLE_SWAP, 0),
    "time": (TIME, 0),
    "quantity": (QUANTITY, 0),
    "object": (OBJECT, 0),
    "outcome": (OUTCOME, 0),
    "paraphrase_register": (PARAPHRASE_REGISTER, 1),
    "paraphrase_wording": (PARAPHRASE_WORDING, 1),
    "paraphrase_spelling": (PARAPHRASE_SPELLING, 1),
}
seen = set()
with open(here / "checks.jsonl", "w", encoding="utf-8") as out:
    for kind, (pairs, label) in kinds.items():
        assert len(pairs) >= 30, (kind, len(pairs))
        for a, b in pairs:
            assert a != b and (a, b) not in seen, (kind, a, b)
            seen.add((a, b))
            out.write(json.dumps({"sentence1": a, "sentence2": b, "label": label, "kind": kind}, ensure_ascii=False) + "\n")
print(f"{len(seen)} pairs in {len(kinds)} kinds")
