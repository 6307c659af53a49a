"""Single-client latency of a running `yusa serve` over one kept-alive connection: POST /embed and a
hybrid search (k = 10) on COLLECTION, N requests each after 10 to warm up, five demo-style queries in
turn; prints p50 / p95. Usage: http_latency.py PORT N [COLLECTION=chatbot]"""
import http.client
import json
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
collection = sys.argv[3] if len(sys.argv) > 3 else "chatbot"
qs = ["친구랑 싸웠는데 어떻게 화해하지", "시험을 완전히 망쳤어", "헤어진 여자친구가 자꾸 생각나",
      "오늘 날씨가 너무 좋다", "배고픈데 뭐 먹지"]


def run(path, body):
    c = http.client.HTTPConnection("127.0.0.1", port)
    ts = []
    for i in range(n + 10):
        b = json.dumps(body(qs[i % len(qs)]))
        t = time.perf_counter()
        c.request("POST", path, b, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
        ts.append((time.perf_counter() - t) * 1e3)
    ts = sorted(ts[10:])
    return ts[len(ts) // 2], ts[int(len(ts) * 0.95)]


print("embed p50 %.1f ms p95 %.1f ms" % run("/embed", lambda q: {"inputs": q}))
print("hybrid search p50 %.1f ms p95 %.1f ms"
      % run(f"/collections/{collection}/search", lambda q: {"query": q, "k": 10}))
