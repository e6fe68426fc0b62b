#!/usr/bin/env python3
"""Tests of oracle.py against the rules as ARCHITECTURE.md states them (not against
the Go code). Run: python3 -m unittest e2e/oracle_test.py (make e2e runs them)."""
import json
import os
import tempfile
import unittest

import oracle
from oracle import Change, Policy, Subject, decide, covered, trigger_covers, Trigger, code, consent_key, link_key

POLICY = {
    "version": "t-1",
    "default_regime": "opt_in",
    "gpc_denies": False,
    "purposes": {"ai_training": {"gpc_denies": True}, "analytics": {}},
    "jurisdictions": {"DE": "opt_in", "us": "opt_out", "US-CA": "opt_out", "BR": "opt_in"},
}
T0 = 1_700_000_000_000
HOUR = 3_600_000


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
        self.u, self.t = "user:t1/u1/ai_training", "tenant:t1/ai_training"

    def d(self, jur="DE", gpc=False, user=None, tenant=None, at=T0, linked=(), too_many=False):
        v = decide(at, jur, gpc, user, tenant, self.p, "ai_training", linked, too_many)
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

    def test_linked_subjects_only_take_away(self):
        a = "anonymous:t1/a1/ai_training"
        grant_before = ch(self.u, "GRANTED", T0 - 1, 1)
        l_deny = ch(a, "DENIED", T0 - 5, 2)
        l_grant_before = ch(a, "GRANTED", T0 - 5, 2)
        l_grant_after = ch(a, "GRANTED", T0 + 5, 2)
        t_deny = ch(self.t, "DENIED", T0 - 5, 3)
        cases = [
            (dict(user=grant_before, linked=[l_deny]), (False, "linked_opt_out")),
            (dict(jur="US", linked=[l_deny]), (False, "linked_opt_out")),
            (dict(jur="US", linked=[l_grant_after]), (False, "linked_consent_after_event")),
            (dict(jur="US", linked=[l_grant_after, l_deny]), (False, "linked_opt_out")),
            (dict(jur="DE", linked=[l_grant_before]), (False, "no_consent")),  # a linked grant never allows
            (dict(jur="US", linked=[l_grant_before, None]), (True, "allowed_opt_out_regime")),
            (dict(user=grant_before, linked=[l_grant_before]), (True, "allowed_consent")),
            (dict(user=ch(self.u, "DENIED", T0 - 1, 1), linked=[l_deny]), (False, "user_opt_out")),
            (dict(tenant=t_deny, linked=[l_deny]), (False, "tenant_opt_out")),
            (dict(jur="US", too_many=True), (False, "link_limit")),
        ]
        for kw, want in cases:
            self.assertEqual(self.d(**kw), want, kw)

    def test_coverage_by_version(self):
        deny = ch(self.t, "DENIED", T0, 5)
        self.assertIs(covered(None, [deny]), deny, "a row without a tenant record is covered")
        self.assertIs(covered(ch(self.t, "GRANTED", T0 - 9, 3), [deny]), deny)
        self.assertIsNone(covered(ch(self.t, "GRANTED", T0 + 9, 7), [deny]), "a re-grant after the denial is kept")
        self.assertIsNone(covered(None, []))

    def test_coverage_by_state_position(self):
        t = Trigger(0, 5, "DENIED")
        self.assertIs(trigger_covers((0, 5), [t]), t, "decided before the trigger was applied")
        self.assertIs(trigger_covers((0, 3), [t]), t)
        self.assertIsNone(trigger_covers((0, 6), [t]), "decided after it: only a re-grant explains an allow")
        self.assertIs(trigger_covers((1, 9), [t]), t, "another partition is not comparable")
        self.assertIs(trigger_covers(None, [t]), t)
        self.assertIsNone(trigger_covers((0, 0), []))


