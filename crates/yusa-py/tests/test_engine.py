"""The engine in Python, on the tiny fixture model: every call, its shapes, and its errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import yusa


def test_collections_documents_search_check_scan(tiny):
    tiny.create_collection("faq")
    out = tiny.add("faq", [{"id": "q1", "text": "비밀번호를 잊어버렸어요", "metadata": {"topic": "account"}}, "배송은 얼마나 걸리나요?"])
    assert out["collection_size"] == 2 and out["documents"][0]["id"] == "q1"
    assert tiny.count("faq") == 2
    assert tiny.get("faq", "q1")["metadata"] == {"topic": "account"}
    assert tiny.get("faq", "nope") is None
    hits = tiny.search("faq", "비밀번호", mode="lexical")["hits"]
    assert hits[0]["id"] == "q1" and "비밀" in hits[0]["matched_terms"]
    # An exact copy is a duplicate whatever the model.
    res = tiny.check("faq", ["비밀번호를 잊어버렸어요"])["results"][0]
    assert res["is_duplicate"] and res["duplicates"][0]["id"] == "q1"
    tiny.add("faq", [{"id": "q2", "text": "비밀번호를 잊어버렸어요"}])
    scan = tiny.scan("faq")
    assert scan["report"]["documents"] == 3
    clusters = [{c["representative"]["id"]} | {m["id"] for m in c["members"]} for c in scan["clusters"]]
    assert {"q1", "q2"} in clusters, scan
    assert tiny.delete("faq", "q2") and not tiny.delete("faq", "q2")
    assert [c["name"] for c in tiny.collections()] == ["faq"]
    tiny.drop_collection("faq")
    assert tiny.collections() == []


def test_a_bulk_load_chooses_the_role_from_the_documents(tiny):
    long = "전원 버튼을 길게 누르면 기기가 켜지고 화면에 안내가 나옵니다. " * 10
    r = tiny.index("manuals", [long, long + " 두 번째"])
    assert r["doc_role"] == "asymmetric" and "question → passage" in r["role_chosen"]
    r = tiny.index("faq", ["짧은 질문", "또 다른 질문"])
    assert r["doc_role"] == "symmetric"


def test_embeddings_are_unit_numpy_rows(tiny):
    v = tiny.embed(["학교에서 공부했어요", "날씨가 좋네요", "학교에서 공부했어요"])
    assert v.shape == (3, tiny.models()["dim"]) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert np.allclose(v[0], v[2])
    q, p = tiny.embed(["학교"]), tiny.embed(["학교"], role="passage")
    assert not np.allclose(q, p), "the e5 prefixes differ"


def test_a_collection_made_without_a_role_takes_it_from_its_first_documents(tiny):
    tiny.create_collection("manuals")
    out = tiny.add("manuals", ["청소기 설명서입니다. " * 25, "세탁기 설명서입니다. " * 25])
    assert "question → passage" in out["notice"]
    roles = {c["name"]: c["doc_role"] for c in tiny.collections()}
    assert roles["manuals"] == "asymmetric"
    assert "notice" not in tiny.add("manuals", ["짧은 안내"])
    tiny.create_collection("fixed", role="symmetric")
    assert "notice" not in tiny.add("fixed", ["청소기 설명서입니다. " * 25])
    assert {c["name"]: c["doc_role"] for c in tiny.collections()}["fixed"] == "symmetric"


def test_errors_are_yusa_errors_with_the_servers_status(tiny):
    with pytest.raises(yusa.YusaError) as e:
        tiny.search("nope", "x")
    assert (e.value.status, e.value.kind) == (404, "not_found")
    tiny.create_collection("c")
    with pytest.raises(yusa.YusaError) as e:
        tiny.create_collection("c")
    assert e.value.status == 409
    with pytest.raises(yusa.YusaError) as e:
        tiny.search("c", "x", k=0)
    assert e.value.status == 400
    with pytest.raises(yusa.YusaError) as e:
        tiny.search("c", "x", bogus=1)
    assert e.value.status == 400 and "bogus" in e.value.detail
    with pytest.raises(yusa.YusaError) as e:
        tiny.add("c", [{"text": "가" * 400_000}])
    assert e.value.status == 413
    with pytest.raises(yusa.YusaError) as e:
        tiny.embed(["x"], role="nope")
    assert e.value.status == 400


def test_calls_release_the_gil(tiny):
    """Two threads embedding at once finish, and Python keeps running meanwhile."""
    texts = ["문장 %d 입니다" % i for i in range(400)]
    results = []
    ticks = []

    def work():
        results.append(tiny.embed(texts))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        ticks.append(1)
    for t in threads:
        t.join()
    assert len(results) == 2 and np.allclose(results[0], results[1])
    assert len(ticks) > 10, "the main thread ran while the engine worked"
