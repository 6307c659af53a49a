"""One JSON call to a running `yusa serve` on this machine, for the report scripts that go through the
product's own HTTP doors (faq_check_report.py, http_retrieval_report.py)."""
import json
import urllib.request


def call(port, method, path, body=None, timeout=3600):
    """`method` `path` with `body` as JSON; the decoded JSON answer (an HTTP error raises HTTPError)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
        headers={"content-type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)