class IdentityTest(unittest.TestCase):
    def test_codes(self):
        self.assertEqual(code(Subject("user", "t 1", "team/ops 4")), "user:t%201/team%2Fops%204")
        self.assertEqual(code(Subject("anonymous", "t1", "100% sales")), "anonymous:t1/100%25%20sales")
        self.assertEqual(code(Subject("user", "", "J\u00fcrgen")), "user:/J%C3%BCrgen")
        self.assertEqual(code(Subject("tenant", "", "acme/eu")), "tenant:acme%2Feu")
        self.assertEqual(code(Subject("user", "t", "a$&+:=@b;,?#")), "user:t/a$&+:=@b%3B%2C%3F%23")
        self.assertNotEqual(consent_key(Subject("user", "a/b", "c"), "p"), consent_key(Subject("user", "a", "b/c"), "p"))
        u, a = Subject("user", "t", "u"), Subject("anonymous", "t", "a")
        self.assertEqual(link_key(a, u), link_key(u, a))
        self.assertEqual(link_key(a, u), "link:user:t/u|anonymous:t/a")

    def test_scopes(self):
        p = Policy(POLICY)
        self.assertEqual(p.subject("user", "t1", "7"), Subject("user", "t1", "7"), "tenant-scoped by default")
        g = Policy(dict(POLICY, identity={"user_ids": "global"}))
        self.assertEqual(g.subject("user", "t1", "7"), Subject("user", "", "7"))
        self.assertEqual(g.subject("anonymous", "t1", "7"), Subject("anonymous", "t1", "7"))
        with self.assertRaises(oracle.PolicyError):
            Policy(dict(POLICY, identity={"user_ids": "platform"}))


def write(path, lines):
    with open(path, "w") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")


class RunCase:
    """Judges the run set up in self.log, .changes, .raw, .decisions, .curated, .rows."""

    # Fixtures name decisions by their events' exact receive times; the chain
    # writes them truncated to the audit granularity (an hour), and curated
    # outputs under keyed event ids when a pseudonym key is set.
    exact_audit_times = False
    key = None

    def judge(self):
        p = lambda n: os.path.join(self.dir, n)
        decisions = self.decisions
        if not self.exact_audit_times:
            hour = lambda v: oracle.coarsen(oracle.ms_of(v), HOUR)
            decisions = [dict(d, value=dict(d["value"], received_at=hour(d["value"]["received_at"]),
                                             decided_at=hour(d["value"].get("decided_at", d["value"]["received_at"]))))
                         for d in self.decisions]
        curated, rows = self.curated, self.rows
        if self.key:
            tenants = {l["event_id"]: l.get("tenant_id") or "" for l in self.log if l["kind"] == "event"}
            keyed = lambda eid: oracle.curated_event_id(self.key[0], self.key[1], "ai_training", tenants.get(eid, ""), eid) if eid in tenants else eid
            curated = [dict(c, value=dict(c["value"], event_id=keyed(c["value"]["event_id"]))) for c in self.curated]
            rows = [r if r.get("unkeyed") else dict(r, event_id=keyed(r["event_id"])) for r in self.rows]
        for name, lines in (("log", self.log), ("changes", self.changes), ("raw", self.raw), ("decisions", decisions),
                            ("curated", curated), ("rows", rows)):
            write(p(name), lines)
        rep = oracle.Report(50)
        o = oracle.Oracle(oracle.load_policy(self.policy), "ai_training", rep, pseudonym_key=self.key)
        o.load_log(p("log"))
        o.load_changes(p("changes"))
        o.run(p("raw"), p("decisions"), p("curated"), p("rows"), "poison-")
        self.oracle = o
        return rep

    def assertFails(self, category, fragment=""):
        rep = self.judge()
        self.assertIn(category, rep.failure_counts, dict(rep.failures))
        if fragment:
            self.assertTrue(any(fragment in m for m in rep.failures[category]), rep.failures[category])


