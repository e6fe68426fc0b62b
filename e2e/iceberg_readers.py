#!/usr/bin/env python3
"""Third-party readers of the dataset's Iceberg table (e2e_test.go runs this with the venv of
scripts/iceberg-pyenv.sh).

  iceberg_readers.py --catalog SQLITE_FILE --table NS.TABLE --snapshot ID --out DIR [--spark-jar JAR]

Reads table snapshot ID (the snapshot tag the test pulled) with
  - pyiceberg 0.12 through the SQL catalog (sqlite file, catalog name "consentflow"),
  - DuckDB 1.4.4 iceberg_scan of the current metadata file (extensions from the offline wheels),
  - Apache Spark (pyspark + iceberg-spark-runtime) loading the same metadata file,
and writes each reader's event_ids to DIR/<reader>-ids.txt (one per line).

Time travel: finds the newest erasure commit (summary consentflow.operation = erasure) whose parent
snapshot still exists; the rows of the parent that the erasure commit removed are the erased rows.
Each reader reads the parent snapshot and must see them; the current snapshot must not hold them.

Prints one JSON object: rows per reader, and the time-travel counts.
"""
import argparse
import json
import os
import sys
import sysconfig


def pyiceberg_reader(args):
    from pyiceberg.catalog.sql import SqlCatalog

    cat = SqlCatalog("consentflow", uri="sqlite:///" + args.catalog)
    return cat.load_table(args.table)


def ids_of(arrow_table):
    return [str(x) for x in arrow_table.column("event_id").to_pylist()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--snapshot", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--spark-jar", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    res = {}

    t = pyiceberg_reader(args)
    meta = t.metadata_location.removeprefix("file://")
    res["metadata"] = meta
    current = t.current_snapshot().snapshot_id
    res["current_snapshot"] = current

    # Time travel probe: the newest erasure commit whose parent is still kept.
    probe = None
    snaps = {s.snapshot_id: s for s in t.metadata.snapshots}
    for s in sorted(t.metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True):
        props = s.summary.additional_properties if s.summary else {}
        if props.get("consentflow.operation") == "erasure" and s.parent_snapshot_id in snaps:
            probe = s
            break
    erased = set()
    if probe is not None:
        before = set(ids_of(t.scan(snapshot_id=probe.parent_snapshot_id).to_arrow()))
        after = set(ids_of(t.scan(snapshot_id=probe.snapshot_id).to_arrow()))
        erased = before - after
        res["time_travel_snapshot"] = probe.parent_snapshot_id
    res["erased_rows"] = len(erased)

    def record(name, ids, past_ids):
        with open(os.path.join(args.out, name + "-ids.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(ids) + ("\n" if ids else ""))
        res[name + "_rows"] = len(ids)
        if probe is not None:
            res[name + "_time_travel_erased_seen"] = len(erased & set(past_ids))

    # pyiceberg
    ids = ids_of(t.scan(snapshot_id=args.snapshot).to_arrow())
    past = ids_of(t.scan(snapshot_id=probe.parent_snapshot_id).to_arrow()) if probe else []
    cur = set(ids_of(t.scan().to_arrow()))
    res["current_holds_erased"] = len(cur & erased)
    record("pyiceberg", ids, past)

    # DuckDB, offline extensions
    import duckdb

    con = duckdb.connect()
    con.execute("SET extension_directory = ?", [os.path.join(sysconfig.get_paths()["purelib"], "duckdb_ext", "extensions")])
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("LOAD iceberg")
    q = "SELECT event_id FROM iceberg_scan(?, snapshot_from_id = ?)"
    ids = [r[0] for r in con.execute(q, [meta, args.snapshot]).fetchall()]
    past = [r[0] for r in con.execute(q, [meta, probe.parent_snapshot_id]).fetchall()] if probe else []
    record("duckdb", ids, past)

    # Apache Spark, bounded: local[1], 768 MB driver, no UI
    if args.spark_jar:
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master("local[1]").appName("consentflow-iceberg-check")
                 .config("spark.jars", args.spark_jar).config("spark.ui.enabled", "false")
                 .config("spark.driver.memory", "768m").config("spark.sql.shuffle.partitions", "1")
                 .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")

        def spark_ids(snapshot):
            df = spark.read.format("iceberg").option("snapshot-id", snapshot).load(meta)
            return [r.event_id for r in df.select("event_id").collect()]

        ids = spark_ids(args.snapshot)
        past = spark_ids(probe.parent_snapshot_id) if probe else []
        record("spark", ids, past)
        res["spark_version"] = spark.version
        spark.stop()
    print(json.dumps(res))


if __name__ == "__main__":
    sys.exit(main())
