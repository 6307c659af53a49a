"""The one exception of the package, raised alike by the engine and the HTTP client."""

from __future__ import annotations


class YusaError(Exception):
    """An error as yusa reports it: the HTTP status (400, 404, 409, 413, 503, …), a short kind
    (``bad_request``, ``not_found``, …) and the message."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(f"{kind} ({status}): {detail}")
        self.status = status
        self.kind = kind
        self.detail = detail