class OracleRunTest(RunCase, unittest.TestCase):
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
            {"partition": 0, "offset": i, "key": "user:t1/u1/ai_training",
             "value": {"subject_type": "USER", "subject_id": "u1", "tenant_id": "t1", "subject_scope": "TENANT",
                       "purpose": "ai_training", "status": s, "effective_at": T0 + eff}}
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
        # Rows carry the state position they were decided at: e1 after the
        # grant (0:1), e3 after the withdrawal (0:2).
        self.curated = [{"value": {"event_id": "e1", "consent_version": "0:1"}}, {"value": {"event_id": "e3", "consent_version": "0:2"}}]
        self.rows = [{"event_id": "e3", "consent_version": "0:2"}]

    def test_consistent_run_passes(self):
        rep = self.judge()
        self.assertEqual(dict(rep.failure_counts), {}, dict(rep.failures))
        self.assertEqual(rep.counts["must_pass"], 1)  # e3
        self.assertEqual(rep.counts["must_be_absent"], 5)  # e1 erased, e2, e4, e5 denied, e6 never in Kafka
        self.assertEqual(rep.counts["erased"], 1)
        self.assertEqual(rep.counts["timing_dependent"], 1, "e1: allowed (then erased) on 0:0, denied on 0:1 or 0:2; e5 denied on 0:1 and 0:2 alike")

    def store_report(self, records, positions=None):
        """check_store over a dump with one bucket at positions (default: past
        every change) and the given records."""
        self.judge()
        path = os.path.join(self.dir, "store")
        write(path, [{"bucket": "{ns:v2:b0}:meta", "gen": "g1", "positions": positions or {"0": 3}}] + records)
        rep = oracle.Report(50)
        o = oracle.Oracle(oracle.load_policy(self.policy), "ai_training", rep)
        o.load_log(os.path.join(self.dir, "log"))
        o.load_changes(os.path.join(self.dir, "changes"))
        o.check_store(path)
        return rep

    def test_store_holds_the_newest_change(self):
        newest = {"purpose": "ai_training", "code": "user:t1/u1", "s": "GRANTED", "p": "0", "o": "2"}
        self.assertEqual(dict(self.store_report([newest]).failure_counts), {})
        older = dict(newest, s="DENIED", o="1")
        self.assertIn("consent store", self.store_report([older]).failure_counts)
        rep = self.store_report([])
        self.assertIn("consent store", rep.failure_counts)
        self.assertTrue(any("holds no record of user:t1/u1/ai_training" in m for m in rep.failures["consent store"]), rep.failures)
        # Beyond the materializer's position the record may be missing still.
        self.assertEqual(dict(self.store_report([], positions={"0": 2}).failure_counts), {})

    def tally_report(self, lines, exact):
        """check_tally over a dump of the privacy centre's counts."""
        self.judge()
        path = os.path.join(self.dir, "tally")
        write(path, lines)
        rep = oracle.Report(50)
        self.oracle.r = rep
        self.oracle.check_tally(path, exact)
        return rep

    def test_tally_counts_each_decided_event_once(self):
        day = oracle.utc_day(T0)
        right = {"tenant": "t1", "day": day, "users": ["u1", "u2"],
                 "events": {"ai_training|allowed_consent": 1, "ai_training|user_opt_out": 1, "ai_training|allowed_opt_out_regime": 1,
                            "ai_training|no_consent": 1, "ai_training|consent_after_event": 1}}
        for exact in (True, False):
            self.assertEqual(dict(self.tally_report([right], exact).failure_counts), {}, exact)
        # Counted twice (a redelivery added again): over in every run.
        twice = dict(right, events=dict(right["events"], **{"ai_training|no_consent": 2}))
        for exact in (True, False):
            self.assertIn("tally", self.tally_report([twice], exact).failure_counts)
        # Under another reason than its decision's, or a user who sent nothing that day.
        moved = dict(right, events={k: v for k, v in right["events"].items() if k != "ai_training|no_consent"})
        moved["events"]["ai_training|user_opt_out"] = 2
        self.assertIn("tally", self.tally_report([moved], False).failure_counts)
        self.assertIn("tally", self.tally_report([dict(right, users=["u1", "u2", "u7"])], False).failure_counts)
        self.assertIn("tally", self.tally_report([dict(right, day="1999-01-01")], False).failure_counts)
        # Short (a batch dropped): allowed under faults, a failure in an exact run.
        short = dict(right, events=moved["events"] | {"ai_training|user_opt_out": 1}, users=["u2"])
        self.assertEqual(dict(self.tally_report([short], False).failure_counts), {})
        rep = self.tally_report([short], True)
        self.assertTrue(any("of 1 events decided so" in m for m in rep.failures["tally"]), rep.failures)
        self.assertTrue(any("are not counted" in m for m in rep.failures["tally"]), rep.failures)

    def test_exact_audit_times_fail(self):
        self.exact_audit_times = True
        self.assertFails("audit time", "is not truncated")

    def test_keyed_event_ids(self):
        self.key = ("k1", b"0123456789abcdef0123456789abcdef")
        rep = self.judge()
        self.assertEqual(dict(rep.failure_counts), {}, dict(rep.failures))
        self.assertEqual(rep.counts["must_pass"], 1)
        # a raw event id in a curated output is a failure when ids are keyed
        self.rows.append({"event_id": "e3", "consent_version": "0:2", "unkeyed": True})
        self.assertFails("raw event id", "'e3'")

    def test_curated_event_id_known_answer(self):
        # shared with e2e/eventids_test.go and the anonymizer's keyring test
        self.assertEqual(oracle.curated_event_id("k1", b"0123456789abcdef0123456789abcdef", "ai_training", "acme",
                                                 "3f1c0d9e-0000-4000-8000-000000000001"), "k1:vi2ta3xbwq2yh5so363f6lfwqq")

    def test_wrong_reason(self):
        self.decisions[3]["value"]["reason"] = "gpc"
        self.assertFails("decision", "by rule 4: no user record, opt_in")

    def test_grant_before_effective_time(self):
        self.decisions[4]["value"].update(decision="ALLOW", reason="allowed_consent")
        self.curated.append({"value": {"event_id": "e5", "consent_version": "0:3"}})
        self.rows.append({"event_id": "e5", "consent_version": "0:3"})
        self.assertFails("decision", "after received_at")

    def test_stale_state(self):
        self.decisions[1]["value"].update(decision="ALLOW", reason="allowed_consent", consent_version="0:0")
        self.assertFails("stale state")

    def test_regime_instead_of_record(self):
        self.decisions[1]["value"].update(reason="no_consent", consent_version=None)
        self.assertFails("stale state", "used no user record")

    def test_leak_and_loss(self):
        self.rows.append({"event_id": "e1", "consent_version": "0:1"})
        self.assertFails("not erased", "erased by user:t1/u1/ai_training DENIED")
        self.setUp()
        self.rows.clear()
        self.assertFails("lost", "not in the snapshot")
        self.setUp()
        self.curated.append({"value": {"event_id": "e4"}})
        self.assertFails("leaked", "in events.curated")
        self.setUp()
        self.rows.append({"event_id": "e3", "consent_version": "0:2"})
        self.assertFails("duplicated")
        self.setUp()
        self.curated[0]["value"]["consent_version"] = "0:0"  # e1 was sent after the grant at 0:0 was answered
        self.assertFails("versions", "before user:t1/u1/ai_training GRANTED")

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
        self.changes.append({"partition": 0, "offset": 3, "key": "user:t1/u1/ai_training",
                             "value": {"subject_type": "USER", "subject_id": "u1", "tenant_id": "t1", "subject_scope": "TENANT",
                                       "purpose": "ai_training", "status": "DENIED", "effective_at": T0}})
        self.assertFails("consent.changes", "no request of the load generator explains it")
        self.setUp()
        self.changes[0]["key"] = "user:u1/ai_training"
        self.assertFails("consent.changes", "has key 'user:u1/ai_training' but its value is user:t1/u1/ai_training")

    def test_producer_changed_gpc(self):
        self.raw[2]["value"]["gpc"] = True
        self.assertFails("producer")

    def test_redelivered_differently_is_undecidable(self):
        self.decisions.append({"partition": 0, "offset": 9, "value": dict(self.decisions[2]["value"], decision="DENY", reason="gpc")})
        rep = self.judge()
        self.assertEqual(len(rep.undecidable), 1)


