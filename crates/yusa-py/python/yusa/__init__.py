"""yusa for Python: Korean semantic search and near-duplicate detection.

Two ways in, with the same methods and the same answers:

- :class:`Engine` runs yusa's Rust engine in this process over an index folder (or a PostgreSQL
  store): the models load once, every call releases the GIL.
- :class:`Client` talks to a running ``yusa serve`` over HTTP (API keys included).

Answers are the HTTP API's JSON as Python dicts and lists; errors raise :class:`YusaError` with the
server's status, kind and message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _yusa
from .client import Client
from .errors import YusaError

__all__ = ["Engine", "Client", "YusaError", "Document", "exact_key", "shingles", "comparable_lengths"]

exact_key = _yusa.exact_key
shingles = _yusa.shingles
comparable_lengths = _yusa.comparable_lengths
minhash_bands = _yusa.minhash_bands
jaccard = _yusa.jaccard

#: A document to add: a text, or ``{"text": ..., "id": ..., "metadata": {...}}``.
Document = Union[str, Mapping[str, Any]]


def _documents(docs: Iterable[Document]) -> List[Dict[str, Any]]:
    out = []
    for d in docs:
        out.append({"text": d} if isinstance(d, str) else dict(d))
    return out


def _native(call, *args):
    try:
        return call(*args)
    except _yusa.EngineError as e:
        status, kind, detail = e.args
        raise YusaError(status, kind, detail) from None


def _json(call, *args):
    out = _native(call, *args)
    return None if out is None else json.loads(out)


def _drop_none(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class Engine:
    """yusa's engine over ``index_dir`` with the models under ``models_dir`` (as ``yusa serve`` runs).

    ``model``, ``cross_encoder`` and ``duplicate_model`` name a model under ``models_dir`` or give a
    path; by default the shipped ones are used when present. ``store`` is a PostgreSQL URL instead of
    the folder.
    """

    def __init__(
        self,
        index_dir: Union[str, Path] = "index",
        models_dir: Union[str, Path] = "models",
        *,
        model: Optional[str] = None,
        cross_encoder: Optional[str] = None,
        no_cross_encoder: bool = False,
        duplicate_model: Optional[str] = None,
        no_duplicate_model: bool = False,
        precision: str = "int8",
        store: Optional[str] = None,
        rerank_search: bool = False,
    ) -> None:
        self._e = _native(
            _yusa.NativeEngine,
            str(index_dir),
            str(models_dir),
            model,
            cross_encoder,
            no_cross_encoder,
            duplicate_model,
            no_duplicate_model,
            precision,
            store,
            rerank_search,
        )

    # Collections -------------------------------------------------------------------------------
    def models(self) -> Dict[str, Any]:
        return _json(self._e.models)

    def collections(self) -> List[Dict[str, Any]]:
        return _json(self._e.collections)

    def create_collection(self, name: str, *, role: Optional[str] = None) -> Dict[str, Any]:
        """``role``: ``"symmetric"`` (similar texts, duplicates) or ``"asymmetric"`` (questions →
        passages); ``None`` (or ``"auto"``): the first documents added decide, as ``yusa index`` does
        (a median of 200 characters or more: asymmetric), and that ``add`` says so in ``notice``."""
        return _json(self._e.create_collection, name, role)

    def drop_collection(self, name: str) -> None:
        _native(self._e.drop_collection, name)

    # Documents ---------------------------------------------------------------------------------
    def add(
        self, collection: str, documents: Iterable[Document], *, on_duplicate: str = "allow"
    ) -> Dict[str, Any]:
        """Adds or upserts documents (``POST /collections/{name}/documents``); ``on_duplicate``:
        ``allow``, ``flag`` (store and report) or ``skip`` (report, do not store)."""
        body = {"documents": _documents(documents), "on_duplicate": on_duplicate}
        return _json(self._e.add, collection, json.dumps(body, ensure_ascii=False))

    def index(
        self,
        collection: str,
        documents: Iterable[Document],
        *,
        role: Optional[str] = None,
        batch: int = 256,
    ) -> Dict[str, Any]:
        """A bulk load, as ``yusa index``: creates the collection (its role from the documents'
        lengths unless given), skips empty texts and unchanged documents."""
        docs = json.dumps(_documents(documents), ensure_ascii=False)
        return _json(self._e.index, collection, docs, role, batch)

    def get(self, collection: str, id: str) -> Optional[Dict[str, Any]]:
        return _json(self._e.get, collection, id)

    def count(self, collection: str) -> int:
        return _native(self._e.count, collection)

    def delete(self, collection: str, id: str) -> bool:
        return _native(self._e.delete, collection, id)

    # Search and duplicates ---------------------------------------------------------------------
    def search(self, collection: str, query: str, *, k: int = 10, mode: str = "hybrid", **options: Any) -> Dict[str, Any]:
        """``POST /collections/{name}/search``: ``{hits, mode, reranked, notice?, took_ms}``. Other
        options (``filter``, ``fusion``, ``candidates``, ``ef_search``, …) as the HTTP API takes them."""
        body = _drop_none({"query": query, "k": k, "mode": mode, **options})
        return _json(self._e.search, collection, json.dumps(body, ensure_ascii=False))

    def check(self, collection: str, texts: Sequence[str], **options: Any) -> Dict[str, Any]:
        """Which stored documents each text duplicates (``POST …/duplicates/check``)."""
        body = _drop_none({"texts": list(texts), **options})
        return _json(self._e.check, collection, json.dumps(body, ensure_ascii=False))

    def scan(self, collection: str, **options: Any) -> Dict[str, Any]:
        """Clusters of near-duplicates in a collection, run to the end: ``{report, clusters}``."""
        return _json(self._e.scan, collection, json.dumps(_drop_none(options), ensure_ascii=False))

    def similarity(self, pairs: Sequence[Tuple[str, str]], **options: Any) -> Dict[str, Any]:
        """Scores and the duplicate decision with its reason per pair (``POST /similarity``)."""
        body = _drop_none({"pairs": [list(p) for p in pairs], **options})
        return _json(self._e.similarity, json.dumps(body, ensure_ascii=False))

    def thresholds(self, collection: Optional[str] = None) -> Dict[str, Any]:
        """The duplicate thresholds a collection's scans use (the server's defaults without one)."""
        return _json(self._e.thresholds, collection)

    def star_clusters(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        candidates: Sequence[Tuple[int, int]],
        *,
        role: str = "query",
    ) -> List[Tuple[int, List[Tuple[int, str]]]]:
        """Star clusters of one group of candidate pairs, verified as ``scan`` verifies its own (the
        scan's cross-encoder floor, the given vectors instead of embedding again): for batch jobs that
        find their candidates themselves. ``texts`` earliest first (the earliest unclustered text
        gathers a star), ``vectors`` their unit embeddings ``(len(texts), dim)``, ``candidates`` index
        pairs. Returns ``[(representative, [(member, reason), ...]), ...]`` for stars of two or more."""
        v = np.ascontiguousarray(vectors, dtype="<f4")
        if v.ndim != 2 or v.shape[0] != len(texts):
            raise YusaError(400, "bad_request", f"vectors of shape {v.shape} for {len(texts)} texts")
        return _native(self._e.star_clusters, list(texts), v.tobytes(), int(v.shape[1]),
                       [(int(a), int(b)) for a, b in candidates], role)

    def embed(self, texts: Sequence[str], *, role: str = "query") -> np.ndarray:
        """Unit-length embeddings, shape ``(len(texts), dim)``, float32."""
        raw, rows, dim = _native(self._e.embed, list(texts), role)
        return np.frombuffer(raw, dtype="<f4").reshape(rows, dim).copy()
