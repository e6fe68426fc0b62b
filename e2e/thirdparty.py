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
      With --data-keys FILE (a JSON object: Redis key name -> base64 value, the
      dump of the curated data keys) every sealed CuratedEvent is opened as
      docs/ARCHITECTURE.md ("A withdrawal and events.curated") specifies —
      HKDF-SHA256 over the subject's and tenant's keys, AES-256-GCM with the
      record-bound additional data, written here from the document with the
      `cryptography` package, sharing no code with pkg/shred — and written with
      its content restored and "_sealed": opened | erased | missing | clear. The
      output then also counts "opened", "erased", "missing", "clear" and lists
      "open_errors" (values that do not open with the keys they name).

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

_LABEL = b"consentflow/curated/v1"


def _uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class Opener:
    """Opens sealed curated records with a dump of the data keys (see the module doc)."""

    def __init__(self, dump, namespace):
        self.keys = {k: base64.b64decode(v) for k, v in dump.items()}
        self.ns = namespace

    def entry(self, kind, purpose, pseudonym):
        v = self.keys.get("%s:shred:%s:%s:%s" % (self.ns, purpose, kind, pseudonym))
        if v is None:
            return None
        if v[:1] == b"K" and len(v) >= 41:
            return ("live", v[1:9], v[9:41])
        if v[:1] == b"E":
            return ("erased", None, None)
        raise ValueError("unreadable key entry")

    def open(self, rec):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        sealed = rec.get("sealed")
        if sealed is None:
            return "clear"
        if sealed == b"\x00":
            return "erased"
        if len(sealed) < 1 + 16 + 12 + 16 or sealed[0] != 1:
            raise ValueError("unknown envelope")
        purpose = rec["purpose"]
        se, te = self.entry("s", purpose, rec["subject"]), self.entry("t", purpose, rec["tenant"])
        if se is None or te is None:
            return "erased" if (se and se[0] == "erased") or (te and te[0] == "erased") else "missing"
        if se[0] != "live" or te[0] != "live" or se[1] != sealed[1:9] or te[1] != sealed[9:17]:
            return "erased"
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_LABEL, info=purpose.encode()).derive(se[2] + te[2])
        aad = _LABEL
        for part in (purpose, rec["subject"], rec["tenant"], rec["event_id"]):
            b = part.encode()
            aad += _uvarint(len(b)) + b
        plain = AESGCM(key).decrypt(sealed[17:29], sealed[29:], aad)
        c = json.loads(plain)
        rec["event_type"], rec["text"], rec["properties"] = c["event_type"], c.get("text"), c.get("properties") or {}
        rec["sealed"] = None
        return "opened"


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
    opener = None
    opened = {"opened": 0, "erased": 0, "missing": 0, "clear": 0}
    open_errors = []
    if args.data_keys:
        with open(args.data_keys, encoding="utf-8") as f:
            opener = Opener(json.load(f), args.redis_namespace)
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
                if opener is not None:
                    try:
                        how = opener.open(rec)
                        opened[how] += 1
                        rec["_sealed"] = how
                    except Exception as e:  # noqa: BLE001 - reported
                        open_errors.append("%d/%d: %s" % (msg.partition(), msg.offset(), e or type(e).__name__))
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
    out = {"records": records, "decoded": decoded, "errors": errors[:20],
           "schema_ids": sorted(ids),
           "expected": sum(hi - lo for lo, hi in ends.values())}
    if opener is not None:
        out.update(opened)
        out["open_errors"] = open_errors[:20]
        out["open_error_count"] = len(open_errors)
    print(json.dumps(out))


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
    c.add_argument("--data-keys", default="", help="JSON dump of the curated data keys: open sealed records")
    c.add_argument("--redis-namespace", default="cf")
    s = sub.add_parser("snapshot")
    s.add_argument("--dir", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--cache", required=True)
    args = ap.parse_args()
    {"topic": topic, "curated": topic, "snapshot": snapshot}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
