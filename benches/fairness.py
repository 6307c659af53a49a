"""Search latency while another client ingests ~6 MB, against search latency alone, in one run.

Starts `yusa serve` (the default model) on a free loopback port with a fresh index, adds 200 short
NSMC reviews, measures hybrid-search latency alone, then again while one client POSTs 1,000 documents
of ~6 KB each (one request: the bulk lane) — the case where a search used to wait 94 s.

Usage: python3 benches/fairness.py [NSMC_GZ]   (after `make model`; prints the figures)
"""
import gzip, json, os, socket, subprocess, sys, tempfile, threading, time, urllib.request

nsmc = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/nsmc/nsmc_reviews.tsv.gz"
reviews = []
with gzip.open(nsmc, "rt", encoding="utf-8") as f:
    next(f)
    for line in f:
        r = line.rstrip("\n").split("\t")[-1].strip()
        if len(r) >= 10:
            reviews.append(r)
        if len(reviews) == 20000:
            break

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
index = tempfile.mkdtemp()
server = subprocess.Popen(["target/release/yusa", "serve", "--addr", f"127.0.0.1:{port}", "--index-dir", index,
                           "--no-cross-encoder"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}"


def call(path, body=None, timeout=600):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


try:
    for _ in range(600):
        try:
            call("/health"); break
        except Exception:
            time.sleep(0.1)
    call("/collections", {"name": "b"})
    call("/collections/b/documents", {"documents": [{"text": t} for t in reviews[:200]]})

    def searches(n, out, stop=None):
        i = 0
        while (stop is None and i < n) or (stop is not None and not stop.is_set()):
            t0 = time.perf_counter()
            call("/collections/b/search", {"query": reviews[1000 + i % 500], "k": 10})
            out.append((time.perf_counter() - t0) * 1000)
            i += 1
            time.sleep(0.2)

    alone = []
    searches(30, alone)
    big = []
    k = 2000
    for _ in range(1000):
        text = ""
        while len(text.encode()) < 6000:
            text += reviews[k % len(reviews)] + " "; k += 1
        big.append({"text": text})
    mb = len(json.dumps({"documents": big}, ensure_ascii=False).encode()) / 1e6
    during, stop = [], threading.Event()
    t = threading.Thread(target=searches, args=(0, during, stop)); t.start()
    t0 = time.perf_counter()
    call("/collections/b/documents", {"documents": big}, timeout=3600)
    ingest_s = time.perf_counter() - t0
    stop.set(); t.join()

    def pct(xs, p):
        xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))]
    print(f"ingest of {mb:.1f} MB (1,000 documents) took {ingest_s:.1f} s")
    print(f"search alone:         n={len(alone)} p50 {pct(alone, .5):.0f} ms, p95 {pct(alone, .95):.0f} ms, max {max(alone):.0f} ms")
    print(f"search during ingest: n={len(during)} p50 {pct(during, .5):.0f} ms, p95 {pct(during, .95):.0f} ms, max {max(during):.0f} ms")
finally:
    server.terminate(); server.wait(timeout=30)
