"""The PySpark peer of the SuperWebAnalytics pipeline (bench/peers/index.ts).

Usage: python spark_pipeline.py DATA OUT THREADS SHUFFLE_PARTITIONS
Runs Spark local[THREADS] over the generated master Parquet under DATA (master/pageviews,
master/equivs) with DataFrames: normalize (the same rules as bench/peers/duckdb-pipeline.ts) ->
dedupe (distinct) -> connected components of the equiv edges (hooking + pointer jumping, as
bench/peers/duckdb-pipeline.ts; every intermediate is cut through Parquet files, see cut()) -> rollup h/d/w/m with approx_count_distinct (HLL++,
rsd 0.05, Spark's default). Writes OUT/{normalized,distinct,ids,view} as Parquet and prints one
JSON line {"steps": {step: ms}, "rounds": n} on stdout. Progress goes to stderr.
"""
import json
import sys
import time

from pyspark.sql import SparkSession, functions as F

TRACKING = ["utm_.*", "gclid", "gclsrc", "dclid", "fbclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl",
            "igshid", "yclid", "twclid", "ttclid", "li_fat_id", "wbraid", "gbraid"]
URL_RE = r"^([A-Za-z]+)://([^/?#:]*)(:[0-9]*)?([^?#]*)(\?[^#]*)?(#.*)?$"


def cut(spark, df, path):
    """df written to Parquet at `path` and read back: a fresh leaf in the plan.

    Not localCheckpoint(): since Spark 3.4 a checkpointed Dataset keeps its source plan's size
    estimate (LogicalRDD rewriteStatsAndConstraints), and the non-CBO estimate of a join is the
    product of its children's sizes (SizeInBytesOnlyStatsPlanVisitor.default), so an iterative
    self-join carries an estimate whose digits double every round: the driver then spends its time
    in BigInteger.multiply (seen with jstack: round 5 of 100k rows did not finish in 25 minutes;
    SPARK-52163). A Parquet leaf is estimated by its file size.
    """
    df.write.mode("overwrite").parquet(path)
    return spark.read.parquet(path)


