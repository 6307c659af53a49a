"""A LangChain retriever over yusa's hybrid search (``pip install yusa[langchain]``).

    from yusa import Engine
    from yusa.langchain import YusaRetriever
    retriever = YusaRetriever(yusa=Engine("index"), collection="manuals", k=4)
    docs = retriever.invoke("필터는 언제 교체하나요?")

``yusa`` is an :class:`yusa.Engine` or a :class:`yusa.Client`. Each hit becomes a ``Document`` whose
``page_content`` is the matched passage of a long document (else the whole text) and whose metadata
holds yusa's id, scores and the document's own metadata.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict


class YusaRetriever(BaseRetriever):
    """Retrieves from a yusa collection with hybrid (BM25 + dense) search."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    yusa: Any
    """An :class:`yusa.Engine` or :class:`yusa.Client`."""
    collection: str
    k: int = 4
    mode: str = "hybrid"
    filter: Optional[Dict[str, Any]] = None
    """Metadata conditions, as the HTTP API takes them."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> List[Document]:
        resp = self.yusa.search(self.collection, query, k=self.k, mode=self.mode, filter=self.filter)
        out = []
        for h in resp["hits"]:
            passage = h.get("passage")
            meta: Dict[str, Any] = dict(h.get("metadata") or {})
            meta.update(
                {
                    "id": h["id"],
                    "score": h["score"],
                    "score_kind": h["score_kind"],
                    "cosine": h.get("cosine"),
                    "bm25": h.get("bm25"),
                    "matched_terms": h.get("matched_terms", []),
                }
            )
            if passage:
                meta["passage_start"] = passage["start"]
                meta["passage_end"] = passage["end"]
            out.append(Document(page_content=passage["text"] if passage else h["text"], metadata=meta, id=h["id"]))
        return out
