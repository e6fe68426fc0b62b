#!/usr/bin/env python3
"""Tests of oracle.py against the rules as ARCHITECTURE.md states them (not against
the Go code). Run: python3 -m unittest e2e/oracle_test.py (make e2e runs them)."""
import json
import os
import tempfile
import unittest

import oracle
from oracle import Change, Policy, decide, covered

POLICY = {
    "version": "t-1",
    "default_regime": "opt_in",
    "gpc_denies": False,
    "purposes": {"ai_training": {"gpc_denies": True}, "analytics": {}},
    "jurisdictions": {"DE": "opt_in", "us": "opt_out", "US-CA": "opt_out", "BR": "opt_in"},
}
T0 = 1_700_000_000_000


def ch(key, status, eff, offset, partition=0):
    return Change(key, partition, offset, status, eff, "test")


class RegimeTest(unittest.TestCase):
    def setUp(self):
        self.p = Policy(POLICY)

    def test_lookup(self):
        self.assertEqual(self.p.regime("DE")[0], "opt_in")
        self.assertEqual(self.p.regime("US-CA")[0], "opt_out")
        self.assertEqual(self.p.regime("US-NY")[0], "opt_out", "a subdivision falls back to its country")
        self.assertEqual(self.p.regime(" us ")[0], "opt_out", "codes compare case-insensitively, trimmed")
        self.assertEqual(self.p.regime("AQ")[0], "opt_in", "unlisted -> default")
        self.assertEqual(self.p.regime("")[0], "opt_in", "missing -> default")
        self.assertEqual(self.p.regime("FR-75")[0], "opt_in", "unlisted country -> default")

    def test_gpc_per_purpose(self):
        self.assertTrue(self.p.gpc_denies_for("ai_training"), "the purpose overrides")
        self.assertFalse(self.p.gpc_denies_for("analytics"), "a purpose without the setting uses the file's")
        self.assertFalse(self.p.gpc_denies_for("unlisted"))
        self.assertTrue(Policy({"version": "x"}).gpc_denies_for("any"), "gpc_denies defaults to true")

    def test_invalid(self):
        for doc in [{}, {"version": ""}, {"version": "v", "default_regime": "maybe"},
                    {"version": "v", "jurisdictions": {"DE": "yes"}}, {"version": "v", "gpc_denies": "yes"}]:
            with self.assertRaises(oracle.PolicyError):
                Policy(doc)


class RulesTest(unittest.TestCase):
    def setUp(self):
        self.p = Policy(POLICY)
        self.u, self.t = "user:u1/ai_training", "tenant:t1/ai_training"

    def d(self, jur="DE", gpc=False, user=None, tenant=None, at=T0):
        v = decide(at, jur, gpc, user, tenant, self.p, "ai_training")
        return v.allow, v.reason

    def test_rules_in_order(self):
        grant_before = ch(self.u, "GRANTED", T0 - 1, 1)
        grant_same = ch(self.u, "GRANTED", T0, 1)
        grant_after = ch(self.u, "GRANTED", T0 + 1, 1)
        deny = ch(self.u, "DENIED", T0 - 5, 2)
        t_deny = ch(self.t, "DENIED", T0 - 5, 3)
        t_grant_before = ch(self.t, "GRANTED", T0 - 5, 3)
        t_grant_after = ch(self.t, "GRANTED", T0 + 5, 3)
        cases = [
            (dict(user=grant_before, tenant=t_deny), (False, "tenant_opt_out")),
            (dict(user=grant_before, tenant=t_grant_after), (False, "tenant_consent_after_event")),
            (dict(jur="US", tenant=t_grant_after), (False, "tenant_consent_after_event")),
            (dict(user=deny, tenant=t_grant_before), (False, "user_opt_out")),
            (dict(jur="US", user=deny), (False, "user_opt_out")),
            (dict(user=grant_before), (True, "allowed_consent")),
            (dict(user=grant_same), (True, "allowed_consent")),
            (dict(user=grant_after), (False, "consent_after_event")),
            (dict(jur="US", gpc=True, user=grant_before), (True, "allowed_consent")),
            (dict(jur="US"), (True, "allowed_opt_out_regime")),
            (dict(jur="US-NY", gpc=True), (False, "gpc")),
            (dict(jur="US", gpc=True, tenant=t_grant_before), (False, "gpc")),
            (dict(jur="DE", gpc=True), (False, "no_consent")),
            (dict(jur=""), (False, "no_consent")),
            (dict(jur="DE", tenant=t_grant_before), (False, "no_consent")),
        ]
        for kw, want in cases:
            self.assertEqual(self.d(**kw), want, kw)

    def test_coverage_by_version(self):
        deny = ch(self.u, "DENIED", T0, 5)
        self.assertIs(covered(None, [deny]), deny, "a row decided on the regime is covered")
        self.assertIs(covered(ch(self.u, "GRANTED", T0 - 9, 3), [deny]), deny)
        self.assertIsNone(covered(ch(self.u, "GRANTED", T0 + 9, 7), [deny]), "a re-grant after the denial is kept")
        self.assertIsNone(covered(None, []))


