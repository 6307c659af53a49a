"""Search-benchmark queries: 300 NSMC reviews (5+ characters) from after the first N + 1000, so none
is in a collection indexed from the first N. Usage: nsmc_queries.py NSMC_GZ N > queries.txt"""
import gzip
import sys

n = int(sys.argv[2])
out = []
with gzip.open(sys.argv[1], 'rt', encoding='utf-8') as f:
    next(f)
    for i, line in enumerate(f):
        if i < n + 1000:
            continue
        r = line.rstrip('\n').split('\t')[-1].strip()
        if len(r) >= 5:
            out.append(r)
        if len(out) == 300:
            break
print('\n'.join(out))
