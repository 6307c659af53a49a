"""Batch near-duplicate detection on Spark, with yusa's models and decision.

    spark-submit --master "local[2]" "$(python -c 'import yusa.spark as m; print(m.__file__)')" \
        --input reviews.tsv --text-column review --id-column review_id --out clusters --models-dir models

or from Python: ``yusa.spark.dedup(spark, df, models_dir="models")``.

How it works, one stage per step, every step inside Spark:

1. Each executor loads yusa's bi-encoder once (a per-process engine) and embeds its partitions; each text
   also gets yusa's exact-duplicate key.
2. Exact duplicates group by key; one representative per key goes on.
3. Candidates, both bucketed by Spark: dense ones from an inverted-file index (Spark ML k-means centroids,
   each record under its 3 nearest, an exact search inside each cell; each record keeps its `neighbours`
   nearest at or above the scan's cross-encoder floor) and lexical ones from yusa's own MinHash band keys
   (Jaccard ≥ yusa's candidate threshold) — the two lists a ``yusa dedup`` scan draws from.
4. Each candidate pair is verified by yusa's decision (``Engine.similarity``: the STS cross-encoder or
   the duplicate model, with the polarity findings), executors loading the models once.
5. Clusters are the connected components of the verified and exact pairs, found by min-label
   propagation with DataFrame joins; a cluster's id is its smallest member id.

Deterministic for a given input: the sample and k-means seeds are fixed and every tie is broken by id.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from typing import Iterator, Optional, Tuple

_ENGINES = {}


def _engine(models_dir: str, pairs: bool, options: Optional[dict] = None):
    """One engine per executor process (and per kind): the models load once, not per task."""
    key = (models_dir, pairs, json.dumps(options or {}, sort_keys=True))
    if key not in _ENGINES:
        import yusa

        kw = dict(options or {})
        if not pairs:
            kw.update(no_cross_encoder=True, no_duplicate_model=True)
        _ENGINES[key] = yusa.Engine(tempfile.mkdtemp(prefix="yusa-spark-"), models_dir, **kw)
    return _ENGINES[key]


def _embed_partition(rows: Iterator, models_dir: str, options: Optional[dict]) -> Iterator[Tuple]:
    import yusa
    from pyspark.ml.linalg import Vectors

    engine = _engine(models_dir, False, options)
    batch = []

    def flush():
        vecs = engine.embed([t for _, t in batch])
        for (i, t), v in zip(batch, vecs):
            yield (i, t, yusa.exact_key(t), Vectors.dense(v.tolist()))

    for r in rows:
        batch.append((r[0], r[1]))
        if len(batch) == 512:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def _file_under(rows: Iterator, centres, probes: int) -> Iterator[Tuple[int, Tuple[str, bytes]]]:
    """Each record under its `probes` nearest centroids (by cosine)."""
    import numpy as np

    c = np.asarray(centres, dtype=np.float32)
    c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    batch = []

    def flush():
        v = np.stack([x for _, x in batch])
        top = np.argsort(-(v @ c.T), axis=1)[:, :probes]
        for (i, x), cells in zip(batch, top):
            for cell in cells:
                yield int(cell), (i, x.tobytes())

    for r in rows:
        batch.append((r["id"], r["vec"].toArray().astype(np.float32)))
        if len(batch) == 4096:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def _cell_neighbours(members, floor: float, k: int) -> Iterator[Tuple[str, str]]:
    """Within one cell: each record's `k` nearest at or above `floor`, as (smaller id, larger id)."""
    import numpy as np

    members = sorted(set(members))
    if len(members) < 2:
        return
    ids = [m[0] for m in members]
    v = np.stack([np.frombuffer(m[1], dtype=np.float32) for m in members])
    for start in range(0, len(ids), 2048):
        sims = v[start:start + 2048] @ v.T
        for row, i in enumerate(range(start, min(start + 2048, len(ids)))):
            sims[row, i] = -1.0
            cand = np.flatnonzero(sims[row] >= floor)
            if len(cand) > k:
                cand = cand[np.argsort(-sims[row, cand], kind="stable")[:k]]
            for j in cand:
                a, b = ids[i], ids[j]
                yield (a, b) if a < b else (b, a)


def _bands_of(rows: Iterator) -> Iterator[Tuple[str, int, int]]:
    import yusa

    for r in rows:
        for band, key in enumerate(yusa.minhash_bands(r["text"])):
            yield (r["id"], band, key)


