"""Batch near-duplicate detection on Spark, with yusa's models and decision.

    spark-submit --master "local[2]" "$(python -c 'import yusa.spark as m; print(m.__file__)')" \
        --input reviews.tsv --text-column review --id-column review_id --out clusters --models-dir models

or from Python: ``yusa.spark.dedup(spark, df, models_dir="models")``.

How it works, one stage per step, every step inside Spark; the clusters are made as a ``yusa dedup`` scan
of the same rows (in the same order) makes them — the candidates are found differently, so the two agree
closely, not exactly (docs/results/2026-12-06-spark-dedup.md):

1. Each record gets its place in the input (the scan's "earliest first"); each executor loads yusa's
   bi-encoder once (a per-process engine) and embeds its partitions; each text also gets yusa's
   exact-duplicate key.
2. Exact duplicates group by key; the earliest of each key goes on.
3. Candidates, both bucketed by Spark: dense ones from an inverted-file index (Spark ML k-means centroids,
   √n/4 of them, each record under its 4 nearest, an exact search inside each cell; each record keeps its
   `neighbours` nearest other texts at or above the scan's cross-encoder floor, as a scan takes them) and
   lexical ones from yusa's own MinHash band keys (Jaccard ≥ yusa's candidate threshold) — the two lists
   a scan draws from.
4. The connected components of the candidate pairs, found by min-label propagation with pointer jumping
   (DataFrame joins). A component is where one star clustering can reach, so each is clustered on its
   own, in parallel: earliest record first, each unclustered record gathers its unclustered candidates
   that yusa's decision confirms against it (``Engine.star_clusters``: the scan's verification, with the
   vectors from step 1). Stars, not components, are the clusters: A≈B and B≈C never put A and C together
   unless A≈C (plain connected components of the verified pairs chained 30,552 of 100k reviews into one).
5. A cluster is named by its anchor, the record that gathered it; exact copies join their original's.

Deterministic for a given input: the sample and k-means seeds are fixed and every tie is broken by order.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from typing import Iterator, Optional, Tuple

_ENGINES = {}


def _engine(models_dir: str, options: Optional[dict] = None):
    """One engine per executor process: the models load once, not per task, and the engine that embeds
    is the one that verifies (one copy of the bi-encoder per process)."""
    key = (models_dir, json.dumps(options or {}, sort_keys=True))
    if key not in _ENGINES:
        import yusa

        _ENGINES[key] = yusa.Engine(tempfile.mkdtemp(prefix="yusa-spark-"), models_dir, **(options or {}))
    return _ENGINES[key]


def _embed_partition(rows: Iterator, models_dir: str, options: Optional[dict]) -> Iterator[Tuple]:
    import yusa
    from pyspark.ml.linalg import Vectors

    engine = _engine(models_dir, options)
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


def _file_under(rows: Iterator, centres, probes: int) -> Iterator[Tuple[int, Tuple[int, int, bytes]]]:
    """Each record under its `probes` nearest centroids (by cosine), with its exact original."""
    import numpy as np

    c = np.asarray(centres, dtype=np.float32)
    c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    batch = []

    def flush():
        v = np.stack([x for _, _, x in batch])
        top = np.argsort(-(v @ c.T), axis=1)[:, :probes]
        for (i, rep, x), cells in zip(batch, top):
            for cell in cells:
                yield int(cell), (i, rep, x.tobytes())

    for r in rows:
        batch.append((r["n"], r["rep"], r["vec"].toArray().astype(np.float32)))
        if len(batch) == 4096:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def _cell_neighbours(members, floor: float, k: int) -> Iterator[Tuple[int, int, float]]:
    """Within one cell, for each original (a record that is its own exact original): its `k` nearest
    other originals at or above `floor` — exact copies, its own or a neighbour's, take no place, as in
    a scan — as (record, neighbour's original, cosine)."""
    import numpy as np

    members = sorted(set(members))
    ids = [m[0] for m in members]
    reps = [m[1] for m in members]
    v = np.stack([np.frombuffer(m[2], dtype=np.float32) for m in members])
    queries = [i for i in range(len(ids)) if ids[i] == reps[i]]
    for start in range(0, len(queries), 2048):
        rows = queries[start:start + 2048]
        sims = v[rows] @ v.T
        for row, i in enumerate(rows):
            cand = np.flatnonzero(sims[row] >= floor)
            cand = cand[np.argsort(-sims[row, cand], kind="stable")]
            seen = set()
            for j in cand:
                r = reps[j]
                if r != ids[i] and r not in seen:
                    seen.add(r)
                    yield ids[i], r, float(sims[row, j])
                    if len(seen) == k:
                        break


def _bands_of(rows: Iterator) -> Iterator[Tuple[int, int, int]]:
    import yusa

    for r in rows:
        for band, key in enumerate(yusa.minhash_bands(r["text"])):
            yield (r["n"], band, key)


def _stars_of_component(group, models_dir: str, options: Optional[dict]) -> Iterator[Tuple[int, int, str]]:
    """One component's star clusters by yusa's decision: (anchor, member, reason) per member."""
    import numpy as np

    _, (nodes, edges) = group
    nodes = sorted(nodes)
    if len(nodes) < 2:
        return
    at = {n: i for i, (n, _, _) in enumerate(nodes)}
    vectors = np.stack([np.frombuffer(v, dtype="<f4") for _, _, v in nodes])
    stars = _engine(models_dir, options).star_clusters(
        [t for _, t, _ in nodes], vectors, [(at[a], at[b]) for a, b in edges])
    for rep, members in stars:
        for j, reason in members:
            yield nodes[rep][0], nodes[j][0], reason


class _Clock:
    """Seconds per stage, logged as each ends (progress on a long run) and kept for the report."""

    def __init__(self) -> None:
        import time

        self._now = time.monotonic
        self._last = self._now()
        self.laps = {}

    def lap(self, stage: str, **counts) -> None:
        import logging

        t = self._now()
        self.laps[stage] = round(t - self._last, 1)
        self._last = t
        logging.getLogger("yusa.spark").info("%s in %.1f s %s", stage, self.laps[stage], counts)


def _components(spark, edges, max_iterations: int):
    """(n, component) for every end of `edges` (a, b): the smallest record of its connected component.
    Min-label propagation with pointer jumping (each label replaced by its own label): a path of length
    d settles in about log d rounds instead of d."""
    from pyspark.sql import functions as F

    both = edges.select("a", "b").unionByName(edges.select(F.col("b").alias("a"), F.col("a").alias("b"))).persist()
    labels = both.select(F.col("a").alias("n")).distinct().withColumn("c", F.col("n")).localCheckpoint()
    for _ in range(max_iterations):
        lowest = (both.join(labels.withColumnRenamed("n", "b"), "b").groupBy("a").agg(F.min("c").alias("m"))
                  .withColumnRenamed("a", "n"))
        spread = labels.join(lowest, "n").select("n", F.least("c", "m").alias("c"))
        jumped = (spread.join(spread.select(F.col("n").alias("c"), F.col("c").alias("cc")), "c")
                  .select("n", F.least("c", "cc").alias("c")).localCheckpoint())
        changed = jumped.join(labels.withColumnRenamed("c", "old"), "n").where(F.col("c") != F.col("old")).count()
        labels = jumped
        if changed == 0:
            both.unpersist()
            return labels
    raise RuntimeError(f"connected components did not settle in {max_iterations} rounds")


def dedup(spark, df, *, text_col: str = "text", id_col: str = "id", models_dir: str = "models",
          partitions: Optional[int] = None, max_iterations: int = 60,
          engine_options: Optional[dict] = None, probes: int = 4, cells: Optional[int] = None):
    """Returns ``(clusters, pairs, report)``: clusters ``(id, cluster)`` for every record in a cluster of
    two or more (a cluster is named by its anchor's id: the earliest record, which gathered it), the
    decisions that made them ``(a, b, reason)`` — ``b`` verified against ``a``, its cluster's anchor, or
    an exact copy of ``a`` (reason ``exact``) — and counts. Rows count in the DataFrame's order: the
    earliest of a group gathers it, as in a scan. ``engine_options`` are :class:`yusa.Engine` keyword
    arguments (``model=``, ``cross_encoder=``, …)."""
    opts = dict(engine_options or {})
    clock = _Clock()
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType
    from pyspark.sql.window import Window

    import yusa

    # The driver's own engine, for the thresholds only (not cached: the tasks' closures must not carry it).
    th = yusa.Engine(tempfile.mkdtemp(prefix="yusa-spark-"), models_dir,
                     **{**opts, "no_cross_encoder": True, "no_duplicate_model": True}).thresholds()
    n_parts = partitions or spark.sparkContext.defaultParallelism

    # 1. Order, vectors and exact keys.
    base = (df.select(F.col(id_col).cast("string").alias("id"), F.col(text_col).cast("string").alias("text"))
            .where(F.col("text").isNotNull() & (F.length(F.trim("text")) > 0)))
    ordered = spark.createDataFrame(base.rdd.zipWithIndex().map(lambda r: (r[1], r[0][0], r[0][1])),
                                    "n long, id string, text string").persist()
    schema = StructType([
        StructField("n", LongType()), StructField("text", StringType()), StructField("key", StringType()),
        StructField("vec", VectorUDT()),
    ])
    emb = spark.createDataFrame(
        ordered.select("n", "text").repartition(n_parts, "n").rdd
        .mapPartitions(lambda rows: _embed_partition(rows, models_dir, opts)), schema
    ).persist()
    records = emb.count()
    clock.lap("embedded", records=records)

    # 2. Exact duplicates: each copy to the earliest record with its key.
    first = emb.groupBy("key").agg(F.min("n").alias("rep"))
    keyed = emb.join(first, "key")
    exact = keyed.where(F.col("n") != F.col("rep")).select(F.col("rep").alias("a"), F.col("n").alias("b"))
    reps = keyed.where(F.col("n") == F.col("rep")).select("n", "text", "vec").persist()

    # 3. Candidates, dense and lexical, bucketed by Spark.
    #    Dense: an inverted-file index built by Spark: k-means centroids (Spark ML, on a sample), each record
    #    filed under its `probes` nearest centroids, and within each cell an exact nearest-neighbour search
    #    (numpy, one task per cell group). e5's vectors lie in a narrow cone (unrelated Korean sentences
    #    have cosines around 0.7–0.8), which defeats random-projection LSH: Spark ML's
    #    BucketedRandomProjectionLSH put nearly every pair of 100k reviews in one bucket, and sign-bit
    #    bands on centred vectors found 73% of a scan's pairs on 2,000 reviews. As in a scan, each
    #    original keeps its `neighbours` nearest other originals (copies take no place), at or above
    #    the scan's cross-encoder floor (below it a scan rejects a pair without asking).
    model_from = th.get("scan_cross_encoder_from")
    floor = model_from if model_from is not None else th["candidate_cosine"]
    k_near = th["neighbours"]
    n_reps = reps.count()
    # Few large cells: a pair is found when the two share one of their `probes` cells, and near
    # duplicates at the floor's cosine (0.81) lie far apart in e5's cone. √n cells with 3 probes put
    # 90% of a scan's pairs of 100k reviews in one cluster, √n/4 with 4 probes 95.7%; on 20k, √n/4 × 3
    # searches as much of the data as √n × 12 and ships a quarter of the vectors.
    cells = cells or max(1, round(math.sqrt(n_reps) / 4))
    sample = reps.sample(fraction=min(1.0, 50 * cells / max(n_reps, 1)), seed=7)
    centres = [c.tolist() for c in KMeans(featuresCol="vec", k=cells, seed=7, maxIter=10).fit(sample).clusterCenters()]
    filed = keyed.select("n", "rep", "vec").rdd.mapPartitions(lambda rows: _file_under(rows, centres, probes))
    near = spark.createDataFrame(
        filed.groupByKey(numPartitions=n_parts * 4).flatMap(lambda cell: _cell_neighbours(cell[1], floor, k_near)),
        "x long, y long, cos double",
    ).groupBy("x", "y").agg(F.max("cos").alias("cos"))
    dense = (near.withColumn("r", F.row_number().over(Window.partitionBy("x").orderBy(F.desc("cos"), "y")))
             .where(F.col("r") <= k_near)
             .select(F.least("x", "y").alias("a"), F.greatest("x", "y").alias("b")))
    #    Lexical: yusa's own MinHash bands (the keys a scan buckets by), grouped by Spark; a bucket of
    #    more than 200 texts is a very common short text, which exact keys already handle (as in a scan).
    bands = reps.select("n", "text").rdd.mapPartitions(_bands_of).toDF("n long, band long, key long")
    lex_raw = (bands.groupBy("band", "key").agg(F.sort_array(F.collect_list("n")).alias("ids"))
               .where(F.size("ids").between(2, 200))
               .select(F.explode(F.expr("transform(sequence(0, size(ids) - 2), i -> "
                                        "transform(slice(ids, i + 2, size(ids)), y -> struct(ids[i] as a, y as b)))")).alias("row"))
               .select(F.explode("row").alias("p")).select("p.a", "p.b").dropDuplicates(["a", "b"]))
    texts = reps.select("n", "text")
    jac = F.udf(lambda x, y: float(yusa.jaccard(x, y)), "double")
    lexical = (lex_raw.join(texts.toDF("a", "at"), "a").join(texts.toDF("b", "bt"), "b")
               .where(jac("at", "bt") >= th["candidate_jaccard"]).select("a", "b"))
    side = reps.select("n", "text", "vec")
    dot = F.udf(lambda u, v: float(u.dot(v)), "double")
    alike = F.udf(lambda x, y: bool(yusa.comparable_lengths(x, y)), "boolean")
    cands = (dense.unionByName(lexical).dropDuplicates(["a", "b"])
             .join(side.toDF("a", "at", "av"), "a").join(side.toDF("b", "bt", "bv"), "b")
             .where(alike("at", "bt")))
    if model_from is not None:
        cands = cands.where(dot("av", "bv") >= model_from)
    cands = cands.select("a", "b").localCheckpoint()
    n_cands = cands.count()
    clock.lap("candidates", pairs=n_cands)

    # 4. Components of the candidate graph, then stars inside each by yusa's decision.
    comp = _components(spark, cands, max_iterations)
    comp_sizes = comp.groupBy("c").count().agg(F.count("*").alias("n"), F.max("count").alias("largest")).first()
    n_comps = comp_sizes["n"]
    clock.lap("components", components=n_comps, largest=comp_sizes["largest"])
    nodes = (reps.join(comp, "n").rdd
             .map(lambda r: (r["c"], (r["n"], r["text"], r["vec"].toArray().astype("<f4").tobytes()))))
    edges = cands.join(comp.withColumnRenamed("n", "a"), "a").rdd.map(lambda r: (r["c"], (r["a"], r["b"])))
    stars = spark.createDataFrame(
        nodes.cogroup(edges, numPartitions=n_parts * 4)
        .flatMap(lambda g: _stars_of_component((g[0], (list(g[1][0]), list(g[1][1]))), models_dir, opts)),
        "a long, b long, reason string",
    ).localCheckpoint()
    n_verified = stars.count()
    clock.lap("verified", pairs=n_verified)

    # 5. Clusters named by their anchors; exact copies follow their original.
    anchor_of = stars.select(F.col("b").alias("n"), F.col("a").alias("cluster")).unionByName(
        stars.select(F.col("a").alias("n"), F.col("a").alias("cluster"))).distinct()
    originals = exact.select(F.col("a").alias("n")).distinct()
    placed = (exact.select(F.col("b").alias("n"), F.col("a").alias("orig"))
              .unionByName(originals.withColumn("orig", F.col("n")))
              .join(anchor_of.withColumnRenamed("n", "orig"), "orig", "left")
              .select("n", F.coalesce("cluster", "orig").alias("cluster")))
    labelled = anchor_of.unionByName(placed).dropDuplicates(["n"])
    name = ordered.select("n", "id")
    clusters = (labelled.join(name, "n").join(name.toDF("cluster", "cluster_id"), "cluster")
                .select("id", F.col("cluster_id").alias("cluster")).persist())
    decided = stars.unionByName(exact.withColumn("reason", F.lit("exact")))
    pairs = (decided.join(name.toDF("a", "a_id"), "a").join(name.toDF("b", "b_id"), "b")
             .select(F.col("a_id").alias("a"), F.col("b_id").alias("b"), "reason").persist())
    sizes = clusters.groupBy("cluster").count()
    report = {"records": records, "exact_duplicates": exact.count(), "candidate_pairs": n_cands,
              "components": n_comps, "largest_component": comp_sizes["largest"] or 0,
              "verified_pairs": n_verified,
              "clusters": sizes.count(), "records_in_clusters": clusters.count(),
              "largest_cluster": sizes.agg(F.max("count")).first()[0] or 0, "thresholds": th}
    clock.lap("clustered", clusters=report["clusters"])
    report["stage_seconds"] = clock.laps
    return clusters, pairs, report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="CSV, TSV (.tsv / .tsv.gz) or Parquet")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--id-column", default="id")
    ap.add_argument("--out", required=True, help="a folder: clusters.parquet, pairs.parquet, report.json")
    ap.add_argument("--models-dir", default="models")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--probes", type=int, default=4, help="cells each record is filed under (dense recall)")
    ap.add_argument("--cells", type=int, default=None, help="k-means cells (default: √records / 4)")
    ap.add_argument("--shuffle-partitions", type=int, default=16)
    ap.add_argument("--driver-memory", default="6g", help="the driver JVM's heap (local mode: all of Spark)")
    ap.add_argument("--partitions", type=int, default=None)
    ap.add_argument("--model", default=None, help="bi-encoder under --models-dir (default: the shipped one)")
    ap.add_argument("--cross-encoder", default=None, help="STS cross-encoder (default: the shipped one)")
    a = ap.parse_args(argv)
    options = {k: v for k, v in {"model": a.model, "cross_encoder": a.cross_encoder}.items() if v}
    import logging
    import sys

    from pyspark.sql import SparkSession

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    # Workers run this interpreter (with yusa and numpy) unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Local mode runs the tasks inside the driver's JVM: Spark's 1 GB default is too little for a
    # million rows of vectors (spark-submit's own --driver-memory wins where the JVM already runs).
    spark = (SparkSession.builder.appName("yusa-dedup")
             .config("spark.driver.memory", a.driver_memory)
             # A few large shuffle partitions, not Spark's 200 small ones: on one machine each task's
             # start costs more than its work.
             .config("spark.sql.shuffle.partitions", str(a.shuffle_partitions)).getOrCreate())
    if a.input.endswith(".parquet"):
        df = spark.read.parquet(a.input)
    else:
        sep = "\t" if ".tsv" in a.input else ","
        df = spark.read.option("header", True).option("sep", sep).option("quote", "\u0000" if sep == "\t" else '"').csv(a.input)
    if a.limit:
        df = df.limit(a.limit)  # the first rows of the file, in its order
    import time

    t0 = time.time()
    # Through the importable module, not `__main__`: Spark ships the task functions by reference.
    from yusa import spark as job

    clusters, pairs, report = job.dedup(spark, df, text_col=a.text_column, id_col=a.id_column,
                                    models_dir=os.path.abspath(a.models_dir), partitions=a.partitions,
                                    engine_options=options or None, probes=a.probes,
                                    cells=a.cells)
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
