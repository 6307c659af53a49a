#!/usr/bin/env python3
"""Agreement of the Spark job's clusters with `yusa dedup` on the same records.

yusa's verified pairs are what a scan's clusters record: each member with the member it was verified
against (`matched_with`: the cluster's anchor; the anchor's is the representative). A pair is *found in
one Spark cluster* when both ends share a Spark cluster (the job's clusters are stars like the scan's, so
this no longer counts chains) and *found directly* when Spark itself decided that pair. Pairs Spark
accepted whose ends the scan did not put together are asked again, one by one, of yusa's decision
(`Engine.star_clusters` on the two texts, as a scan verifies): none of them may be a pair yusa rejects.

  python3 scripts/compare_spark_dedup.py YUSA_CLUSTERS.jsonl SPARK_OUT_DIR \
      [--input reviews.tsv --text-column review --id-column review_id --models-dir models]
"""
import argparse
import csv
import gzip
import json
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("yusa_jsonl")
    ap.add_argument("spark_out")
    ap.add_argument("--input", help="the records both ran on, to re-ask Spark-only pairs")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--id-column", default="id")
    ap.add_argument("--models-dir", default="models")
    a = ap.parse_args()
    import pandas as pd

    labels = pd.read_parquet(f"{a.spark_out}/clusters.parquet")
    cluster = dict(zip(labels["id"].astype(str), labels["cluster"].astype(str)))
    pairs, yusa_cluster, yusa_sets = [], {}, []
    for line in open(a.yusa_jsonl, encoding="utf-8"):
        c = json.loads(line)
        yusa_sets.append(frozenset(str(m["id"]) for m in c["members"]))
        for m in c["members"]:  # the representative included (role "representative")
            yusa_cluster[str(m["id"])] = str(c["anchor"])
            if m.get("matched_with"):
                pairs.append((str(m["id"]), str(m["matched_with"])))
    found = sum(1 for x, y in pairs if x in cluster and cluster.get(x) == cluster.get(y))
    sp = pd.read_parquet(f"{a.spark_out}/pairs.parquet")
    spark_pairs = [(str(x), str(y), r) for x, y, r in zip(sp["a"], sp["b"], sp["reason"])]
    accepted = {(x, y) for x, y, _ in spark_pairs} | {(y, x) for x, y, _ in spark_pairs}
    direct = sum(1 for x, y in pairs if (x, y) in accepted)
    spark_sets = {frozenset(g) for g in labels.groupby("cluster")["id"].apply(lambda s: [str(i) for i in s])}
    same_clusters = sum(1 for s in yusa_sets if s in spark_sets)
    apart = [(x, y, r) for x, y, r in spark_pairs
             if not (x in yusa_cluster and yusa_cluster.get(x) == yusa_cluster.get(y))]
    out = {"yusa_pairs": len(pairs), "found_in_one_spark_cluster": found,
           "recall_by_cluster": round(found / max(len(pairs), 1), 4),
           "found_directly": direct, "recall_by_pair": round(direct / max(len(pairs), 1), 4),
           "yusa_clusters": len(yusa_sets), "spark_clusters": len(spark_sets),
           "identical_clusters": same_clusters,
           "largest_spark_cluster": int(labels.groupby("cluster").size().max()) if len(labels) else 0,
           "spark_pairs": len(spark_pairs), "spark_pairs_not_together_in_yusa": len(apart)}
    if a.input and apart:
        import yusa

        opener = gzip.open if a.input.endswith(".gz") else open
        with opener(a.input, "rt", encoding="utf-8") as f:
            text = {r[a.id_column]: r[a.text_column]
                    for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
        engine = yusa.Engine(tempfile.mkdtemp(), a.models_dir)
        rejected = []
        for x, y, r in apart:
            if r == "exact":
                same = yusa.exact_key(text[x]) == yusa.exact_key(text[y])
            else:
                v = engine.embed([text[x], text[y]])
                same = bool(engine.star_clusters([text[x], text[y]], v, [(0, 1)]))
            if not same:
                rejected.append((x, y, text[x], text[y]))
        out["spark_only_pairs_yusa_rejects"] = len(rejected)
        out["rejected_examples"] = rejected[:10]
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