def _verify_partition(rows: Iterator, models_dir: str, options: Optional[dict]) -> Iterator[Tuple]:
    import yusa

    engine = _engine(models_dir, True, options)
    batch = []

    def flush():
        out = engine.similarity([(a_t, b_t) for _, a_t, _, b_t in batch])
        for (a, _, b, _), d in zip(batch, out["decisions"]):
            if d["is_duplicate"]:
                yield (a, b, d["reason"])

    for r in rows:
        if yusa.comparable_lengths(r["at"], r["bt"]):
            batch.append((r["a"], r["at"], r["b"], r["bt"]))
        if len(batch) == 256:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def dedup(spark, df, *, text_col: str = "text", id_col: str = "id", models_dir: str = "models",
          partitions: Optional[int] = None, max_iterations: int = 30,
          engine_options: Optional[dict] = None, probes: int = 3):
    """Returns ``(clusters, pairs, report)``: clusters ``(id, cluster)`` for every record in a cluster of
    two or more, the verified pairs ``(a, b, reason)`` (exact ones with reason ``exact``), and counts.
    ``engine_options`` are :class:`yusa.Engine` keyword arguments (``model=``, ``cross_encoder=``, …)."""
    opts = dict(engine_options or {})
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    import yusa

    # The driver's own engine, for the thresholds only (not cached: the tasks' closures must not carry it).
    th = yusa.Engine(tempfile.mkdtemp(prefix="yusa-spark-"), models_dir,
                     **{**opts, "no_cross_encoder": True, "no_duplicate_model": True}).thresholds()
    n = partitions or spark.sparkContext.defaultParallelism
    base = (df.select(F.col(id_col).cast("string").alias("id"), F.col(text_col).cast("string").alias("text"))
            .where(F.col("text").isNotNull() & (F.length(F.trim("text")) > 0))
            .repartition(n, "id"))
    from pyspark.ml.linalg import VectorUDT

    schema = StructType([
        StructField("id", StringType()), StructField("text", StringType()), StructField("key", StringType()),
        StructField("vec", VectorUDT()),
    ])
    emb = spark.createDataFrame(
        base.rdd.mapPartitions(lambda rows: _embed_partition(rows, models_dir, opts)), schema
    ).persist()
    records = emb.count()

    # 2. Exact duplicates: each member to the smallest id of its key.
    first = emb.groupBy("key").agg(F.min("id").alias("rep"))
    keyed = emb.join(first, "key")
    exact = keyed.where(F.col("id") != F.col("rep")).select(F.col("rep").alias("a"), F.col("id").alias("b"),
                                                           F.lit("exact").alias("reason"))
    reps = keyed.where(F.col("id") == F.col("rep")).select("id", "text", "vec").persist()

    # 3. Candidates, dense and lexical, bucketed by Spark.
    #    Dense: an inverted-file index built by Spark: k-means centroids (Spark ML, on a sample), each record
    #    filed under its `probes` nearest centroids, and within each cell an exact nearest-neighbour search
    #    (numpy, one task per cell group). e5's vectors lie in a narrow cone (unrelated Korean sentences
    #    have cosines around 0.7–0.8), which defeats random-projection LSH: Spark ML's
    #    BucketedRandomProjectionLSH put nearly every pair of 100k reviews in one bucket, and sign-bit
    #    bands on centred vectors found 73% of a scan's pairs on 2,000 reviews. Each record keeps its
    #    `neighbours` nearest at or above the scan's cross-encoder floor, as a scan does.
    from pyspark.ml.clustering import KMeans
    from pyspark.sql.window import Window

    floor = th.get("scan_cross_encoder_from") or th["candidate_cosine"]
    n_reps = reps.count()
    cells = max(1, int(math.sqrt(n_reps)))
    sample = reps.sample(fraction=min(1.0, 50 * cells / max(n_reps, 1)), seed=7)
    centres = KMeans(featuresCol="vec", k=cells, seed=7, maxIter=10).fit(sample).clusterCenters()
    centres = [c.tolist() for c in centres]
    k_near = th["neighbours"]
    filed = reps.select("id", "vec").rdd.mapPartitions(lambda rows: _file_under(rows, centres, probes))
    near_ids = spark.createDataFrame(
        filed.groupByKey(numPartitions=n * 4).flatMap(lambda cell: _cell_neighbours(cell[1], floor, k_near)),
        "a string, b string",
    )
    #    Lexical: yusa's own MinHash bands (the keys a scan buckets by), grouped by Spark; a bucket of
    #    more than 200 texts is a very common short text, which exact keys already handle (as in a scan).
    bands = reps.select("id", "text").rdd.mapPartitions(_bands_of).toDF("id string, band long, key long")
    lex_raw = (bands.groupBy("band", "key").agg(F.sort_array(F.collect_list("id")).alias("ids"))
               .where(F.size("ids").between(2, 200))
               .select(F.explode(F.expr("transform(sequence(0, size(ids) - 2), i -> "
                                        "transform(slice(ids, i + 2, size(ids)), y -> struct(ids[i] as a, y as b)))")).alias("row"))
               .select(F.explode("row").alias("p")).select("p.a", "p.b").dropDuplicates(["a", "b"]))
    texts = reps.select("id", "text")
    jac = F.udf(lambda x, y: float(yusa.jaccard(x, y)), "double")
    lexical = (lex_raw.join(texts.toDF("a", "at0"), "a").join(texts.toDF("b", "bt0"), "b")
               .where(jac("at0", "bt0") >= th["candidate_jaccard"]).select("a", "b"))
    side = reps.select("id", "text", "vec")
    dot = F.udf(lambda u, v: float(u.dot(v)), "double")
    scored = (near_ids.unionByName(lexical).dropDuplicates(["a", "b"])
              .join(side.toDF("a", "at", "av"), "a").join(side.toDF("b", "bt", "bv"), "b")
              .withColumn("cos", dot("av", "bv")).where(F.col("cos") >= floor)
              .select("a", "at", "b", "bt", "cos"))
    both_ways = scored.select(F.col("a").alias("x"), "b", "cos").unionByName(
        scored.select(F.col("b").alias("x"), F.col("a").alias("b"), "cos"))
    kept = (both_ways.withColumn("r", F.row_number().over(Window.partitionBy("x").orderBy(F.desc("cos"), "b")))
            .where(F.col("r") <= th["neighbours"])
            .select(F.least("x", "b").alias("a"), F.greatest("x", "b").alias("b")).dropDuplicates(["a", "b"]))
    cands = scored.join(kept, ["a", "b"]).persist()
    n_cands = cands.count()

    # 4. yusa's decision on each candidate pair.
    verified = spark.createDataFrame(
        cands.repartition(n, "a", "b").rdd.mapPartitions(lambda rows: _verify_partition(rows, models_dir, opts)),
        "a string, b string, reason string",
    )
    pairs = verified.unionByName(exact).persist()
    n_pairs = pairs.count()

    # 5. Connected components: every node takes the smallest label among its neighbours until none moves.
    edges = pairs.select("a", "b").unionByName(pairs.select(F.col("b").alias("a"), F.col("a").alias("b")))
    labels = edges.select(F.col("a").alias("id")).distinct().withColumn("cluster", F.col("id"))
    for _ in range(max_iterations):
        nxt = (edges.join(labels.withColumnRenamed("id", "b"), "b")
               .groupBy("a").agg(F.min("cluster").alias("m"))
               .join(labels.withColumnRenamed("id", "a"), "a")
               .select(F.col("a").alias("id"), F.least("cluster", "m").alias("cluster"))
               .localCheckpoint())
        changed = nxt.join(labels.withColumnRenamed("cluster", "old"), "id").where(F.col("cluster") != F.col("old")).count()
        labels = nxt
        if changed == 0:
            break
    report = {"records": records, "candidate_pairs": n_cands, "verified_pairs": n_pairs,
              "clusters": labels.select("cluster").distinct().count(), "thresholds": th}
    return labels, pairs, report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="CSV, TSV (.tsv / .tsv.gz) or Parquet")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--id-column", default="id")
    ap.add_argument("--out", required=True, help="a folder: clusters.parquet, pairs.parquet, report.json")
    ap.add_argument("--models-dir", default="models")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--partitions", type=int, default=None)
    ap.add_argument("--model", default=None, help="bi-encoder under --models-dir (default: the shipped one)")
    ap.add_argument("--cross-encoder", default=None, help="STS cross-encoder (default: the shipped one)")
    a = ap.parse_args(argv)
    options = {k: v for k, v in {"model": a.model, "cross_encoder": a.cross_encoder}.items() if v}
    import sys

    from pyspark.sql import SparkSession

    # Workers run this interpreter (with yusa and numpy) unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = SparkSession.builder.appName("yusa-dedup").getOrCreate()
    if a.input.endswith(".parquet"):
        df = spark.read.parquet(a.input)
    else:
        sep = "\t" if ".tsv" in a.input else ","
        df = spark.read.option("header", True).option("sep", sep).option("quote", "\u0000" if sep == "\t" else '"').csv(a.input)
    if a.limit:
        df = df.orderBy(a.id_column).limit(a.limit)
    import time

    t0 = time.time()
    # Through the importable module, not `__main__`: Spark ships the task functions by reference.
    from yusa import spark as job

    clusters, pairs, report = job.dedup(spark, df, text_col=a.text_column, id_col=a.id_column,
                                    models_dir=os.path.abspath(a.models_dir), partitions=a.partitions,
                                    engine_options=options or None)
    os.makedirs(a.out, exist_ok=True)
    clusters.orderBy("cluster", "id").write.mode("overwrite").parquet(os.path.join(a.out, "clusters.parquet"))
    pairs.orderBy("a", "b").write.mode("overwrite").parquet(os.path.join(a.out, "pairs.parquet"))
    report["seconds"] = round(time.time() - t0, 1)
    report["records_per_second"] = round(report["records"] / max(report["seconds"], 1e-9), 1)
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump(report, f, ensure_ascii=False, indent=2)
    print(json.dumps(report, ensure_ascii=False))
    spark.stop()


if __name__ == "__main__":
    main()