def write(path, lines):
    with open(path, "w") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")


class OracleRunTest(unittest.TestCase):
    """The whole judgement on a tiny run, then with one thing broken at a time."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.policy = os.path.join(self.dir, "policy.yaml")
        with open(self.policy, "w") as f:
            json.dump(POLICY, f)  # JSON is YAML
        iso = lambda ms: oracle.datetime.datetime.fromtimestamp(ms / 1000, oracle.datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        self.iso = iso
        # u1 grants (v 0:0), e1 allowed; u1 withdraws (0:1): e1 erased, e2 denied;
        # e3 of u2 (US, no record) allowed and kept; e4 (anonymous, DE) denied.
        # e5 of u1 is decided after u1's re-grant (0:2) although sent before it:
        # consent_after_event.
        self.log = [
            {"kind": "consent", "seq": 1, "subject_type": "user", "subject_id": "u1", "tenant_id": "t1", "purpose": "ai_training",
             "status": "GRANTED", "applied": True, "version": "0:0", "effective_at": iso(T0), "attempts": 1},
            {"kind": "event", "seq": 2, "event_id": "e1", "user_id": "u1", "tenant_id": "t1", "jurisdiction": "DE", "gpc": False,
             "accepted": True, "received_at": iso(T0 + 10)},
            {"kind": "consent", "seq": 3, "subject_type": "user", "subject_id": "u1", "tenant_id": "t1", "purpose": "ai_training",
             "status": "DENIED", "applied": True, "version": "0:1", "effective_at": iso(T0 + 20), "attempts": 1},
            {"kind": "event", "seq": 4, "event_id": "e2", "user_id": "u1", "tenant_id": "t1", "jurisdiction": "DE", "gpc": False,
             "accepted": True, "received_at": iso(T0 + 30)},
            {"kind": "event", "seq": 5, "event_id": "e3", "user_id": "u2", "tenant_id": "t1", "jurisdiction": "US", "gpc": False,
             "accepted": True, "received_at": iso(T0 + 31)},
            {"kind": "event", "seq": 6, "event_id": "e4", "anonymous_id": "a1", "tenant_id": "t1", "jurisdiction": "DE", "gpc": False,
             "accepted": True, "received_at": iso(T0 + 32)},
            {"kind": "event", "seq": 7, "event_id": "e5", "user_id": "u1", "tenant_id": "t1", "jurisdiction": "DE", "gpc": False,
             "accepted": True, "received_at": iso(T0 + 33)},
            {"kind": "consent", "seq": 8, "subject_type": "user", "subject_id": "u1", "tenant_id": "t1", "purpose": "ai_training",
             "status": "GRANTED", "applied": True, "version": "0:2", "effective_at": iso(T0 + 40), "attempts": 1},
            {"kind": "event", "seq": 9, "event_id": "e6", "user_id": "u9", "tenant_id": "t1", "jurisdiction": "US", "gpc": False,
             "accepted": False},
        ]
        self.changes = [
            {"partition": 0, "offset": i, "key": "user:u1/ai_training",
             "value": {"subject_type": "USER", "subject_id": "u1", "purpose": "ai_training", "status": s, "effective_at": T0 + eff}}
            for i, (s, eff) in enumerate([("GRANTED", 0), ("DENIED", 20), ("GRANTED", 40)])
        ]
        self.raw = [{"partition": 0, "offset": i, "value": {"event_id": e["event_id"], "tenant_id": "t1", "user_id": e.get("user_id"),
                                                             "anonymous_id": e.get("anonymous_id"), "jurisdiction": e["jurisdiction"],
                                                             "gpc": False, "received_at": oracle.ms_of(e["received_at"])}}
                    for i, e in enumerate(l for l in self.log if l["kind"] == "event" and l["accepted"])]
        rec = lambda eid, dec, reason, cv=None, off=0: {"partition": 0, "offset": off, "value": {
            "event_id": eid, "decision": dec, "reason": reason, "consent_version": cv, "tenant_consent_version": None,
            "policy_version": "t-1", "purpose": "ai_training", "received_at": next(r["value"]["received_at"] for r in self.raw if r["value"]["event_id"] == eid)}}
        self.decisions = [rec("e1", "ALLOW", "allowed_consent", "0:0"), rec("e2", "DENY", "user_opt_out", "0:1"),
                          rec("e3", "ALLOW", "allowed_opt_out_regime"), rec("e4", "DENY", "no_consent"),
                          rec("e5", "DENY", "consent_after_event", "0:2")]
        self.curated = [{"value": {"event_id": "e1", "consent_version": "0:0"}}, {"value": {"event_id": "e3"}}]
        self.rows = [{"event_id": "e3"}]

    def judge(self):
        p = lambda n: os.path.join(self.dir, n)
        for name, lines in (("log", self.log), ("changes", self.changes), ("raw", self.raw), ("decisions", self.decisions),
                            ("curated", self.curated), ("rows", self.rows)):
            write(p(name), lines)
        rep = oracle.Report(50)
        o = oracle.Oracle(oracle.load_policy(self.policy), "ai_training", rep)
        o.load_log(p("log"))
        o.load_changes(p("changes"))
        o.run(p("raw"), p("decisions"), p("curated"), p("rows"), "poison-")
        return rep

    def test_consistent_run_passes(self):
        rep = self.judge()
        self.assertEqual(dict(rep.failure_counts), {}, dict(rep.failures))
        self.assertEqual(rep.counts["must_pass"], 1)  # e3
        self.assertEqual(rep.counts["must_be_absent"], 5)  # e1 erased, e2, e4, e5 denied, e6 never in Kafka
        self.assertEqual(rep.counts["erased"], 1)
        self.assertEqual(rep.counts["timing_dependent"], 1, "e1: allowed (then erased) on 0:0, denied on 0:1 or 0:2; e5 denied on 0:1 and 0:2 alike")

    def assertFails(self, category, fragment=""):
        rep = self.judge()
        self.assertIn(category, rep.failure_counts, dict(rep.failures))
        if fragment:
            self.assertTrue(any(fragment in m for m in rep.failures[category]), rep.failures[category])

    def test_wrong_reason(self):
        self.decisions[3]["value"]["reason"] = "gpc"
        self.assertFails("decision", "by rule 4: no user record, opt_in")

    def test_grant_before_effective_time(self):
        self.decisions[4]["value"].update(decision="ALLOW", reason="allowed_consent")
        self.curated.append({"value": {"event_id": "e5", "consent_version": "0:2"}})
        self.rows.append({"event_id": "e5", "consent_version": "0:2"})
        self.assertFails("decision", "after received_at")

    def test_stale_state(self):
        self.decisions[1]["value"].update(decision="ALLOW", reason="allowed_consent", consent_version="0:0")
        self.assertFails("stale state")

    def test_regime_instead_of_record(self):
        self.decisions[1]["value"].update(reason="no_consent", consent_version=None)
        self.assertFails("stale state", "used no user record")

    def test_leak_and_loss(self):
        self.rows.append({"event_id": "e1", "consent_version": "0:0"})
        self.assertFails("not erased", "erased by user:u1/ai_training DENIED")
        self.setUp()
        self.rows.clear()
        self.assertFails("lost", "not in the snapshot")
        self.setUp()
        self.curated.append({"value": {"event_id": "e4"}})
        self.assertFails("leaked", "in events.curated")
        self.setUp()
        self.rows.append({"event_id": "e3"})
        self.assertFails("duplicated")

    def test_undecided_and_unknown(self):
        del self.decisions[2]
        self.assertFails("undecided")
        self.setUp()
        self.curated.append({"value": {"event_id": "zzz"}})
        self.assertFails("unknown event")

    def test_api_and_topic_disagree(self):
        self.changes[1]["value"]["effective_at"] += 1
        self.assertFails("consent api")
        self.setUp()
        self.changes.append({"partition": 0, "offset": 3, "key": "user:u1/ai_training",
                             "value": {"subject_type": "USER", "subject_id": "u1", "purpose": "ai_training", "status": "DENIED", "effective_at": T0}})
        self.assertFails("consent.changes", "no request of the load generator explains it")

    def test_producer_changed_gpc(self):
        self.raw[2]["value"]["gpc"] = True
        self.assertFails("producer")

    def test_redelivered_differently_is_undecidable(self):
        self.decisions.append({"partition": 0, "offset": 9, "value": dict(self.decisions[2]["value"], decision="DENY", reason="gpc")})
        rep = self.judge()
        self.assertEqual(len(rep.undecidable), 1)


if __name__ == "__main__":
    unittest.main()
