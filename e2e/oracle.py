#!/usr/bin/env python3
"""An independent consent oracle for consentflow's acceptance suites.

Written from docs/ARCHITECTURE.md alone ("Consent semantics" and "Datasets for ML
teams"), in another language and form than the Go code, sharing no code and no
policy parsing with services/consent-filter. It reads what the load generator
sent and what the services answered, the policy file, and the Kafka topics and
snapshot the chain produced, and says for every event whether it must be in
`events.curated` and in the snapshot, re-deriving every decision of
`consent.decisions` from the consent changes it used.

Inputs (files; the Kafka topics decoded by `thirdparty.py topic`):

  --log FILE        the load generator's log: every event (received_at as the
                    producer answered it) and consent change (version and
                    effective_at as the consent API answered them), in Seq order
                    per tenant (pkg/loadgen)
  --policy FILE     the policy YAML the consent-filter runs with
  --purpose NAME    the chain's purpose
  --changes FILE    consent.changes    {partition, offset, key, value}
  --raw FILE        events.raw         (event_id, ids, received_at, gpc, jurisdiction)
  --decisions FILE  consent.decisions
  --curated FILE    events.curated
  --rows FILE       the snapshot's rows (event_id, consent_version, tenant_consent_version)
  --out FILE        the full report (JSON)

Prints one JSON summary line on stdout; exit status 0 (the caller judges the
report). `python3 oracle.py --help` lists the options.

How an event is judged (the doc's rules, spelled out in `decide`):

* The facts of an event are what the client sent (tenant, subject, jurisdiction,
  Sec-GPC) and the received_at the producer stamped.
* The record of a key (`user:<subject>/<purpose>`, `tenant:<tenant>/<purpose>`) a
  decision may use is any change of that key at least as new as the newest change
  the consent API had answered before the event was sent (the load generator
  sends a tenant's actions one after the other, so "before" is the log's Seq
  order), or none if there was none. The filter may legitimately have seen newer
  changes (made after the event); the decision names the versions it used, the
  oracle checks that they are admissible and re-derives the decision from them.
  Events whose outcome is the same under every admissible state are reported as
  "determinate"; the others as "timing-dependent" (resolved by the versions the
  decision recorded, which the oracle has verified).
* An allowed event must be in events.curated; a denied one must not. In the
  snapshot an allowed event's row must be there exactly once unless a DENIED
  change of its user or tenant covers it: a DENIED at version v covers a row
  unless the row was decided on a later change of the same key.

Only the identity rules (which keys govern an event) live in `subject_keys`; the
identity model of issue 13 (subjects per tenant, global ids, stitching) is to be
carried in there.
"""
import argparse
import collections
import datetime
import json
import sys

import yaml

REASONS = {
    # reason -> (allow, which record the decision rests on)
    "tenant_opt_out": (False, "tenant"),
    "tenant_consent_after_event": (False, "tenant"),
    "user_opt_out": (False, "user"),
    "consent_after_event": (False, "user"),
    "allowed_consent": (True, "user"),
    "gpc": (False, None),
    "no_consent": (False, None),
    "allowed_opt_out_regime": (True, None),
}

GRANTED, DENIED = "GRANTED", "DENIED"


# ---------------------------------------------------------------- policy


class PolicyError(Exception):
    pass


class Policy:
    """The policy file as ARCHITECTURE.md describes it."""

    def __init__(self, doc):
        if not isinstance(doc, dict):
            raise PolicyError("policy: not a mapping")
        self.version = doc.get("version")
        if not isinstance(self.version, str) or not self.version.strip():
            raise PolicyError("policy: version is required")
        self.default_regime = doc.get("default_regime", "opt_in")
        self._check_regime("default_regime", self.default_regime)
        self.gpc_denies = doc.get("gpc_denies", True)
        if not isinstance(self.gpc_denies, bool):
            raise PolicyError("policy: gpc_denies must be true or false")
        self.purposes = doc.get("purposes") or {}
        self.jurisdictions = {}
        for code, regime in (doc.get("jurisdictions") or {}).items():
            self._check_regime("jurisdictions.%s" % code, regime)
            self.jurisdictions[self._norm(code)] = regime

    @staticmethod
    def _norm(code):
        return str(code).strip().upper()

    @staticmethod
    def _check_regime(where, regime):
        if regime not in ("opt_in", "opt_out"):
            raise PolicyError("policy: %s: regime must be opt_in or opt_out, got %r" % (where, regime))

    def regime(self, jurisdiction):
        """Exact code, else its country (before the first '-'), else the default."""
        code = self._norm(jurisdiction or "")
        if not code:
            return self.default_regime, "missing jurisdiction -> default_regime"
        if code in self.jurisdictions:
            return self.jurisdictions[code], "%s listed" % code
        country = code.split("-", 1)[0]
        if "-" in code and country in self.jurisdictions:
            return self.jurisdictions[country], "%s not listed, its country %s is" % (code, country)
        return self.default_regime, "%s not listed -> default_regime" % code

    def gpc_denies_for(self, purpose):
        p = self.purposes.get(purpose)
        if isinstance(p, dict) and "gpc_denies" in p:
            return bool(p["gpc_denies"])
        return self.gpc_denies


