"""A small HTTP client for a running ``yusa serve``, with the methods of :class:`yusa.Engine`."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import YusaError

Document = Union[str, Mapping[str, Any]]


class Client:
    """``Client("http://127.0.0.1:8080", api_key=...)``: every call raises :class:`YusaError` with the
    server's status and message on a 4xx/5xx answer."""

    def __init__(self, url: str = "http://127.0.0.1:8080", *, api_key: Optional[str] = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("accept", "application/json")
        if data is not None:
            req.add_header("content-type", "application/json")
        if self.api_key:
            req.add_header("authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                b = json.loads(raw)
                raise YusaError(e.code, b.get("error", "error"), b.get("detail", "")) from None
            except ValueError:
                raise YusaError(e.code, "error", raw.decode(errors="replace")) from None
        return json.loads(raw) if raw else None

    @staticmethod
    def _q(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def models(self) -> Dict[str, Any]:
        return self._call("GET", "/info")["models"]

    def collections(self) -> List[Dict[str, Any]]:
        return self._call("GET", "/collections")["collections"]

    def create_collection(self, name: str, *, role: Optional[str] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"name": name}
        if role not in (None, "auto"):
            if role not in ("symmetric", "asymmetric"):
                raise ValueError(f"role must be auto, symmetric or asymmetric, not `{role}`")
            body["asymmetric"] = role == "asymmetric"
        return self._call("POST", "/collections", body)

    def drop_collection(self, name: str) -> None:
        self._call("DELETE", f"/collections/{self._q(name)}")

    def add(self, collection: str, documents: Iterable[Document], *, on_duplicate: str = "allow") -> Dict[str, Any]:
        docs = [{"text": d} if isinstance(d, str) else dict(d) for d in documents]
        return self._call("POST", f"/collections/{self._q(collection)}/documents", {"documents": docs, "on_duplicate": on_duplicate})

    def get(self, collection: str, id: str) -> Optional[Dict[str, Any]]:
        try:
            return self._call("GET", f"/collections/{self._q(collection)}/documents/{self._q(id)}")
        except YusaError as e:
            if e.status == 404 and "document" in e.detail:
                return None
            raise

    def count(self, collection: str) -> int:
        return self._call("GET", f"/collections/{self._q(collection)}/documents?offset=0&limit=1")["total"]

    def delete(self, collection: str, id: str) -> bool:
        try:
            self._call("DELETE", f"/collections/{self._q(collection)}/documents/{self._q(id)}")
            return True
        except YusaError as e:
            if e.status == 404:
                return False
            raise

    def search(self, collection: str, query: str, *, k: int = 10, mode: str = "hybrid", **options: Any) -> Dict[str, Any]:
        body = {k_: v for k_, v in {"query": query, "k": k, "mode": mode, **options}.items() if v is not None}
        return self._call("POST", f"/collections/{self._q(collection)}/search", body)

    def check(self, collection: str, texts: Sequence[str], **options: Any) -> Dict[str, Any]:
        body = {k_: v for k_, v in {"texts": list(texts), **options}.items() if v is not None}
        return self._call("POST", f"/collections/{self._q(collection)}/duplicates/check", body)

    def similarity(self, pairs: Sequence[Tuple[str, str]], **options: Any) -> Dict[str, Any]:
        body = {k_: v for k_, v in {"pairs": [list(p) for p in pairs], **options}.items() if v is not None}
        return self._call("POST", "/similarity", body)

    def embed(self, texts: Sequence[str], *, role: str = "query") -> np.ndarray:
        if role != "query":
            raise YusaError(400, "bad_request", "the HTTP /embed route embeds queries only")
        return np.asarray(self._call("POST", "/embed", {"inputs": list(texts)}), dtype=np.float32)