def main() -> None:
    data, out, threads, parts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    spark = (SparkSession.builder.master(f"local[{threads}]").appName("swa-peer")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(parts))
             .config("spark.driver.memory", "2g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    steps = {}

    t0 = time.perf_counter()
    pv = spark.read.parquet(f"{data}/master/pageviews")
    u = F.trim(F.col("url"))
    p = pv.select(
        F.lower(F.regexp_extract(u, URL_RE, 1)).alias("scheme"),
        F.lower(F.regexp_extract(u, URL_RE, 2)).alias("host"),
        F.regexp_extract(u, URL_RE, 3).alias("port"),
        F.regexp_extract(u, URL_RE, 4).alias("path"),
        F.regexp_extract(u, URL_RE, 5).alias("query"),
        F.lower(F.regexp_replace(F.col("person"), r"^[ \t]+|[ \t]+$", "")).alias("person"),
        F.col("ts"))
    p = p.where(F.col("scheme").isin("http", "https") & F.col("host").rlike(r"^[a-z0-9_~-]+(\.[a-z0-9_~-]+)*$"))
    drop_port = F.col("port").isin(":", ":80", ":443") & (
        (F.col("port") == ":") | ((F.col("scheme") == "http") == (F.col("port") == ":80")))
    path = F.regexp_replace(F.regexp_replace(F.expr("url_decode(path)"), r"/\./", "/"), r"/[^/]+/\.\./", "/")
    tracking = "|".join(TRACKING)
    query = F.array_join(F.array_sort(F.filter(
        F.split(F.regexp_replace(F.col("query"), r"^\?", ""), "&"),
        lambda x: (x != "") & ~F.lower(F.split(x, "=").getItem(0)).rlike(f"^({tracking})$"))), "&")
    c = p.select(
        F.col("scheme"), F.regexp_replace(F.col("host"), r"^www\.", "").alias("host"),
        F.when(drop_port, F.lit("")).otherwise(F.col("port")).alias("port"),
        path.alias("path"), query.alias("query"), F.col("person"), F.col("ts"))
    normalized = c.select(F.concat(
        F.col("scheme"), F.lit("://"), F.col("host"), F.col("port"),
        F.when(F.col("path").isin("", "/"), F.lit("/")).otherwise(F.regexp_replace(F.col("path"), "/+$", "")),
        F.when(F.col("query") == "", F.lit("")).otherwise(F.concat(F.lit("?"), F.col("query")))).alias("url"),
        F.col("person"), F.col("ts"))
    normalized.write.mode("overwrite").parquet(f"{out}/normalized")
    steps["normalize"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    spark.read.parquet(f"{out}/normalized").distinct().write.mode("overwrite").parquet(f"{out}/distinct")
    steps["dedupe"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    eq = spark.read.parquet(f"{data}/master/equivs")
    n = eq.select(F.lower(F.regexp_replace("id1", r"^[ \t]+|[ \t]+$", "")).alias("a"),
                  F.lower(F.regexp_replace("id2", r"^[ \t]+|[ \t]+$", "")).alias("b"))
    tmp = f"{out}/tmp"
    seq = iter(range(1 << 30))
    e = cut(spark, n.distinct(), f"{tmp}/edges")
    par = cut(spark, e.select(F.col("a").alias("id")).union(e.select("b")).distinct().withColumn("p", F.col("id")), f"{tmp}/p{next(seq)}")
    rounds = 0
    while rounds < 200:
        # hook: every edge joining two roots hangs the larger root under the smallest root it meets
        pa = par.select(F.col("id").alias("a"), F.col("p").alias("pa"))
        pb = par.select(F.col("id").alias("b"), F.col("p").alias("pb"))
        h = (e.join(pa, "a").join(pb, "b").where(F.col("pa") != F.col("pb"))
             .groupBy(F.greatest("pa", "pb").alias("r")).agg(F.min(F.least("pa", "pb")).alias("hp")))
        h = cut(spark, h, f"{tmp}/h{rounds}")
        hooked = h.count()
        print(f"spark components round {rounds + 1}: {hooked} roots hooked", file=sys.stderr)
        if hooked == 0:
            break
        rounds += 1
        par = cut(spark, par.join(h, par.id == h.r, "left").select("id", F.coalesce("hp", "p").alias("p")), f"{tmp}/p{next(seq)}")
        while True:  # pointer jumping: p := p(p) until nothing changes
            nxt = (par.alias("x").join(par.alias("y"), F.col("y.id") == F.col("x.p"))
                   .select(F.col("x.id").alias("id"), F.col("y.p").alias("p"), (F.col("y.p") != F.col("x.p")).alias("moved")))
            nxt = cut(spark, nxt, f"{tmp}/p{next(seq)}")
            moved = nxt.where("moved").count()
            par = nxt.select("id", "p")
            if moved == 0:
                break
    lab = par.select("id", F.col("p").alias("l"))
    lab.select("id", F.col("l").alias("person")).write.mode("overwrite").parquet(f"{out}/ids")
    steps["components"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    d = spark.read.parquet(f"{out}/distinct")
    ids = spark.read.parquet(f"{out}/ids").withColumnRenamed("person", "cid")
    j = d.join(ids, d.person == ids.id, "left").select("url", F.coalesce("cid", "person").alias("person"), "ts")
    gs = spark.createDataFrame([("h", 3600), ("d", 86400), ("w", 604800), ("m", 2419200)], ["granularity", "s"])
    view = (j.crossJoin(F.broadcast(gs))
            .select("url", "granularity", (F.col("ts") - F.col("ts") % F.col("s")).alias("bucket"), "person")
            .groupBy("url", "granularity", "bucket")
            .agg(F.count(F.lit(1)).alias("pageviews"), F.approx_count_distinct("person").alias("uniques")))
    view.write.mode("overwrite").parquet(f"{out}/view")
    steps["rollup"] = (time.perf_counter() - t0) * 1000

    print(json.dumps({"steps": steps, "rounds": rounds}))
    spark.stop()


if __name__ == "__main__":
    main()