def load_policy(path):
    with open(path, encoding="utf-8") as f:
        return Policy(yaml.safe_load(f))


# ---------------------------------------------------------------- identity


def subject_keys(event, purpose):
    """The consent keys that govern an event: (user key, tenant key).

    The subject is the user id, or the anonymous id when there is none; its
    records are those of user:<subject>/<purpose>. The identity rules of issue 13
    (subjects per tenant, global ids, anonymous-id stitching) belong here.
    """
    subject = event.get("user_id") or event.get("anonymous_id") or ""
    return "user:%s/%s" % (subject, purpose), "tenant:%s/%s" % (event["tenant_id"], purpose)


def change_key(subject_type, subject_id, purpose):
    """The key of a consent change on consent.changes."""
    return "%s:%s/%s" % ("tenant" if subject_type.lower() == "tenant" else "user", subject_id, purpose)


# ---------------------------------------------------------------- the rules


class Change:
    __slots__ = ("key", "partition", "offset", "status", "effective_ms", "source")

    def __init__(self, key, partition, offset, status, effective_ms, source):
        self.key, self.partition, self.offset = key, partition, offset
        self.status, self.effective_ms, self.source = status, effective_ms, source

    @property
    def version(self):
        return "%d:%d" % (self.partition, self.offset)

    def describe(self):
        return "%s %s at %s (version %s)" % (self.key, self.status, fmt_ms(self.effective_ms), self.version)


Verdict = collections.namedtuple("Verdict", "allow reason rule rests_on")


def decide(received_ms, jurisdiction, gpc, user, tenant, policy, purpose):
    """The decision of ARCHITECTURE.md, rules 1-4, on the given records (or None)."""
    if tenant is not None:
        if tenant.status == DENIED:
            return Verdict(False, "tenant_opt_out", "rule 1: %s -> deny" % tenant.describe(), "tenant")
        if tenant.effective_ms > received_ms:
            return Verdict(False, "tenant_consent_after_event",
                           "rule 1: %s, after received_at %s -> deny" % (tenant.describe(), fmt_ms(received_ms)), "tenant")
    if user is not None:
        if user.status == DENIED:
            return Verdict(False, "user_opt_out", "rule 2: %s -> deny" % user.describe(), "user")
        if user.effective_ms <= received_ms:
            return Verdict(True, "allowed_consent",
                           "rule 3: %s, at or before received_at %s -> allow" % (user.describe(), fmt_ms(received_ms)), "user")
        return Verdict(False, "consent_after_event",
                       "rule 3: %s, after received_at %s -> deny" % (user.describe(), fmt_ms(received_ms)), "user")
    regime, why = policy.regime(jurisdiction)
    if regime == "opt_out":
        if gpc and policy.gpc_denies_for(purpose):
            return Verdict(False, "gpc", "rule 4: no user record, opt_out (%s), Sec-GPC: 1 and gpc_denies -> deny" % why, None)
        return Verdict(True, "allowed_opt_out_regime",
                       "rule 4: no user record, opt_out (%s)%s -> allow" % (why, ", GPC not a denial here" if gpc else ""), None)
    return Verdict(False, "no_consent", "rule 4: no user record, opt_in (%s) -> deny" % why, None)


def covered(row_version, denials):
    """Is a row decided on row_version (a Change or None) of a key covered by one of
    that key's DENIED changes? A DENIED at v covers the row unless the row was
    decided on a later change of the same key."""
    for d in denials:
        if row_version is None or row_version.offset <= d.offset:
            return d
    return None