class IdentityRunTest(RunCase, unittest.TestCase):
    """Visitors stitched to users, shared user ids, ids that need escaping."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.policy = os.path.join(self.dir, "policy.yaml")
        with open(self.policy, "w") as f:
            json.dump(POLICY, f)
        iso = lambda ms: oracle.datetime.datetime.fromtimestamp(ms / 1000, oracle.datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        U = "u/1 %"
        ev = lambda seq, eid, tenant="t1", **ids: dict(kind="event", seq=seq, event_id=eid, tenant_id=tenant, jurisdiction="US", gpc=False,
                                                      accepted=True, received_at=iso(T0 + seq), **ids)
        # a1 browses (ea, allowed in the US), logs in as U (ei: identify, the
        # filter records the link at 0:0; the load generator waits for it), uses
        # the product logged in (eu), U withdraws (0:1), a1 browses logged out
        # (eo: denied, linked_opt_out). The materializer asks for a1's erasure
        # (0:2). User U of tenant t2 is someone else: allowed and kept (et).
        self.log = [
            ev(1, "ea", anonymous_id="a1"),
            ev(2, "ei", user_id=U, anonymous_id="a1"),
            {"kind": "link", "seq": 2, "tenant_id": "t1", "user_id": U, "anonymous_id": "a1", "observed": True, "linked_at": iso(T0 + 3)},
            ev(3, "eu", user_id=U, anonymous_id="a1"),
            {"kind": "consent", "seq": 4, "subject_type": "user", "subject_id": U, "tenant_id": "t1", "purpose": "ai_training",
             "status": "DENIED", "applied": True, "version": "0:1", "effective_at": iso(T0 + 4), "attempts": 1},
            ev(5, "eo", anonymous_id="a1"),
            ev(6, "et", tenant="t2", user_id=U),
        ]
        self.changes = [
            {"partition": 0, "offset": 0, "key": "link:user:t1/u%2F1%20%25|anonymous:t1/a1",
             "value": {"subject_type": "USER", "subject_id": U, "tenant_id": "t1", "subject_scope": "TENANT", "purpose": "",
                       "status": "LINKED", "effective_at": T0 + 2, "linked_type": "ANONYMOUS", "linked_id": "a1", "linked_scope": "TENANT"}},
            {"partition": 0, "offset": 1, "key": "user:t1/u%2F1%20%25/ai_training",
             "value": {"subject_type": "USER", "subject_id": U, "tenant_id": "t1", "subject_scope": "TENANT",
                       "purpose": "ai_training", "status": "DENIED", "effective_at": T0 + 4}},
            {"partition": 0, "offset": 2, "key": "erase:anonymous:t1/a1/ai_training@0:1",
             "value": {"subject_type": "ANONYMOUS", "subject_id": "a1", "tenant_id": "t1", "subject_scope": "TENANT",
                       "purpose": "ai_training", "status": "ERASE", "effective_at": T0 + 4, "trigger_version": "0:1"}},
        ]
        events = [l for l in self.log if l["kind"] == "event"]
        self.raw = [{"partition": 0, "offset": i, "value": {k: e.get(k) for k in ("event_id", "tenant_id", "user_id", "anonymous_id", "jurisdiction", "gpc")}
                     | {"received_at": oracle.ms_of(e["received_at"])}} for i, e in enumerate(events)]
        dec = lambda eid, d, reason, cv=None: {"partition": 0, "offset": 0, "value": {
            "event_id": eid, "decision": d, "reason": reason, "consent_version": cv, "tenant_consent_version": None,
            "policy_version": "t-1", "purpose": "ai_training", "received_at": oracle.ms_of(next(e["received_at"] for e in events if e["event_id"] == eid))}}
        self.decisions = [dec("ea", "ALLOW", "allowed_opt_out_regime"), dec("ei", "ALLOW", "allowed_opt_out_regime"),
                          dec("eu", "ALLOW", "allowed_opt_out_regime"), dec("eo", "DENY", "linked_opt_out", "0:1"),
                          dec("et", "ALLOW", "allowed_opt_out_regime")]
        self.curated = [{"value": {"event_id": e, "consent_version": v}} for e, v in (("ea", "0:0"), ("ei", "0:0"), ("eu", "0:1"), ("et", "7:3"))]
        self.rows = [{"event_id": "et", "consent_version": "7:3"}]

    def test_consistent_run_passes(self):
        rep = self.judge()
        self.assertEqual(dict(rep.failure_counts), {}, dict(rep.failures))
        self.assertEqual(rep.counts["must_pass"], 1)  # et: same user id, another tenant
        self.assertEqual(rep.counts["erased"], 3)  # ea, ei, eu
        self.assertEqual(rep.counts["erased_through_links"], 1)  # ea: only its link to U erases it
        self.assertEqual(rep.counts["links"], 1)
        self.assertEqual(rep.counts["erasure_requests"], 1)
        self.assertEqual(rep.counts["reason:linked_opt_out"], 1)

    def test_anonymous_rows_of_a_withdrawn_user_are_erased(self):
        self.rows.append({"event_id": "ea", "consent_version": "0:0"})
        self.assertFails("not erased", "linked to anonymous:t1/a1 since 0:0")

    def test_logged_out_event_of_a_withdrawn_user_is_denied(self):
        self.decisions[3]["value"].update(decision="ALLOW", reason="allowed_opt_out_regime", consent_version=None)
        self.assertFails("decision", "linked user:t1/u%2F1%20%25/ai_training DENIED")

    def test_a_link_made_after_the_event_may_be_unknown(self):
        # Without the load generator's link line, eo may have been decided
        # before the link was known: allowing it is admissible (then erased).
        del self.log[2]
        self.decisions[3]["value"].update(decision="ALLOW", reason="allowed_opt_out_regime", consent_version=None)
        self.curated.append({"value": {"event_id": "eo", "consent_version": "0:1"}})
        rep = self.judge()
        self.assertEqual(dict(rep.failure_counts), {}, dict(rep.failures))
        self.assertEqual(rep.counts["erased"], 4)

    def test_shared_user_ids_are_separate_subjects(self):
        self.decisions[4]["value"].update(decision="DENY", reason="user_opt_out", consent_version="0:1")
        self.assertFails("wrong record", "the event's key is user:t2/u%2F1%20%25/ai_training")
        self.setUp()
        self.decisions[4]["value"].update(decision="DENY", reason="linked_opt_out", consent_version="0:1")
        self.assertFails("wrong record", "as a linked record")

    def test_links_are_explained(self):
        self.raw[1]["value"]["anonymous_id"] = None
        self.raw[2]["value"]["anonymous_id"] = None
        self.log[1].pop("anonymous_id")
        self.log[3].pop("anonymous_id")
        self.assertFails("consent.changes", "a link no event of events.raw establishes")
        self.setUp()
        self.changes.pop(0)
        self.assertFails("links", "showed link:user:t1/u%2F1%20%25|anonymous:t1/a1 (seq 2); consent.changes has no LINKED record of it")
        self.setUp()
        self.changes[2]["value"]["trigger_version"] = "0:9"
        self.changes[2]["key"] = "erase:anonymous:t1/a1/ai_training@0:9"
        self.assertFails("consent.changes", "names trigger '0:9'")

    def test_a_link_to_a_denied_subject_erases(self):
        # A cookie banner denies a9 (0:3); user v, allowed in the US (ev1, decided
        # at 0:4), later logs in with a9 (ev2: the link at 0:4, made while a9 was
        # denied, so ev2 is denied and ev1 erased by the link itself).
        iso = lambda ms: oracle.datetime.datetime.fromtimestamp(ms / 1000, oracle.datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        self.log += [
            {"kind": "consent", "seq": 7, "subject_type": "anonymous", "subject_id": "a9", "tenant_id": "t1", "purpose": "ai_training",
             "status": "DENIED", "applied": True, "version": "0:3", "effective_at": iso(T0 + 7), "attempts": 1},
            dict(self.log[0], seq=8, event_id="ev1", user_id="v", anonymous_id=None, received_at=iso(T0 + 8)),
            dict(self.log[0], seq=9, event_id="ev2", user_id="v", anonymous_id="a9", received_at=iso(T0 + 9)),
        ]
        ids = lambda tid, **kw: dict({"subject_type": "USER", "subject_id": "v", "tenant_id": "t1", "subject_scope": "TENANT"}, **kw)
        self.changes += [
            {"partition": 0, "offset": 3, "key": "anonymous:t1/a9/ai_training",
             "value": ids(0, subject_type="ANONYMOUS", subject_id="a9", purpose="ai_training", status="DENIED", effective_at=T0 + 7)},
            {"partition": 0, "offset": 4, "key": "link:user:t1/v|anonymous:t1/a9",
             "value": ids(0, purpose="", status="LINKED", effective_at=T0 + 9, linked_type="ANONYMOUS", linked_id="a9", linked_scope="TENANT")},
            {"partition": 0, "offset": 5, "key": "erase:user:t1/v/ai_training@0:4",
             "value": ids(0, purpose="ai_training", status="ERASE", effective_at=T0 + 9, trigger_version="0:4")},
        ]
        for off, e in ((9, self.log[-2]), (10, self.log[-1])):
            self.raw.append({"partition": 0, "offset": off, "value": {k: e.get(k) for k in ("event_id", "tenant_id", "user_id", "anonymous_id", "jurisdiction", "gpc")}
                             | {"received_at": oracle.ms_of(e["received_at"])}})
        dec = lambda eid, d, reason, cv: {"partition": 0, "offset": 9, "value": dict(self.decisions[0]["value"], event_id=eid, decision=d, reason=reason,
                                                                                    consent_version=cv, received_at=next(r["value"]["received_at"] for r in self.raw if r["value"]["event_id"] == eid))}
        self.decisions += [dec("ev1", "ALLOW", "allowed_opt_out_regime", None), dec("ev2", "DENY", "linked_opt_out", "0:3")]
        self.curated.append({"value": {"event_id": "ev1", "consent_version": "0:4"}})
        rep = self.judge()
        self.assertEqual(dict(rep.failure_counts), {}, dict(rep.failures))
        self.assertEqual(rep.counts["erased"], 4)
        self.assertEqual(rep.counts["erased_through_links"], 2)  # ea and ev1
        self.rows.append({"event_id": "ev1", "consent_version": "0:4"})
        self.assertFails("not erased", "made while anonymous:t1/a9 was denied")

if __name__ == "__main__":
    unittest.main()
