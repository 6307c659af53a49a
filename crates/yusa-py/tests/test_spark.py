"""The Spark job in local mode on a small sample: exact and near duplicates end in one cluster, texts of
another meaning do not join them by accident of the candidates, and two runs give the same clusters.
Plumbing on the tiny fixture model (its decision is a cosine threshold here)."""

from __future__ import annotations

import os
import shutil

import pytest

pyspark = pytest.importorskip("pyspark")
if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
    if os.environ.get("YUSA_REQUIRE_SPARK") == "1":
        pytest.fail("no Java runtime: run `make python` (installs openjdk-17-jre-headless)")
    pytest.skip("no Java runtime", allow_module_level=True)

from conftest import FIXTURES  # noqa: E402
from yusa import spark as job  # noqa: E402


@pytest.fixture(scope="module")
def session():
    import sys

    from pyspark.sql import SparkSession

    # Spark's Python workers run this interpreter (the one with yusa and numpy), not the system's.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    s = (SparkSession.builder.master("local[2]").appName("yusa-test")
         .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate())
    yield s
    s.stop()


ROWS = [
    ("1", "이 영화 정말 재밌어요"),
    ("2", "이 영화 정말 재밌어요!!"),  # exact after normalisation? no: punctuation differs → a near duplicate
    ("3", "이 영화 정말 재밌어요"),  # exact copy of 1
    ("4", "배우들 연기가 최고였다"),
    ("5", "배우들 연기가 최고였다 ㅎㅎ"),
    ("6", "지루해서 중간에 나왔어요"),
] + [(str(100 + i), f"서로 다른 리뷰 번호 {i}번 내용은 {i * 7919 % 1000}점") for i in range(40)]


def run(session):
    df = session.createDataFrame(ROWS, "id string, text string")
    clusters, pairs, report = job.dedup(
        session, df, models_dir=str(FIXTURES), partitions=2,
        engine_options={"model": "tiny-bert", "cross_encoder": "tiny-bert-cross", "no_duplicate_model": True},
    )
    return {r["id"]: r["cluster"] for r in clusters.collect()}, {(r["a"], r["b"], r["reason"]) for r in pairs.collect()}, report


def test_the_documented_command_line_writes_clusters(tmp_path):
    """`python -m yusa.spark` as docs/python.md runs it (spark-submit runs the same file)."""
    import json
    import subprocess
    import sys

    src = tmp_path / "reviews.tsv"
    src.write_text("review_id\treview\n" + "".join(f"{i}\t{t}\n" for i, t in ROWS), encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "yusa.spark", "--input", str(src), "--text-column", "review",
                    "--id-column", "review_id", "--out", str(out), "--models-dir", str(FIXTURES),
                    "--model", "tiny-bert", "--cross-encoder", "tiny-bert-cross"],
                   check=True, capture_output=True, env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    report = json.loads((out / "report.json").read_text())
    assert report["records"] == len(ROWS) and report["clusters"] >= 1
    assert (out / "clusters.parquet").is_dir() and (out / "pairs.parquet").is_dir()


def test_duplicates_cluster_and_runs_repeat(session):
    labels, pairs, report = run(session)
    assert report["records"] == len(ROWS)
    assert ("1", "3", "exact") in pairs
    assert labels["1"] == labels["3"] == "1", labels
    labels2, pairs2, _ = run(session)
    assert labels2 == labels and pairs2 == pairs


def test_the_clusters_are_a_scans_stars(session, tmp_path):
    """With every record searched exactly (probes over all cells), the job's clusters are the clusters
    `Engine.scan` makes of the same rows in the same order, and every member was confirmed against its
    cluster's anchor (or is an exact copy of a member): stars, never chains through a middle text."""
    import yusa

    opts = {"model": "tiny-bert", "cross_encoder": "tiny-bert-cross", "no_duplicate_model": True}
    df = session.createDataFrame(ROWS, "id string, text string")
    clusters, pairs, _ = job.dedup(session, df, models_dir=str(FIXTURES), partitions=2,
                                   engine_options=opts, probes=1000)
    spark_sets = {}
    for r in clusters.collect():
        spark_sets.setdefault(r["cluster"], set()).add(r["id"])

    engine = yusa.Engine(tmp_path / "index", FIXTURES, **opts)
    engine.index("c", [{"id": i, "text": t} for i, t in ROWS])
    scanned = engine.scan("c")["clusters"]
    scan_sets = {frozenset(m["id"] for m in c["members"]) | {c["representative"]["id"]} for c in scanned}
    assert {frozenset(s) for s in spark_sets.values()} == scan_sets
    assert {c["anchor"] for c in scanned} == set(spark_sets)

    rows = pairs.collect()
    assert any(r["reason"] != "exact" for r in rows), "no star but exact copies: nothing compared"
    decided = {(r["a"], r["b"]) for r in rows}
    exact_of = {r["b"]: r["a"] for r in rows if r["reason"] == "exact"}
    for anchor, members in spark_sets.items():
        for m in members - {anchor}:
            assert (anchor, m) in decided or exact_of.get(m) in members, (anchor, m)


def test_components_settle_on_a_long_path(session):
    """The job's connected components (label propagation with pointer jumping): a path of 300 records,
    listed out of order, and a separate triangle each end labelled by their smallest record, in far
    fewer rounds than the path is long."""
    import random

    path = [(i, i + 1) for i in range(300)]
    random.Random(3).shuffle(path)
    edges = session.createDataFrame(path + [(1000, 1001), (1001, 1002), (1002, 1000)], "a long, b long")
    labels = {r["n"]: r["c"] for r in job._components(session, edges, max_iterations=20).collect()}
    assert labels == {**{i: 0 for i in range(301)}, 1000: 1000, 1001: 1000, 1002: 1000}
