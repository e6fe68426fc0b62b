#!/usr/bin/env python3
"""Third-party readers for the consentflow end-to-end test (e2e_test.go runs this).

Two subcommands, each printing one JSON object on stdout:

  topic    --kafka-config FILE --topic T --registry URL --out FILE [--fields a,b,...]
      (alias: curated) Consumes every record of a topic with confluent-kafka
      (librdkafka; FILE holds its properties, key=value lines: bootstrap.servers
      and, against secured services, security.protocol, sasl.*, ssl.*), decodes
      each value with fastavro using the writer schema fetched from the
      Confluent-compatible registry by the id in the wire header (magic byte 0,
      4-byte big-endian schema id, Avro binary body), and writes the decoded
      records as JSON lines {"partition", "offset", "key", "value"} to FILE (only
      the listed value fields with --fields; timestamps as epoch milliseconds).
      Records that do not decode are counted and listed, not written. The
      registry is reached with the CA file and basic-auth credentials of
      SCHEMA_REGISTRY_TLS_CA_FILE, SCHEMA_REGISTRY_USERNAME and
      SCHEMA_REGISTRY_PASSWORD when they are set. Output: {"records": n,
      "decoded": n, "errors": [...], "schema_ids": [...]}.

  snapshot --dir DIR --out FILE --cache DIR
      Reads the pulled snapshot (DIR/manifest.json lists the files) with pyarrow,
      DuckDB and Hugging Face datasets (load_dataset("parquet", data_files=...),
      offline), and writes every row (pyarrow's view) as JSON lines to FILE.
      Output: {"manifest_rows": n, "pyarrow_rows": n, "duckdb_rows": n,
      "datasets_rows": n, "columns": [...]}.

Debian's kcat has no Avro/schema-registry support (no libserdes), so Avro is
decoded here; kcat is used by the Go test for raw counts, keys and headers.
"""
import argparse
import base64
import datetime
import io
import json
import os
import ssl
import struct
import sys
import urllib.request