# ---------------------------------------------------------------- helpers


def ms_of(value):
    """Epoch milliseconds of an RFC 3339 string or a number."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    s = str(value)
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    # Python < 3.11 takes at most 6 fraction digits; Go writes up to 9.
    if "." in s:
        head, rest = s.split(".", 1)
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        s = head + "." + rest[:i][:6].ljust(6, "0") + rest[i:]
    dt = datetime.datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    d = dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000


def fmt_ms(ms):
    if ms is None:
        return "?"
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def parse_version(v):
    if not v:
        return None
    p, _, o = str(v).partition(":")
    return int(p), int(o)


def read_jsonl(path):
    if not path:
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


# ---------------------------------------------------------------- the oracle


class Report:
    def __init__(self, limit):
        self.limit = limit
        self.counts = collections.Counter()
        self.failures = collections.defaultdict(list)  # category -> examples
        self.failure_counts = collections.Counter()
        self.undecidable = []

    def fail(self, category, message):
        self.failure_counts[category] += 1
        if len(self.failures[category]) < self.limit:
            self.failures[category].append(message)


class Oracle:
    def __init__(self, policy, purpose, report):
        self.policy, self.purpose, self.r = policy, purpose, report
        self.by_version = {}  # (partition, offset) -> Change
        self.by_key = collections.defaultdict(list)  # key -> [Change] by offset
        self.log_changes = collections.defaultdict(list)  # key -> [(seq, line)] from the log
        self.events = {}  # event_id -> log line
        self.tenant_seq = collections.defaultdict(list)

    # -- facts -----------------------------------------------------------------

    def load_log(self, path):
        for line in read_jsonl(path):
            if line["kind"] == "event":
                self.events[line["event_id"]] = line
            elif line["kind"] == "consent":
                if line.get("purpose", self.purpose) != self.purpose:
                    continue
                key = change_key(line["subject_type"], line["subject_id"], self.purpose)
                self.log_changes[key].append(line)
        for lines in self.log_changes.values():
            lines.sort(key=lambda l: l["seq"])

    def load_changes(self, path):
        """consent.changes as written; the answered changes of the log are added
        when the topic no longer holds them (compaction)."""
        for rec in read_jsonl(path):
            v = rec.get("value") or {}
            if v.get("purpose") != self.purpose:
                continue
            key = rec.get("key") or change_key(v["subject_type"], v["subject_id"], self.purpose)
            want = change_key(v["subject_type"], v["subject_id"], v["purpose"])
            if key != want:
                self.r.fail("consent.changes", "record %d:%d has key %r but its value is %s" % (rec["partition"], rec["offset"], key, want))
            self._add(Change(key, rec["partition"], rec["offset"], v["status"], ms_of(v["effective_at"]), "topic"))
        for key, lines in self.log_changes.items():
            for l in lines:
                if not l.get("applied"):
                    continue
                pv = parse_version(l.get("version"))
                if pv is None:
                    self.r.fail("consent api", "change seq %d of %s was applied but the API answered no version" % (l["seq"], key))
                    continue
                eff = ms_of(l.get("effective_at"))
                c = self.by_version.get(pv)
                if c is None:
                    self.r.counts["changes_only_in_log"] += 1
                    self._add(Change(key, pv[0], pv[1], l["status"], eff, "log"))
                elif c.key != key or c.status != l["status"] or c.effective_ms != eff:
                    self.r.fail("consent api", "the API answered %s %s at %s as version %s, consent.changes holds %s" % (
                        key, l["status"], fmt_ms(eff), l["version"], c.describe()))
        for key, cs in self.by_key.items():
            cs.sort(key=lambda c: c.offset)
            if len({c.partition for c in cs}) > 1:
                self.r.fail("consent.changes", "key %s is on several partitions" % key)
            # A change on the topic that no request of the log explains.
            answered = {l.get("version") for l in self.log_changes.get(key, []) if l.get("applied")}
            unsure = collections.Counter(l["status"] for l in self.log_changes.get(key, [])
                                         if not l.get("applied") or l.get("attempts", 1) > 1)
            for c in cs:
                if c.version in answered:
                    continue
                if unsure[c.status] > 0:
                    self.r.counts["changes_from_unanswered_requests"] += 1
                    continue
                self.r.fail("consent.changes", "%s: no request of the load generator explains it" % c.describe())

    def _add(self, c):
        self.by_version[(c.partition, c.offset)] = c
        self.by_key[c.key].append(c)

    def floor(self, key, seq):
        """The newest change of key answered before the action seq was sent."""
        best = None
        for l in self.log_changes.get(key, []):
            if l["seq"] >= seq:
                break
            if l.get("applied"):
                pv = parse_version(l.get("version"))
                c = self.by_version.get(pv) if pv else None
                if c is not None and (best is None or c.offset > best.offset):
                    best = c
        return best

    def admissible(self, key, seq):
        """Records of key a decision of the event at seq may use (None: no record)."""
        lo = self.floor(key, seq)
        out = [] if lo is not None else [None]
        out += [c for c in self.by_key.get(key, []) if lo is None or c.offset >= lo.offset]
        return out

    def check_version(self, key, seq, version, what, event_id):
        """The Change a decision says it used, checked for admissibility; returns
        (ok, change)."""
        lo = self.floor(key, seq)
        if not version:
            if lo is not None:
                self.r.fail("stale state", "%s: the decision used no %s record, but %s was answered before the event was sent" % (
                    event_id, what, lo.describe()))
                return False, None
            return True, None
        pv = parse_version(version)
        c = self.by_version.get(pv)
        if c is None:
            self.r.fail("unknown version", "%s: the decision used %s version %s, which is no change on consent.changes" % (event_id, what, version))
            return False, None
        if c.key != key:
            self.r.fail("wrong record", "%s: the decision used %s as its %s record, the event's key is %s" % (event_id, c.describe(), what, key))
            return False, c
        if lo is not None and c.offset < lo.offset:
            self.r.fail("stale state", "%s: the decision used %s, older than %s answered before the event was sent" % (
                event_id, c.describe(), lo.describe()))
            return False, c
        return True, c

    # -- judgement -------------------------------------------------------------

    def run(self, raw_path, decisions_path, curated_path, rows_path, ignore_prefix):
        r = self.r
        raw = collections.defaultdict(list)  # event_id -> [received_ms]
        for rec in read_jsonl(raw_path):
            v = rec.get("value") or {}
            eid = v.get("event_id", "")
            if ignore_prefix and eid.startswith(ignore_prefix):
                continue
            e = self.events.get(eid)
            if e is None:
                r.fail("unknown event", "events.raw %d:%d holds event %s that the load generator did not send" % (rec["partition"], rec["offset"], eid))
                continue
            raw[eid].append(ms_of(v.get("received_at")))
            sent = (e.get("tenant_id"), e.get("user_id") or None, e.get("anonymous_id") or None, e.get("jurisdiction") or None, bool(e.get("gpc")))
            got = (v.get("tenant_id"), v.get("user_id") or None, v.get("anonymous_id") or None, v.get("jurisdiction") or None, bool(v.get("gpc")))
            if sent != got:
                r.fail("producer", "event %s: sent (tenant, user, anonymous, jurisdiction, gpc) %s, events.raw holds %s" % (eid, sent, got))
        decisions = collections.defaultdict(list)
        for rec in read_jsonl(decisions_path):
            v = rec["value"]
            if v.get("event_id") not in self.events:
                r.fail("unknown event", "consent.decisions %d:%d decides event %r that the load generator did not send" % (rec["partition"], rec["offset"], v.get("event_id")))
                continue
            decisions[v["event_id"]].append(v)
        curated = collections.defaultdict(list)
        for rec in read_jsonl(curated_path):
            curated[rec["value"]["event_id"]].append(rec["value"])
        rows = collections.defaultdict(list)
        for row in read_jsonl(rows_path):
            rows[row["event_id"]].append(row)
        for eid in list(curated) + list(rows):
            if eid not in self.events:
                r.fail("unknown event", "event %r in the outputs was not sent by the load generator" % eid)

        denials = collections.defaultdict(list)
        for key, cs in self.by_key.items():
            denials[key] = [c for c in cs if c.status == DENIED]

        for eid, e in self.events.items():
            self.judge(e, raw.get(eid, []), decisions.get(eid, []), curated.get(eid, []), rows.get(eid, []), denials)

    def judge(self, e, raw_copies, decs, cur, rows, denials):
        r = self.r
        eid, seq = e["event_id"], e["seq"]
        r.counts["events"] += 1
        ukey, tkey = subject_keys(e, self.purpose)
        received = ms_of(e.get("received_at"))
        if e.get("accepted"):
            r.counts["accepted"] += 1
            if received is None:
                r.fail("producer", "event %s: 202 without received_at" % eid)
            elif received not in raw_copies:
                r.fail("lost", "event %s: accepted (202, received_at %s) but not in events.raw with that received_at (copies: %s)" % (
                    eid, fmt_ms(received), [fmt_ms(x) for x in raw_copies]))
        if not raw_copies:
            # Never reached Kafka: must be nowhere.
            r.counts["never_in_kafka"] += 1
            r.counts["must_be_absent"] += 1
            if decs or cur or rows:
                r.fail("leaked", "event %s never reached events.raw but has %d decisions, %d curated, %d rows" % (eid, len(decs), len(cur), len(rows)))
            return
        # Every copy in events.raw is decided (a retry may have written it twice).
        decided_at = collections.Counter(ms_of(d.get("received_at")) for d in decs)
        for rc in set(raw_copies):
            if decided_at[rc] == 0:
                r.fail("undecided", "event %s (received_at %s) is in events.raw but has no decision" % (eid, fmt_ms(rc)))
        verdicts = []
        for d in decs:
            rec_ms = ms_of(d.get("received_at"))
            if rec_ms not in raw_copies:
                r.fail("decision", "event %s: decision on received_at %s, events.raw has %s" % (eid, fmt_ms(rec_ms), [fmt_ms(x) for x in raw_copies]))
            verdicts.append(self.check_decision(e, d, rec_ms, ukey, tkey))
        if not decs:
            return

        # Timing: does the outcome depend on which admissible records the filter saw?
        outcomes = set()
        for rc in set(raw_copies):
            for u in self.admissible(ukey, seq):
                for t in self.admissible(tkey, seq):
                    v = decide(rc, e.get("jurisdiction"), bool(e.get("gpc")), u, t, self.policy, self.purpose)
                    kept = v.allow and not covered(u, denials[ukey]) and not covered(t, denials[tkey])
                    outcomes.add((v.allow, kept))
        r.counts["determinate" if len(outcomes) == 1 else "timing_dependent"] += 1

        # Expected outputs, from the decisions as re-derived (a wrong one already failed).
        allows = [(d, u, t) for d, (ok, u, t) in zip(decs, verdicts) if d["decision"] == "ALLOW"]
        if allows and len(allows) < len(decs):
            r.undecidable.append({"event_id": eid, "why": "redelivered and decided differently: %s" % sorted({d["reason"] for d in decs})})
            r.counts["undecidable"] += 1
            return
        if not allows:
            r.counts["must_be_absent"] += 1
            if cur:
                r.fail("leaked", "event %s: denied (%s) but in events.curated" % (eid, decs[0]["reason"]))
            if rows:
                r.fail("leaked", "event %s: denied (%s) but in the snapshot" % (eid, decs[0]["reason"]))
            return
        # Allowed: in events.curated, with the versions a decision used.
        if not cur:
            r.fail("lost", "event %s: allowed (%s) but not in events.curated" % (eid, allows[0][0]["reason"]))
        used = {(d.get("consent_version") or None, d.get("tenant_consent_version") or None) for d, _, _ in allows}
        for where, recs in (("curated record", cur), ("snapshot row", rows)):
            for c in recs:
                got = (c.get("consent_version") or None, c.get("tenant_consent_version") or None)
                if got not in used:
                    r.fail("versions", "event %s: %s carries versions %s, its decisions used %s" % (eid, where, got, sorted(used, key=str)))
        cover = set()
        why = []
        for d, u, t in allows:
            cu, ct = covered(u, denials[ukey]), covered(t, denials[tkey])
            cover.add(bool(cu or ct))
            if cu or ct:
                why.append("erased by %s" % (cu or ct).describe())
        if len(cover) > 1:
            r.undecidable.append({"event_id": eid, "why": "redelivered with different versions, erased under one and not the other"})
            r.counts["undecidable"] += 1
            return
        if cover.pop():
            r.counts["must_be_absent"] += 1
            r.counts["erased"] += 1
            if rows:
                r.fail("not erased", "event %s: allowed (%s), then %s, but in the snapshot" % (eid, allows[0][0]["reason"], why[0]))
            return
        r.counts["must_pass"] += 1
        if len(rows) == 0:
            r.fail("lost", "event %s: allowed (%s) and not erased, but not in the snapshot" % (eid, allows[0][0]["reason"]))
        elif len(rows) > 1:
            r.fail("duplicated", "event %s: %d rows in the snapshot" % (eid, len(rows)))

    def check_decision(self, e, d, received_ms, ukey, tkey):
        """Re-derive one decision from the records it names; returns (ok, user, tenant)."""
        r = self.r
        eid, seq = e["event_id"], e["seq"]
        r.counts["decisions"] += 1
        reason = d.get("reason")
        if reason not in REASONS:
            r.fail("decision", "event %s: unknown reason %r" % (eid, reason))
            return False, None, None
        allow, rests_on = REASONS[reason]
        if (d.get("decision") == "ALLOW") != allow:
            r.fail("decision", "event %s: decision %s with reason %s" % (eid, d.get("decision"), reason))
        if d.get("policy_version") != self.policy.version:
            r.fail("decision", "event %s: policy_version %r, the policy file is %r" % (eid, d.get("policy_version"), self.policy.version))
        if d.get("purpose") != self.purpose:
            r.fail("decision", "event %s: purpose %r" % (eid, d.get("purpose")))
        cv, tv = d.get("consent_version") or None, d.get("tenant_consent_version") or None
        # The record the decision rests on is consent_version: the tenant's for
        # rule 1, the user's for rules 2-3, none for rule 4.
        if rests_on == "tenant" and cv != tv:
            r.fail("decision", "event %s: %s rests on the tenant's record, but consent_version %s != tenant_consent_version %s" % (eid, reason, cv, tv))
        ok_t, tenant = self.check_version(tkey, seq, tv, "tenant", eid)
        user, ok_u = None, True
        if rests_on == "user":
            ok_u, user = self.check_version(ukey, seq, cv, "user", eid)
        elif rests_on is None:
            if cv:
                r.fail("decision", "event %s: %s rests on the regime, but names consent_version %s" % (eid, reason, cv))
            ok_u, user = self.check_version(ukey, seq, None, "user", eid)
        want = decide(received_ms, e.get("jurisdiction"), bool(e.get("gpc")), user, tenant, self.policy, self.purpose)
        if rests_on == "tenant":
            # The user's record is not named (the tenant's decides); rule 1 must.
            agree = want.reason == reason
        else:
            agree = (want.allow, want.reason) == (d.get("decision") == "ALLOW", reason)
        if not agree:
            r.fail("decision", "event %s (seq %d, %s, jurisdiction %r, gpc %s, received_at %s): the chain said %s %s; oracle: %s %s by %s" % (
                eid, seq, "user %s" % e["user_id"] if e.get("user_id") else "anonymous %s" % e.get("anonymous_id"),
                e.get("jurisdiction") or "", bool(e.get("gpc")), fmt_ms(received_ms), d.get("decision"), reason,
                "ALLOW" if want.allow else "DENY", want.reason, want.rule))
        r.counts["reason:" + reason] += 1
        return ok_t and ok_u and agree, user, tenant


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--purpose", default="ai_training")
    ap.add_argument("--changes", required=True)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--decisions", required=True)
    ap.add_argument("--curated", required=True)
    ap.add_argument("--rows", required=True)
    ap.add_argument("--ignore-prefix", default="poison-", help="event ids injected by the test itself (poison)")
    ap.add_argument("--limit", type=int, default=25, help="examples kept per failure category")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    rep = Report(a.limit)
    o = Oracle(load_policy(a.policy), a.purpose, rep)
    o.load_log(a.log)
    o.load_changes(a.changes)
    o.run(a.raw, a.decisions, a.curated, a.rows, a.ignore_prefix)
    out = {
        "policy_version": o.policy.version,
        "counts": dict(sorted(rep.counts.items())),
        "failures": dict(sorted(rep.failure_counts.items())),
        "examples": {k: v for k, v in sorted(rep.failures.items())},
        "undecidable": rep.undecidable,
    }
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    summary = {k: out[k] for k in ("counts", "failures")}
    summary["undecidable"] = len(rep.undecidable)
    summary["examples"] = {k: v[:5] for k, v in out["examples"].items()}
    summary["undecidable_examples"] = rep.undecidable[:10]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
