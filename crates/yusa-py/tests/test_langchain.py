"""yusa as a LangChain retriever, through langchain-core's own interface."""

from __future__ import annotations

import pytest

pytest.importorskip("langchain_core")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402

from yusa.langchain import YusaRetriever  # noqa: E402


def test_the_retriever_returns_yusas_hits(tiny):
    tiny.create_collection("faq")
    tiny.add("faq", [{"id": "pw", "text": "비밀번호를 잊어버렸어요", "metadata": {"topic": "account"}},
                     {"id": "ship", "text": "배송은 얼마나 걸리나요?"}])
    long = "".join(f"{i}절. 기기 설정 방법을 차례로 설명합니다. " for i in range(40)) + "마지막 절. 필터는 석 달마다 교체하세요."
    tiny.add("faq", [{"id": "manual", "text": long}])
    r = YusaRetriever(yusa=tiny, collection="faq", k=2, mode="lexical")
    assert isinstance(r, BaseRetriever)
    docs = r.invoke("비밀번호 찾기")
    assert all(isinstance(d, Document) for d in docs)
    want = [h["id"] for h in tiny.search("faq", "비밀번호 찾기", k=2, mode="lexical")["hits"]]
    assert [d.metadata["id"] for d in docs] == want and want[0] == "pw"
    assert docs[0].page_content == "비밀번호를 잊어버렸어요" and docs[0].metadata["topic"] == "account"
    # A long document comes back as its matched passage, with where it lies.
    d = r.invoke("필터 교체")[0]
    assert d.metadata["id"] == "manual" and "필터는 석 달마다" in d.page_content
    assert len(d.page_content) <= 500 and d.metadata["passage_end"] == len(long)
    # Filters pass through.
    r = YusaRetriever(yusa=tiny, collection="faq", k=5, mode="lexical", filter={"topic": "account"})
    assert [d.metadata["id"] for d in r.invoke("비밀번호")] == ["pw"]
