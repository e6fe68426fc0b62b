#!/usr/bin/env python3
"""Mutation check of the acceptance suite (`make mutants`).

For each planted bug below: copy the repository to a scratch folder, apply the
bug there (an exact text replacement that must match once), build the one binary
it changes, run the end-to-end acceptance test (TestE2E, from the unchanged
repository) against the four services with the mutated binary in place, and
expect the run to FAIL — through the independent oracle (e2e/oracle.py) or
another check. A mutant that survives (the suite passes) or no longer applies
(the code moved) fails the check.

  python3 e2e/mutants.py [--only NAME,...] [--events N] [--rate R] [--keep] [--fault]

--fault runs the fault suite (TestFault: 30,000 events while services are killed,
Redis flushed, Kafka restarted; ~4 min a mutant) instead of TestE2E: the oracle
must still catch the bug among the redeliveries and restarts. Not part of `make
mutants` (too slow for every mutant); run by hand with --only.

Needs what `make e2e` needs (scripts/services.sh env, bin/ from `make build`).
Writes out/mutants/summary.json and one run folder per mutant under out/mutants/.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Mutant:
    def __init__(self, name, path, old, new, binary, what):
        self.name, self.path, self.old, self.new, self.binary, self.what = name, path, old, new, binary, what


MUTANTS = [
    Mutant("gpc-ignored", "services/consent-filter/decision/decide.go",
           "if in.GPC && pol.GPCDenies(in.Purpose) {", "if false && in.GPC && pol.GPCDenies(in.Purpose) {",
           "consent-filter", "Sec-GPC: 1 no longer denies (rule 4)"),
    Mutant("gpc-purpose-override-ignored", "services/consent-filter/policy/policy.go",
           "if pp, ok := p.Purposes[purpose]; ok && pp.GPCDenies != nil {",
           "if pp, ok := p.Purposes[purpose]; false && ok && pp.GPCDenies != nil {",
           "consent-filter", "the policy's per-purpose gpc_denies is ignored (the file-wide false applies)"),
    Mutant("tenant-denial-ignored", "services/consent-filter/decision/decide.go",
           "if t.Status != Granted {\n\t\t\treturn deny(TenantOptOut",
           "if false && t.Status != Granted {\n\t\t\treturn deny(TenantOptOut",
           "consent-filter", "a tenant's DENIED no longer overrides its users (rule 1)"),
    Mutant("tenant-grant-before-effective", "services/consent-filter/decision/decide.go",
           "if t.EffectiveAt.After(in.ReceivedAt) {", "if false && t.EffectiveAt.After(in.ReceivedAt) {",
           "consent-filter", "a tenant grant applies to events received before it took effect (rule 1)"),
    Mutant("grant-before-effective", "services/consent-filter/decision/decide.go",
           "if u.EffectiveAt.After(in.ReceivedAt) {", "if false && u.EffectiveAt.After(in.ReceivedAt) {",
           "consent-filter", "a user grant allows events received before it took effect (rule 3)"),
    Mutant("subdivision-regime-ignored", "services/consent-filter/policy/policy.go",
           'if country, _, found := strings.Cut(code, "-"); found {',
           'if country, _, found := strings.Cut(code, "-"); false && found {',
           "consent-filter", "an unlisted subdivision (US-NY) no longer gets its country's regime"),
    Mutant("audit-tenant-version-dropped", "services/consent-filter/internal/filter/filter.go",
           "TenantConsentVersion: tenantVersion,", 'TenantConsentVersion: "",',
           "consent-filter", "consent.decisions no longer names the tenant record a decision used"),
    Mutant("erasures-skipped", "services/anonymizer/internal/pipeline/erasures.go",
           "if c.Purpose != purpose || c.SubjectID == \"\" {",
           "if true || c.Purpose != purpose || c.SubjectID == \"\" {",
           "anonymizer", "the anonymizer emits no erasure for a withdrawal, a tenant opt-out or a linked subject's denial"),
    Mutant("tenant-erasures-ignored", "services/dataset-sink/internal/ledger/matcher.go",
           "m.subjects[target{r.Purpose, r.Subject}].covers(r.ConsentVersion) ||\n\t\tm.tenants[target{r.Purpose, r.Tenant}].covers(r.TenantConsentVersion)",
           "m.subjects[target{r.Purpose, r.Subject}].covers(r.ConsentVersion)",
           "dataset-sink", "the sink ignores tenant-scope erasures"),
    Mutant("regrants-erased", "services/dataset-sink/internal/ledger/matcher.go",
           "if !v.NewerThan(schema.Version{Partition: p, Offset: o}) {", "if true || !v.NewerThan(schema.Version{Partition: p, Offset: o}) {",
           "dataset-sink", "an erasure also removes rows decided on a later re-grant"),
    Mutant("linked-erasures-skipped", "services/consent-filter/internal/materializer/materializer.go",
           "intents := erasureIntents(m.Purpose, changes, state)", "intents := erasureIntents(m.Purpose, changes, state)[:0]",
           "consent-filter", "a withdrawal no longer erases the rows of linked ids (a visitor's anonymous events before login)"),
    Mutant("linked-subjects-ignored", "services/consent-filter/internal/filter/subjects.go",
           "for _, s := range linked {", "for _, s := range linked[:0] {",
           "consent-filter", "the decision ignores linked subjects (a withdrawn user's logged-out events pass)"),
    Mutant("subjects-without-tenant", "pkg/identity/subject.go",
           "if m.Scope(kind) == Global {", "if true || m.Scope(kind) == Global {",
           "consent-filter", "user and anonymous ids are global: a user id shared by tenants shares one consent"),
    Mutant("tally-anonymous-as-users", "services/consent-filter/internal/filter/filter.go",
           "User: d.ev.UserID, Purpose: f.Purpose,", "User: d.ev.UserID + d.ev.AnonymousID, Purpose: f.Purpose,",
           "consent-filter", "the privacy centre's tally counts anonymous visitors among the users seen"),
]

# Failure messages of TestE2E's checks (a t.Fatal of the set-up is no catch).
CHECKS = ("oracle:", "leak:", "snapshot:", "dlq:", "consent.decisions:", "python ", "kcat:", "scenario:", "service exited", "identity:")

BINARIES = ["producer", "consent-filter", "anonymizer", "dataset-sink", "consentflow"]


def build_binary(src, binary, out):
    pkg = "./cmd/consentflow" if binary == "consentflow" else "./services/%s/cmd/%s" % (binary, binary)
    subprocess.run(["go", "build", "-o", os.path.join(out, binary), pkg], cwd=src, check=True)


def failure_lines(text):
    """The failure messages of a TestE2E run (its t.Error lines), shortened."""
    out = []
    for line in text.splitlines():
        m = re.search(r"e2e_test\.go:\d+: (.*)$", line)
        if m and not m.group(1).startswith("["):
            out.append(m.group(1)[:300])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated mutant names")
    ap.add_argument("--events", type=int, default=int(os.environ.get("MUTANT_EVENTS", "4000")))
    ap.add_argument("--rate", type=float, default=float(os.environ.get("MUTANT_RATE", "200")))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "mutants"))
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--check", action="store_true", help="only check that every mutant still applies to the code")
    ap.add_argument("--fault", action="store_true", help="run TestFault (faults injected, FAULT_EVENTS) instead of TestE2E")
    a = ap.parse_args()
    a.out = os.path.abspath(a.out)  # the tests run in e2e/
    if a.list:
        for m in MUTANTS:
            print("%-32s %-16s %s" % (m.name, m.binary, m.what))
        return 0
    stale = [m for m in MUTANTS if open(os.path.join(ROOT, m.path), encoding="utf-8").read().count(m.old) != 1]
    for m in stale:
        print("mutant %s no longer applies to %s: update e2e/mutants.py" % (m.name, m.path), file=sys.stderr)
    if a.check or stale:
        if not stale:
            print("all %d mutants apply" % len(MUTANTS))
        return 1 if stale else 0
    chosen = [m for m in MUTANTS if not a.only or m.name in a.only.split(",")]
    if a.only and len(chosen) != len(a.only.split(",")):
        print("unknown mutant in --only %s; --list shows them" % a.only, file=sys.stderr)
        return 2
    os.makedirs(a.out, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="consentflow-mutants-")
    src = os.path.join(scratch, "src")
    # The working tree as it is (uncommitted changes included), without outputs.
    subprocess.run("tar -C %s --exclude=./out --exclude=./bin --exclude=./.git -cf - . | (mkdir -p %s && tar -C %s -xf -)" % (ROOT, src, src),
                   shell=True, check=True)
    bindir = os.path.join(ROOT, "bin")
    for b in BINARIES:
        if not os.path.exists(os.path.join(bindir, b)):
            print("bin/%s missing: run `make build` first" % b, file=sys.stderr)
            return 2
    results = []
    t_all = time.time()
    for m in chosen:
        t0 = time.time()
        res = {"mutant": m.name, "what": m.what, "file": m.path, "binary": m.binary}
        path = os.path.join(src, m.path)
        with open(os.path.join(ROOT, m.path), encoding="utf-8") as f:
            original = f.read()
        if original.count(m.old) != 1:
            res.update(status="NOT APPLIED", detail="%r occurs %d times in %s: update e2e/mutants.py" % (m.old[:60], original.count(m.old), m.path))
            results.append(res)
            print("%-32s NOT APPLIED: %s" % (m.name, res["detail"]), flush=True)
            continue
        mbin = os.path.join(scratch, "bin-" + m.name)
        os.makedirs(mbin)
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original.replace(m.old, m.new))
            for b in BINARIES:
                if b != m.binary:
                    os.symlink(os.path.join(bindir, b), os.path.join(mbin, b))
            build_binary(src, m.binary, mbin)
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)
        env = dict(os.environ, CONSENTFLOW_E2E="1", CONSENTFLOW_BIN=mbin, E2E_OUT=os.path.join(a.out, m.name),
                   E2E_EVENTS=str(a.events), E2E_RATE=str(a.rate))
        test, timeout = "^TestE2E$", "10m"
        if a.fault:
            env.update(CONSENTFLOW_FAULT="1", E2E_SPARK="0")
            test, timeout = "^TestFault$", "20m"
        p = subprocess.run(["go", "test", "-count=1", "-v", "-p", "1", "-timeout", timeout, "-run", test, "."],
                           cwd=os.path.join(ROOT, "e2e"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with open(os.path.join(a.out, m.name + ".log"), "w", encoding="utf-8") as f:
            f.write(p.stdout)
        fails = failure_lines(p.stdout)
        checks = [l for l in fails if l.startswith(CHECKS)]
        if p.returncode == 0:
            res["status"] = "SURVIVED"
        elif not checks:
            res["status"] = "ERROR"  # the run broke before its checks (setup, drain): not a catch
            res["detail"] = fails[:5] or p.stdout.splitlines()[-5:]
        else:
            res["status"] = "CAUGHT"
            res["by_oracle"] = any(l.startswith("oracle:") for l in checks)
            fails = checks
        res["failures"] = fails[:12]
        res["seconds"] = round(time.time() - t0, 1)
        results.append(res)
        first = fails[0].split("\n")[0] if fails else ""
        print("%-32s %-8s %5.0fs  %s" % (m.name, res["status"], res["seconds"], first), flush=True)
    summary = {"suite": "TestFault" if a.fault else "TestE2E", "events": a.events, "rate": a.rate, "seconds": round(time.time() - t_all, 1), "mutants": results,
               "caught": sum(r["status"] == "CAUGHT" for r in results), "total": len(results)}
    with open(os.path.join(a.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    print("%d of %d mutants caught in %.0f s (%s)" % (summary["caught"], summary["total"], summary["seconds"],
                                                     os.path.join(a.out, "summary.json")))
    if not a.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if summary["caught"] == summary["total"] else 1


if __name__ == "__main__":
    sys.exit(main())
