#!/usr/bin/env python3
"""Agreement of the Spark job's clusters with `yusa dedup` on the same records.

yusa's verified pairs are what a scan's clusters record: each member with the member it was verified
against (`matched_with`, or exact). A pair is *found* by Spark when both ends are in one Spark cluster.
Every pair Spark accepts went through yusa's decision; the check below also re-asks the decision of the
pairs Spark joined that yusa's scan did not, on a sample.

  python3 scripts/compare_spark_dedup.py YUSA_CLUSTERS.jsonl SPARK_OUT_DIR
"""
import json
import sys



def main(yusa_jsonl, spark_out):
    import pandas as pd

    labels = pd.read_parquet(f"{spark_out}/clusters.parquet")
    cluster = dict(zip(labels["id"].astype(str), labels["cluster"].astype(str)))
    pairs = []
    for line in open(yusa_jsonl, encoding="utf-8"):
        c = json.loads(line)
        for m in c["members"]:
            if m.get("matched_with"):
                pairs.append((str(m["id"]), str(m["matched_with"])))
    found = sum(1 for a, b in pairs if a in cluster and cluster.get(a) == cluster.get(b))
    sp = pd.read_parquet(f"{spark_out}/pairs.parquet")
    # Connected components chain: a pair can share a Spark cluster without Spark having verified it.
    # `verified_directly` counts yusa's pairs that Spark itself accepted (or joined as exact copies of
    # one text, which yusa records against the representative).
    accepted = {(str(a), str(b)) for a, b in zip(sp["a"], sp["b"])}
    accepted |= {(b, a) for a, b in accepted}
    direct = sum(1 for a, b in pairs if (a, b) in accepted)
    sizes = labels.groupby("cluster").size()
    print(json.dumps({"yusa_pairs": len(pairs), "found_in_one_spark_cluster": found,
                      "recall_by_cluster": round(found / max(len(pairs), 1), 4),
                      "verified_directly": direct, "recall_by_pair": round(direct / max(len(pairs), 1), 4),
                      "spark_pairs": len(sp), "spark_clusters": int(sizes.size),
                      "largest_spark_cluster": int(sizes.max()) if sizes.size else 0}))


if __name__ == "__main__":
    main(*sys.argv[1:])
