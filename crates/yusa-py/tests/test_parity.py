"""The package decides what the server decides: the same index (built by the CLI), the same models,
the same answers — embeddings, the duplicate decision on a paraphrase and on a flip, searches,
checks. Runs on the shipped models (`make model`; CI requires them)."""

from __future__ import annotations

import numpy as np
import pytest

import yusa
from conftest import MODELS, REPO, Server, copy_index, real_models, yusa_cli

pytestmark = pytest.mark.skipif(not real_models(), reason="the shipped models are missing (make model)")

QUERIES = ["헤어진 여자친구가 자꾸 생각나", "비밀번호를 잊어버렸어요", "오늘 날씨 어때"]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """A server on a CLI-built index, and an Engine on a copy of it (one process per folder)."""
    root = tmp_path_factory.mktemp("parity")
    built = root / "built"
    yusa_cli("index", "--index-dir", str(built), "--models-dir", str(MODELS), "--collection", "chatbot",
             "--input", str(REPO / "samples" / "ChatbotData.csv"), "--text-column", "Q", "--limit", "2000")
    copy_index(built, root / "copy")
    server = Server(built)
    engine = yusa.Engine(root / "copy", MODELS)
    yield engine, yusa.Client(server.url)
    server.stop()


def test_embeddings_match_the_server(both):
    engine, client = both
    a, b = engine.embed(QUERIES), client.embed(QUERIES)
    assert a.shape == b.shape == (3, 384)
    assert np.abs(a - b).max() < 1e-5


def test_decisions_on_a_paraphrase_and_a_flip_match_the_server(both):
    engine, client = both
    pairs = [("비밀번호를 잊어버렸어요", "비밀번호가 기억나지 않아요"),  # paraphrase
             ("환불 되나요?", "환불 안 되나요?"),  # flip: the README's own "not duplicates" example
             ("배송이 빨라요", "배송이 느려요")]
    mine, theirs = engine.similarity(pairs), client.similarity(pairs)
    assert mine["method"] == theirs["method"]
    for m, t in zip(mine["decisions"], theirs["decisions"]):
        assert m["is_duplicate"] == t["is_duplicate"] and m["reason"] == t["reason"]
        assert m["sts"] == pytest.approx(t["sts"], abs=1e-5)
    assert mine["decisions"][0]["is_duplicate"], mine["decisions"][0]
    # The flip's negation is found and reported (whether it decides is issue 30's open work: the
    # shipped STS threshold still calls this pair a duplicate, here as on the server).
    assert mine["decisions"][1]["polarity_conflict"], mine["decisions"][1]


def test_searches_and_checks_over_a_cli_index_match_the_server(both):
    engine, client = both
    for q in QUERIES:
        for mode in ["hybrid", "dense", "lexical"]:
            m, t = engine.search("chatbot", q, k=5, mode=mode), client.search("chatbot", q, k=5, mode=mode)
            assert [h["id"] for h in m["hits"]] == [h["id"] for h in t["hits"]], (q, mode)
            assert [h["score"] for h in m["hits"]] == pytest.approx([h["score"] for h in t["hits"]], abs=1e-5)
    texts = ["3박4일 놀러 가고 싶어", "오늘 점심 메뉴 추천해 줘"]
    m, t = engine.check("chatbot", texts), client.check("chatbot", texts)
    assert [[d["id"] for d in r["duplicates"]] for r in m["results"]] == [[d["id"] for d in r["duplicates"]] for r in t["results"]]
    assert m["results"][0]["is_duplicate"], m["results"][0]


def test_the_client_raises_the_servers_errors(both):
    _, client = both
    with pytest.raises(yusa.YusaError) as e:
        client.search("nope", "x")
    assert (e.value.status, e.value.kind) == (404, "not_found")
