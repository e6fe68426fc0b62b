"""Reads a pulled dataset snapshot the way its consumers do and checks its rows.

Usage: check_snapshot.py DIR --expect-ids FILE [--absent-ids FILE] [--forbid STRING ...]
                         [--keyring FILE --purpose NAME --tenant ID]

  DIR            a snapshot pulled with `consentflow snapshot pull` (manifest.json + files)
  --expect-ids   file with one event_id per line: exactly these rows must be in the snapshot,
                 each once (the events the producer accepted for consenting users)
  --absent-ids   event_ids that must not be there (events of users without consent)
  --forbid       strings no column of any row may contain (raw user ids, e-mail addresses)
  --keyring      the anonymizer's pseudonym keyring ("id:base64" lines or its JSON form): the
                 curated event_id is keyed (ARCHITECTURE "Unlinkability"), so the expected raw
                 ids are turned into keyed ones with e2e/oracle.py's independent derivation,
                 for --purpose and --tenant (the tenant every event was sent for)

Reads every file of the manifest with pyarrow and again with DuckDB; both must agree with the
manifest's row count. Prints a JSON summary; exits 1 (with the reasons) when a check fails.
"""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--expect-ids", required=True)
    ap.add_argument("--absent-ids")
    ap.add_argument("--forbid", action="append", default=[])
    ap.add_argument("--keyring")
    ap.add_argument("--purpose", default="ai_training")
    ap.add_argument("--tenant", default="")
    args = ap.parse_args()

    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    def ids(path):
        if not path:
            return []
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]

    expected, absent = ids(args.expect_ids), set(ids(args.absent_ids))
    if args.keyring:
        keyed = keyed_ids(args.keyring, args.purpose, args.tenant)
        expected = [keyed(i) for i in expected]
        absent = {k for i in absent for k in keyed(i, every_key=True)}
    with open(os.path.join(args.dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    files = [os.path.join(args.dir, fe["path"]) for fe in manifest["files"]]
    problems = []

    tables = [pq.read_table(p) for p in files]
    table = pa.concat_tables(tables, promote_options="default") if tables else None
    rows = [] if table is None else table.to_pylist()
    con = duckdb.connect()
    duck_rows = con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0] if files else 0
    duck_ids = [r[0] for r in con.execute("SELECT event_id FROM read_parquet(?)", [files]).fetchall()] if files else []
    con.close()

    got = [r["event_id"] for r in rows]
    summary = {
        "snapshot": manifest["id"], "files": len(files), "manifest_rows": manifest["totals"]["rows"],
        "pyarrow_rows": len(rows), "duckdb_rows": duck_rows, "expected_rows": len(expected),
    }
    if not (summary["manifest_rows"] == len(rows) == duck_rows):
        problems.append("row counts disagree: manifest %d, pyarrow %d, duckdb %d" % (summary["manifest_rows"], len(rows), duck_rows))
    if sorted(duck_ids) != sorted(got):
        problems.append("pyarrow and DuckDB read different event_ids")
    dups = sorted({i for i in got if got.count(i) > 1})
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    leaked = sorted(set(got) & absent)
    if dups:
        problems.append("%d event_ids appear more than once, e.g. %s" % (len(dups), dups[:3]))
    if missing:
        problems.append("%d accepted events are missing (lost), e.g. %s" % (len(missing), missing[:3]))
    if leaked:
        problems.append("%d events of users without consent are in the dataset, e.g. %s" % (len(leaked), leaked[:3]))
    elif extra:
        problems.append("%d rows that no accepted event explains, e.g. %s" % (len(extra), extra[:3]))
    for row in rows:
        blob = json.dumps(row, default=str, ensure_ascii=False)
        for s in args.forbid:
            if s in blob:
                problems.append("event %s contains %r" % (row["event_id"], s))
    summary["problems"] = problems
    print(json.dumps(summary))
    if problems:
        for p in problems:
            print("check_snapshot: " + p, file=sys.stderr)
        sys.exit(1)


def keyed_ids(path, purpose, tenant):
    """A function from a raw event id to its curated id under the keyring's active
    key (or, with every_key, the ids under every key: an absent event must be absent
    under any of them)."""
    import base64
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "e2e"))
    from oracle import curated_event_id

    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    if text.startswith("{"):
        doc = json.loads(text)
        keys = [(k, base64.b64decode(v)) for k, v in doc["keys"].items()]
        active = doc["active"]
    else:
        keys = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                kid, b64 = line.split(":", 1)
                keys.append((kid.strip(), base64.b64decode(b64.strip())))
        active = keys[0][0]  # lines: the first key is the active one (keyring/load.go)
    secrets = dict(keys)

    def keyed(raw, every_key=False):
        if every_key:
            return [curated_event_id(k, v, purpose, tenant, raw) for k, v in keys]
        return curated_event_id(active, secrets[active], purpose, tenant, raw)

    return keyed


if __name__ == "__main__":
    main()