def _json_default(v):
    if isinstance(v, (bytes, bytearray)):
        return v.decode("utf-8", "backslashreplace")
    if isinstance(v, datetime.datetime):
        # timestamp-millis: epoch milliseconds, exactly (no float rounding).
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        d = v - _EPOCH
        return (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000
    return str(v)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def topic(args):
    import fastavro
    from confluent_kafka import Consumer, TopicPartition

    schemas = {}

    ssl_ctx = None
    if os.environ.get("SCHEMA_REGISTRY_TLS_CA_FILE"):
        ssl_ctx = ssl.create_default_context(cafile=os.environ["SCHEMA_REGISTRY_TLS_CA_FILE"])
    auth = None
    if os.environ.get("SCHEMA_REGISTRY_USERNAME"):
        auth = "Basic " + base64.b64encode(("%s:%s" % (os.environ["SCHEMA_REGISTRY_USERNAME"],
                                                       os.environ.get("SCHEMA_REGISTRY_PASSWORD", ""))).encode()).decode()

    def schema_for(sid):
        if sid not in schemas:
            req = urllib.request.Request(args.registry.rstrip("/") + "/schemas/ids/%d" % sid)
            if auth:
                req.add_header("Authorization", auth)
            with urllib.request.urlopen(req, timeout=10, context=ssl_ctx) as resp:
                body = json.load(resp)
            schemas[sid] = fastavro.parse_schema(json.loads(body["schema"]))
        return schemas[sid]

    conf = {}
    with open(args.kafka_config, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                conf[k.strip()] = v.strip()
    c = Consumer({
        **conf,
        "group.id": "e2e-thirdparty-unused",  # required by librdkafka; nothing is committed
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
    })
    md = c.list_topics(args.topic, timeout=15)
    parts = sorted(md.topics[args.topic].partitions)
    ends = {}
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(args.topic, p), timeout=15)
        ends[p] = (lo, hi)
    todo = {p for p in parts if ends[p][1] > ends[p][0]}
    c.assign([TopicPartition(args.topic, p, ends[p][0]) for p in parts])
    records = decoded = 0
    errors = []
    fields = [f for f in (args.fields or "").split(",") if f]
    ids = set()
    with open(args.out, "w", encoding="utf-8") as out:
        while todo:
            msg = c.poll(10.0)
            if msg is None:
                errors.append("poll timeout with partitions %s unfinished" % sorted(todo))
                break
            if msg.error():
                if msg.error().code() == -191:  # _PARTITION_EOF
                    todo.discard(msg.partition())
                    continue
                errors.append(str(msg.error()))
                break
            records += 1
            v = msg.value()
            try:
                if v is None or len(v) < 5 or v[0] != 0:
                    raise ValueError("not Confluent wire format")
                sid = struct.unpack(">I", v[1:5])[0]
                ids.add(sid)
                rec = fastavro.schemaless_reader(io.BytesIO(v[5:]), schema_for(sid))
                if fields:
                    rec = {f: rec.get(f) for f in fields}
                decoded += 1
                out.write(json.dumps({"partition": msg.partition(), "offset": msg.offset(),
                                      "key": (msg.key() or b"").decode("utf-8", "backslashreplace"),
                                      "value": rec}, ensure_ascii=False, default=_json_default) + "\n")
            except Exception as e:  # noqa: BLE001 - reported, the Go test fails on it
                errors.append("%d/%d: %s" % (msg.partition(), msg.offset(), e))
            if msg.offset() >= ends[msg.partition()][1] - 1:
                todo.discard(msg.partition())
    c.close()
    print(json.dumps({"records": records, "decoded": decoded, "errors": errors[:20],
                      "schema_ids": sorted(ids),
                      "expected": sum(hi - lo for lo, hi in ends.values())}))


def snapshot(args):
    import duckdb
    import pyarrow.parquet as pq
    import pyarrow as pa

    with open(os.path.join(args.dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    files = [os.path.join(args.dir, fe["path"]) for fe in manifest["files"]]
    manifest_rows = manifest["totals"]["rows"]
    res = {"manifest_rows": manifest_rows, "files": len(files)}

    # pyarrow: every file, concatenated.
    tables = [pq.read_table(p) for p in files]
    if tables:
        table = pa.concat_tables(tables, promote_options="default")
    else:
        table = None
    res["pyarrow_rows"] = 0 if table is None else table.num_rows
    res["columns"] = [] if table is None else table.column_names
    with open(args.out, "w", encoding="utf-8") as out:
        if table is not None:
            for batch in table.to_batches(max_chunksize=4096):
                for row in batch.to_pylist():
                    out.write(json.dumps(row, ensure_ascii=False, default=_json_default) + "\n")

    # DuckDB over the same file list.
    if files:
        con = duckdb.connect()
        res["duckdb_rows"] = con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0]
        res["duckdb_distinct_event_ids"] = con.execute(
            "SELECT count(DISTINCT event_id) FROM read_parquet(?)", [files]).fetchone()[0]
        con.close()
    else:
        res["duckdb_rows"] = 0

    # Hugging Face datasets, offline, with a cache inside the run dir.
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets  # noqa: E402  (after the offline switches)
    datasets.disable_progress_bars()
    res["datasets_version"] = datasets.__version__
    if files:
        try:
            ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=args.cache)
            res["datasets_rows"] = ds.num_rows
        except Exception as e:  # noqa: BLE001 - reported; the Go test fails on it
            res["datasets_rows"] = -1
            res["datasets_error"] = "%s: %s" % (type(e).__name__, e)
    else:
        res["datasets_rows"] = 0
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("topic", aliases=["curated"])
    c.add_argument("--kafka-config", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--registry", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--fields", default="")
    s = sub.add_parser("snapshot")
    s.add_argument("--dir", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--cache", required=True)
    args = ap.parse_args()
    {"topic": topic, "curated": topic, "snapshot": snapshot}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
