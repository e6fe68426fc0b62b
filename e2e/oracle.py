#!/usr/bin/env python3
"""An independent consent oracle for consentflow's acceptance suites.

Written from docs/ARCHITECTURE.md alone ("Identity and tenants", "Consent
semantics" and "Datasets for ML teams"), in another language and form than the
Go code, sharing no code and no policy parsing with services/consent-filter. It
reads what the load generator sent and what the services answered, the policy
file, and the Kafka topics and snapshot the chain produced, and says for every
event whether it must be in `events.curated` and in the snapshot, re-deriving
every decision of `consent.decisions` from the consent changes it used.

Inputs (files; the Kafka topics decoded by `thirdparty.py topic`):

  --log FILE        the load generator's log: every event (received_at as the
                    producer answered it), consent change (version and
                    effective_at as the consent API answered them) and identity
                    link it waited for (linked_at, when the consent API first
                    showed it), in Seq order per tenant (pkg/loadgen)
  --policy FILE     the policy YAML the consent-filter runs with
  --purpose NAME    the chain's purpose
  --changes FILE    consent.changes    {partition, offset, key, value}
  --raw FILE        events.raw         (event_id, ids, received_at, gpc, jurisdiction)
  --decisions FILE  consent.decisions
  --curated FILE    events.curated
  --rows FILE       the snapshot's rows (event_id, consent_version, tenant_consent_version)
  --pseudonym-key ID:BASE64
                    the anonymizer's active key: curated event ids are its keyed
                    per-purpose form of the raw ids (ARCHITECTURE "Unlinkability");
                    without it they are compared verbatim
  --audit-granularity-ms N
                    consent.decisions keeps received_at/decided_at truncated to
                    this (AUDIT_TIME_GRANULARITY, default an hour)
  --out FILE        the full report (JSON)

Prints one JSON summary line on stdout; exit status 0 (the caller judges the
report). `python3 oracle.py --help` lists the options.

How an event is judged (the doc's rules, spelled out in `decide`):

* Subjects (`Subject`, `code`): a user id, an anonymous id or a tenant; user and
  anonymous ids are (tenant, id) unless the policy's `identity` says `global`.
  A subject's consent key is `<code>/<purpose>`, its code `user:<tenant>/<id>`,
  `anonymous:<tenant>/<id>`, `user:/<id>` (global) or `tenant:<id>`, tenant and
  id percent-encoded as URL path segments.
* The facts of an event are what the client sent (tenant, ids, jurisdiction,
  Sec-GPC) and the received_at the producer stamped. Its *primary subject* is its
  user id, else its anonymous id; it *carries* its anonymous id when it has both
  (and an alias's previous id, as an anonymous and a user id), which links them.
* Its *linked subjects* are the carried ones and every subject a LINKED record of
  consent.changes links to the primary. A link the load generator saw in the
  consent API before it sent the event ("link" line, earlier Seq) is known to the
  decision; a later one may or may not be. Linked subjects can only deny.
* The record of a key a decision may use is any change of that key at least as
  new as the newest change the consent API had answered before the event was sent
  (the load generator sends a tenant's actions one after the other, so "before"
  is the log's Seq order), or none if there was none. The filter may legitimately
  have seen newer changes (made after the event); the decision names the versions
  it rested on, the oracle checks that they are admissible and that some
  admissible state with them gives the decision and reason recorded. Events whose
  outcome is the same under every admissible state are reported as "determinate";
  the others as "timing-dependent".
* An allowed event must be in events.curated; a denied one must not. A curated
  row carries the consent state position it was decided at (`consent_version`,
  "p:P": every change of its partition below P had been applied) and the tenant
  record in force. In the snapshot an allowed event's row must be there exactly
  once unless an erasure covers it: a trigger at "p:o" covers the row when o >= P
  (or on another partition). Triggers: a DENIED of the primary; a DENIED of a
  linked subject after the link; a link made while the other subject was DENIED
  (the link's own version). A tenant DENIED at v covers the row unless the row's
  tenant record is newer than v.
"""
import argparse
import base64
import collections
import datetime
import hashlib
import hmac
import itertools
import json
import sys
import urllib.parse

import yaml

REASONS = {
    # reason -> (allow, which record the decision rests on)
    "tenant_opt_out": (False, "tenant"),
    "tenant_consent_after_event": (False, "tenant"),
    "user_opt_out": (False, "user"),
    "link_limit": (False, None),
    "linked_opt_out": (False, "linked"),
    "linked_consent_after_event": (False, "linked"),
    "consent_after_event": (False, "user"),
    "allowed_consent": (True, "user"),
    "gpc": (False, None),
    "no_consent": (False, None),
    "allowed_opt_out_regime": (True, None),
}

GRANTED, DENIED, LINKED, ERASE = "GRANTED", "DENIED", "LINKED", "ERASE"

# More admissible states than this for one event and the oracle gives up on it
# (reported undecidable); the load generator's traffic stays far below.
MAX_STATES = 20000


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
        ident = doc.get("identity") or {}
        if not isinstance(ident, dict):
            raise PolicyError("policy: identity must be a mapping")
        self.scopes = {}
        for kind, field in (("user", "user_ids"), ("anonymous", "anonymous_ids")):
            scope = ident.get(field, "tenant")
            if scope not in ("tenant", "global"):
                raise PolicyError("policy: identity.%s must be tenant or global, got %r" % (field, scope))
            self.scopes[kind] = scope

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

    def subject(self, kind, tenant, sid):
        """The subject of a user or anonymous id seen in tenant, or of a tenant."""
        if kind == "tenant":
            return Subject("tenant", "", sid)
        return Subject(kind, tenant if self.scopes[kind] == "tenant" else "", sid)

    def gpc_denies_for(self, purpose):
        p = self.purposes.get(purpose)
        if isinstance(p, dict) and "gpc_denies" in p:
            return bool(p["gpc_denies"])
        return self.gpc_denies


def load_policy(path):
    with open(path, encoding="utf-8") as f:
        return Policy(yaml.safe_load(f))


# ---------------------------------------------------------------- identity

# kind: user | anonymous | tenant | legacy; tenant: the tenant of a
# tenant-scoped user or anonymous id, "" otherwise.
Subject = collections.namedtuple("Subject", "kind tenant id")


def seg(s):
    """Percent-encode s as a URL path segment (RFC 3986: unreserved characters
    and the sub-delimiters a segment may hold stay, '/', ';', ',' and '?' do not),
    UTF-8, upper-case hex."""
    return urllib.parse.quote(s, safe="-_.~$&+:=@")


def code(s):
    if s.kind in ("tenant", "legacy"):
        return "%s:%s" % (s.kind, seg(s.id))
    return "%s:%s/%s" % (s.kind, seg(s.tenant), seg(s.id))


def consent_key(s, purpose):
    """The consent.changes key of a subject's consent for purpose."""
    return code(s) + "/" + purpose


def route(s):
    """The records of one tenant (its own, its tenant-scoped ids', their links and
    erasure requests) share a partition; a global id has its own."""
    if s.kind == "tenant":
        return "tenant:" + seg(s.id)
    if s.tenant:
        return "tenant:" + seg(s.tenant)
    return code(s)


def link_pair(a, b):
    """A link in canonical order: a user before an anonymous id, then by code."""
    rank = lambda x: (0 if x.kind == "user" else 1, code(x))
    return (a, b) if rank(a) <= rank(b) else (b, a)


def link_key(a, b):
    a, b = link_pair(a, b)
    return "link:%s|%s" % (code(a), code(b))


KINDS = {"USER": "user", "ANONYMOUS": "anonymous", "TENANT": "tenant"}


def value_subject(typ, sid, tenant, scope):
    """The subject a consent.changes record names (type, id, tenant_id, scope)."""
    kind = KINDS.get(typ)
    if kind is None or not sid:
        raise ValueError("subject %r %r" % (typ, sid))
    if kind == "tenant":
        return Subject("tenant", "", sid)
    if scope == "TENANT":
        if not tenant:
            raise ValueError("tenant-scoped %s %r without tenant_id" % (kind, sid))
        return Subject(kind, tenant, sid)
    if scope == "GLOBAL":
        return Subject(kind, "", sid)
    raise ValueError("subject_scope %r" % scope)


def event_subjects(e, policy):
    """(primary, carried): the event's primary subject (its user id, else its
    anonymous id) and the subjects it carries and so links to the primary (its
    anonymous id when it has a user id; an alias's previous id, as an anonymous
    and as a user id)."""
    t = e.get("tenant_id") or ""
    uid, aid, pid = e.get("user_id") or "", e.get("anonymous_id") or "", e.get("previous_id") or ""
    if uid:
        primary = policy.subject("user", t, uid)
    elif aid:
        primary = policy.subject("anonymous", t, aid)
    else:
        return None, []
    carried = []
    if uid:
        for c in ([policy.subject("anonymous", t, aid)] if aid else []) + \
                 ([policy.subject("anonymous", t, pid), policy.subject("user", t, pid)] if pid else []):
            if c != primary and c not in carried:
                carried.append(c)
    return primary, carried


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


def decide(received_ms, jurisdiction, gpc, user, tenant, policy, purpose, linked=(), too_many=False):
    """The decision of ARCHITECTURE.md, rules 1-4, on the given records (or None):
    user is the primary subject's, linked those of the linked subjects it
    consulted (None for one without a record); too_many: more linked subjects
    than the filter consults."""
    if tenant is not None:
        if tenant.status == DENIED:
            return Verdict(False, "tenant_opt_out", "rule 1: %s -> deny" % tenant.describe(), "tenant")
        if tenant.effective_ms > received_ms:
            return Verdict(False, "tenant_consent_after_event",
                           "rule 1: %s, after received_at %s -> deny" % (tenant.describe(), fmt_ms(received_ms)), "tenant")
    if user is not None and user.status == DENIED:
        return Verdict(False, "user_opt_out", "rule 2: %s -> deny" % user.describe(), "user")
    if too_many:
        return Verdict(False, "link_limit", "rule 2: more linked subjects than the filter consults -> deny", None)
    linked = [l for l in linked if l is not None]
    for l in linked:
        if l.status == DENIED:
            return Verdict(False, "linked_opt_out", "rule 2: linked %s -> deny" % l.describe(), "linked")
    for l in linked:
        if l.effective_ms > received_ms:
            return Verdict(False, "linked_consent_after_event",
                           "rule 2: linked %s, after received_at %s -> deny" % (l.describe(), fmt_ms(received_ms)), "linked")
    if user is not None:
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
    """Is a row whose tenant record was row_version (a Change or None) covered by
    one of the tenant's DENIED changes? A DENIED at v covers the row unless the
    row's tenant record is a later change of the same key."""
    for d in denials:
        if row_version is None or row_version.offset <= d.offset:
            return d
    return None


Trigger = collections.namedtuple("Trigger", "partition offset why")


def trigger_covers(row_position, triggers):
    """Is a row decided at state position row_position ((p, P), or None when it
    does not parse) covered by one of its subject's erasure triggers? A trigger at
    p:o covers it when o >= P (the decision did not see it), or when it is on
    another partition (not comparable: conservative)."""
    for t in triggers:
        if row_position is None or t.partition != row_position[0] or t.offset >= row_position[1]:
            return t
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
    """(partition, offset) of "p:o"; None when empty or malformed."""
    if not v:
        return None
    p, sep, o = str(v).partition(":")
    if not sep or not p.isdigit() or not o.isdigit():
        return None
    return int(p), int(o)


def utc_day(ms):
    """The UTC day (YYYY-MM-DD) of epoch milliseconds."""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%d")


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


def uvarint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def curated_event_id(key_id, secret, purpose, tenant, event_id):
    """The curated event_id of ARCHITECTURE "Unlinkability": "<key id>:" and
    the lower-case unpadded base32 of the first 16 bytes of HMAC-SHA256 under
    the pseudonym key over "consentflow/pseudonym/v1" and the uvarint
    length-prefixed parts "event", purpose, event id and (when not empty) tenant."""
    msg = b"consentflow/pseudonym/v1"
    for part in ["event", purpose, event_id] + ([tenant] if tenant else []):
        b = part.encode("utf-8")
        msg += uvarint(len(b)) + b
    mac = hmac.new(secret, msg, hashlib.sha256).digest()[:16]
    return key_id + ":" + base64.b32encode(mac).decode("ascii").rstrip("=").lower()


def coarsen(ms, granularity_ms):
    return None if ms is None else ms - ms % granularity_ms


ANY = object()  # a slot of the state not fixed by the decision
UNSEEN = object()  # a linked subject the decision did not know of

Context = collections.namedtuple("Context", "primary pkey tkey mk mb universe")


class Oracle:
    def __init__(self, policy, purpose, report, max_links=1000, pseudonym_key=None, audit_granularity_ms=3600000):
        self.policy, self.purpose, self.r, self.max_links = policy, purpose, report, max_links
        self.pseudonym_key = pseudonym_key  # (key id, secret) or None: curated event ids verbatim
        self.audit_ms = audit_granularity_ms
        self.by_version = {}  # (partition, offset) -> Change: consent records, links, erasure requests
        self.by_key = collections.defaultdict(list)  # consent key -> [Change] as applied, by offset
        self.log_changes = collections.defaultdict(list)  # consent key -> [line] from the log
        self.events = {}  # event_id -> log line
        self.links = collections.defaultdict(dict)  # Subject -> {Subject: Change of its first LINKED record}
        self.link_lines = collections.defaultdict(list)  # Subject -> [(seq, Subject)] links the consent API showed
        self.route_parts = collections.defaultdict(set)  # route -> partitions of its records
        self.erase_records = []  # (Subject, trigger version, where)
        self.legacy_ids = set()  # ids of tenant-less records written before subjects had tenants
        self._triggers = {}
        self.current = {}  # consent key -> the change in force on consent.changes
        self.legacy_keys = set()  # keys of records written before subjects had tenants (stored under legacy codes)

    def key(self, s):
        return consent_key(s, self.purpose)

    # -- facts -----------------------------------------------------------------

    def load_log(self, path):
        for line in read_jsonl(path):
            kind = line["kind"]
            if kind == "event":
                self.events[line["event_id"]] = line
            elif kind == "consent":
                if line.get("purpose", self.purpose) != self.purpose:
                    continue
                s = self.policy.subject(line["subject_type"].lower(), line.get("tenant_id") or "", line["subject_id"])
                self.log_changes[self.key(s)].append(line)
            elif kind == "link" and line.get("observed"):
                t = line.get("tenant_id") or ""
                u = self.policy.subject("user", t, line["user_id"])
                a = self.policy.subject("anonymous", t, line["anonymous_id"])
                self.link_lines[u].append((line["seq"], a))
                self.link_lines[a].append((line["seq"], u))
        for lines in self.log_changes.values():
            lines.sort(key=lambda l: l["seq"])

    def _check_key(self, where, key, want):
        if key is not None and key != want:
            self.r.fail("consent.changes", "%s has key %r but its value is %s" % (where, key, want))

    def load_changes(self, path):
        """consent.changes as written (imports applied only over an older
        effective_at); the answered changes of the log are added when the topic
        no longer holds them (compaction)."""
        current = {}  # consent key -> the change in force
        for rec in sorted(read_jsonl(path), key=lambda r: (r["partition"], r["offset"])):
            v = rec.get("value") or {}
            p, o, key, status = rec["partition"], rec["offset"], rec.get("key"), v.get("status")
            where = "record %d:%d" % (p, o)
            try:
                if status == LINKED:
                    a = value_subject(v.get("subject_type"), v.get("subject_id"), v.get("tenant_id"), v.get("subject_scope"))
                    b = value_subject(v.get("linked_type"), v.get("linked_id"), v.get("tenant_id"), v.get("linked_scope"))
                    if "tenant" in (a.kind, b.kind) or a == b:
                        raise ValueError("a link of %s and %s" % (code(a), code(b)))
                    want = link_key(a, b)
                    self._check_key(where, key, want)
                    self.route_parts[route(link_pair(a, b)[0])].add(p)
                    c = Change(want, p, o, LINKED, ms_of(v.get("effective_at")), "topic")
                    self.by_version[(p, o)] = c
                    self.links[a].setdefault(b, c)
                    self.links[b].setdefault(a, c)
                    continue
                if v.get("purpose") != self.purpose:
                    continue
                if status == ERASE:
                    s = value_subject(v.get("subject_type"), v.get("subject_id"), v.get("tenant_id"), v.get("subject_scope"))
                    want = "erase:%s/%s@%s" % (code(s), self.purpose, v.get("trigger_version"))
                    self._check_key(where, key, want)
                    self.route_parts[route(s)].add(p)
                    self.by_version[(p, o)] = Change(want, p, o, ERASE, ms_of(v.get("effective_at")), "topic")
                    self.erase_records.append((s, v.get("trigger_version"), where))
                    continue
                if status not in (GRANTED, DENIED):
                    raise ValueError("status %r" % status)
                if v.get("subject_type") == "USER" and not v.get("subject_scope"):
                    # Written before subjects had tenants: with a tenant, that
                    # tenant's user and anonymous id of the id; without, an id
                    # of any tenant (not modelled here: its events are reported
                    # undecidable). The key is of the old layout.
                    if not v.get("tenant_id"):
                        self.legacy_ids.add(v.get("subject_id"))
                        self.r.counts["legacy_records_without_tenant"] += 1
                        continue
                    t, sid = v["tenant_id"], v["subject_id"]
                    subjects = [Subject("user", t, sid), Subject("anonymous", t, sid)]
                    self.legacy_keys.update(self.key(x) for x in subjects)
                    self.r.counts["legacy_records"] += 1
                else:
                    s = value_subject(v.get("subject_type"), v.get("subject_id"), v.get("tenant_id"), v.get("subject_scope"))
                    subjects = [s]
                    self._check_key(where, key, self.key(s))
                    self.route_parts[route(s)].add(p)
                for s in subjects:
                    k = self.key(s)
                    c = Change(k, p, o, status, ms_of(v["effective_at"]), "topic")
                    cur = current.get(k)
                    if v.get("imported") and cur is not None and c.effective_ms <= cur.effective_ms:
                        self.r.counts["imports_not_applied"] += 1
                        continue
                    current[k] = c
                    self._add(c)
            except (ValueError, KeyError, TypeError) as err:
                self.r.fail("consent.changes", "%s (key %r): %s" % (where, key, err))
        self.current = current
        for rt, parts in self.route_parts.items():
            if len(parts) > 1:
                self.r.fail("consent.changes", "the records of %s are on partitions %s (a tenant's records share one)" % (rt, sorted(parts)))
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

    def check_store(self, path):
        """The consent store as Redis holds it after the drain (the harness's
        dump of the documented key layout: bucket metas with their positions,
        records with s, p, o and ln) holds, for every key of consent.changes,
        its newest change when that is below the materializer's position (the
        minimum over buckets, a partition a bucket does not name at 0), and
        every link below it: a complete generation covers what its positions
        say (ARCHITECTURE "Redis is a cache; Kafka is the truth"). A record
        missing there is a "no record" the filter cannot tell from a real
        one."""
        r = self.r
        buckets, records, linked = [], {}, collections.defaultdict(set)
        for line in read_jsonl(path):
            if "bucket" in line:
                buckets.append(line)
            elif "code" in line:
                if line.get("ln"):
                    linked[line["code"]].update(line["ln"])
                if line.get("s"):
                    records[line["code"] + "/" + line["purpose"]] = line
        gens = {b.get("gen") for b in buckets}
        if not buckets or len(gens) != 1:
            r.fail("consent store", "after the drain the store has %d bucket metas of generations %s" % (len(buckets), sorted(map(str, gens))))
            return
        parts = {int(p) for b in buckets for p in b["positions"]}
        pos = {p: min(int(b["positions"].get(str(p), 0)) for b in buckets) for p in parts}
        r.counts["store_records"] = len(records)
        for key, c in sorted(self.current.items()):
            if key in self.legacy_keys:
                continue
            if c.offset >= pos.get(c.partition, 0):
                r.counts["store_beyond_position"] += 1
                continue
            got = records.get(key)
            if got is None:
                r.fail("consent store", "after the drain Redis holds no record of %s; consent.changes' newest is %s, below the materializer's position %d:%d" % (
                    key, c.describe(), c.partition, pos.get(c.partition, 0)))
            elif (str(got.get("p")), str(got.get("o"))) != (str(c.partition), str(c.offset)) or got.get("s") != c.status:
                r.fail("consent store", "after the drain Redis holds %s %s:%s for %s; consent.changes' newest is %s" % (
                    got.get("s"), got.get("p"), got.get("o"), key, c.describe()))
        for a, others in sorted(self.links.items(), key=lambda kv: code(kv[0])):
            for b, c in others.items():
                if c.offset < pos.get(c.partition, 0) and code(b) not in linked.get(code(a), ()):
                    r.fail("consent store", "after the drain Redis does not link %s to %s; consent.changes links them at %s" % (
                        code(a), code(b), c.version))

    def _add(self, c):
        self.by_version[(c.partition, c.offset)] = c
        self.by_key[c.key].append(c)

    def partition_of(self, s):
        parts = self.route_parts.get(route(s))
        return next(iter(parts)) if parts and len(parts) == 1 else None

    def floor(self, key, seq):
        """The newest change of key answered before the action seq was sent."""
        best = None
        for l in self.log_changes.get(key, []):
            if l["seq"] >= seq:
                break
            if l.get("applied"):
                pv = parse_version(l.get("version"))
                c = self.by_version.get(pv) if pv else None
                # (a version holding another key's change failed as "consent api")
                if c is not None and c.key == key and (best is None or c.offset > best.offset):
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
        c = self.by_version.get(parse_version(version))
        if c is None or c.status not in (GRANTED, DENIED):
            self.r.fail("unknown version", "%s: the decision used %s version %s, which is no consent change on consent.changes" % (event_id, what, version))
            return False, None
        if c.key != key:
            self.r.fail("wrong record", "%s: the decision used %s as its %s record, the event's key is %s" % (event_id, c.describe(), what, key))
            return False, c
        if lo is not None and c.offset < lo.offset:
            self.r.fail("stale state", "%s: the decision used %s, older than %s answered before the event was sent" % (
                event_id, c.describe(), lo.describe()))
            return False, c
        return True, c

    def check_linked(self, ctx, seq, version, event_id):
        """The linked subject's record a linked_* decision names; returns (ok,
        (subject, change))."""
        c = self.by_version.get(parse_version(version)) if version else None
        if c is None or c.status not in (GRANTED, DENIED):
            self.r.fail("unknown version", "%s: the decision rests on linked version %r, which is no consent change on consent.changes" % (event_id, version))
            return False, None
        x = next((x for x in ctx.universe if self.key(x) == c.key), None)
        if x is None:
            self.r.fail("wrong record", "%s: the decision used %s as a linked record; the subjects linked to %s are %s" % (
                event_id, c.describe(), code(ctx.primary), sorted(code(u) for u in ctx.universe)))
            return False, None
        lo = self.floor(c.key, seq)
        if lo is not None and c.offset < lo.offset:
            self.r.fail("stale state", "%s: the decision used %s, older than %s answered before the event was sent" % (
                event_id, c.describe(), lo.describe()))
            return False, None
        return True, (x, c)

    # -- identity --------------------------------------------------------------

    def context(self, e):
        """The subjects of an event: primary, its key, the tenant's key, the linked
        subjects the decision knew of for sure (mk: carried, and links the consent
        API showed before the event was sent) and those it may have known (mb:
        links on consent.changes not shown before)."""
        primary, carried = event_subjects(e, self.policy)
        if primary is None:
            return None
        universe = list(carried)
        for x in self.links.get(primary, {}):
            if x not in universe:
                universe.append(x)
        known = set(carried) | {x for (ls, x) in self.link_lines.get(primary, []) if ls < e["seq"]}
        return Context(primary, self.key(primary), self.key(Subject("tenant", "", e["tenant_id"])),
                       [x for x in universe if x in known], [x for x in universe if x not in known], universe)

    def states(self, ctx, seq, tenant=ANY, user=ANY, fixed=None):
        """Every admissible state of the records the decision may have used:
        [(tenant, user, [linked], too_many)]; None when there are too many."""
        slots = [[tenant] if tenant is not ANY else self.admissible(ctx.tkey, seq),
                 [user] if user is not ANY else self.admissible(ctx.pkey, seq)]
        for x in ctx.mk + ctx.mb:
            if fixed is not None and x == fixed[0]:
                slots.append([fixed[1]])
                continue
            opts = self.admissible(self.key(x), seq)
            slots.append(opts + [UNSEEN] if x in ctx.mb else opts)
        n = 1
        for sl in slots:
            n *= len(sl)
        if n > MAX_STATES:
            return None
        out = []
        for combo in itertools.product(*slots):
            linked = [c for c in combo[2:] if c is not UNSEEN]
            out.append((combo[0], combo[1], linked, len(linked) > self.max_links))
        return out

    def triggers(self, s):
        """The changes whose erasure covers s's rows: its own DENIED changes, a
        linked subject's DENIED after the link, a link made while the linked
        subject was DENIED (the link's version)."""
        if s in self._triggers:
            return self._triggers[s]
        out = [Trigger(c.partition, c.offset, c.describe()) for c in self.by_key.get(self.key(s), []) if c.status == DENIED]
        for x, l in self.links.get(s, {}).items():
            xs = self.by_key.get(self.key(x), [])
            before = [c for c in xs if c.partition == l.partition and c.offset < l.offset]
            if (before and before[-1].status == DENIED) or any(c.partition != l.partition and c.status == DENIED for c in xs):
                out.append(Trigger(l.partition, l.offset, "the link of %s and %s (version %s), made while %s was denied" % (
                    code(s), code(x), l.version, code(x))))
            for c in xs:
                if c.status == DENIED and (c.partition != l.partition or c.offset > l.offset):
                    out.append(Trigger(c.partition, c.offset, "%s, linked to %s since %s" % (c.describe(), code(s), l.version)))
        self._triggers[s] = out
        return out

    # -- judgement -------------------------------------------------------------

    def run(self, raw_path, decisions_path, curated_path, rows_path, ignore_prefix):
        r = self.r
        raw = collections.defaultdict(list)  # event_id -> [received_ms]
        raw_links = set()
        self.previous = {}
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
            if v.get("previous_id"):
                self.previous[eid] = v["previous_id"]
            primary, carried = event_subjects(v, self.policy)
            for c in carried:
                raw_links.add(link_key(primary, c))
            sent = (e.get("tenant_id"), e.get("user_id") or None, e.get("anonymous_id") or None, e.get("jurisdiction") or None, bool(e.get("gpc")))
            got = (v.get("tenant_id"), v.get("user_id") or None, v.get("anonymous_id") or None, v.get("jurisdiction") or None, bool(v.get("gpc")))
            if sent != got:
                r.fail("producer", "event %s: sent (tenant, user, anonymous, jurisdiction, gpc) %s, events.raw holds %s" % (eid, sent, got))
        self.check_links(raw_links)
        decisions = collections.defaultdict(list)
        for rec in read_jsonl(decisions_path):
            v = rec["value"]
            if v.get("event_id") not in self.events:
                r.fail("unknown event", "consent.decisions %d:%d decides event %r that the load generator did not send" % (rec["partition"], rec["offset"], v.get("event_id")))
                continue
            decisions[v["event_id"]].append(v)
            for f in ("received_at", "decided_at"):
                t = ms_of(v.get(f))
                if t is None or t % self.audit_ms:
                    r.fail("audit time", "consent.decisions %d:%d: %s %s is not truncated to %d ms" % (
                        rec["partition"], rec["offset"], f, fmt_ms(t) if t is not None else None, self.audit_ms))
        # Curated outputs name an event by its keyed per-purpose id.
        to_raw = {}
        if self.pseudonym_key:
            kid, secret = self.pseudonym_key
            for eid, e in self.events.items():
                to_raw[curated_event_id(kid, secret, self.purpose, e.get("tenant_id") or "", eid)] = eid
        def raw_id(cid):
            if not self.pseudonym_key:
                return cid
            if cid in self.events:
                r.fail("raw event id", "a curated output carries raw event id %r (curated ids are keyed per purpose)" % cid)
            return to_raw.get(cid, cid)
        curated = collections.defaultdict(list)
        for rec in read_jsonl(curated_path):
            curated[raw_id(rec["value"]["event_id"])].append(rec["value"])
        rows = collections.defaultdict(list)
        for row in read_jsonl(rows_path):
            rows[raw_id(row["event_id"])].append(row)
        for eid in list(curated) + list(rows):
            if eid not in self.events:
                r.fail("unknown event", "event %r in the outputs was not sent by the load generator" % eid)

        for eid, e in self.events.items():
            if eid in self.previous:
                e = dict(e, previous_id=self.previous[eid])
            self.judge(e, raw.get(eid, []), decisions.get(eid, []), curated.get(eid, []), rows.get(eid, []))
        self.raw_copies, self.decided = raw, decisions  # for check_tally

    def check_tally(self, path, exact):
        """The privacy centre's counts as Redis holds them after the drain (the
        harness's dump of the documented layout, ARCHITECTURE "Tenant admin":
        per tenant and UTC day of received_at, events by purpose|reason and
        the user ids seen) against the events of events.raw and their
        decisions. Statistics never count an event twice and can fall short:
        every run checks that no count is above what events.raw and
        consent.decisions allow (each copy of an event in events.raw counted
        at most once, under a reason one of its decisions gave) and that
        every user counted sent an event that day; an exact run (no faults)
        also checks that nothing fell short: an event in events.raw once and
        decided under one reason is counted under it, and every user seen is
        in the day's set. Needs run() first."""
        r = self.r
        lo, hi = collections.Counter(), collections.Counter()  # (tenant, day, field) -> bounds
        users = collections.defaultdict(set)  # (tenant, day) -> user ids of decided events
        for eid, copies in self.raw_copies.items():
            e, decs = self.events[eid], self.decided.get(eid, [])
            if not decs:
                continue
            reasons = sorted({d.get("reason") for d in decs})
            tenant, user = e.get("tenant_id") or "", e.get("user_id") or ""
            for ms in copies:
                d = utc_day(ms)
                for reason in reasons:
                    hi[(tenant, d, self.purpose + "|" + reason)] += 1
                if len(copies) == 1 and len(reasons) == 1:
                    lo[(tenant, d, self.purpose + "|" + reasons[0])] += 1
                if user:
                    users[(tenant, d)].add(user)
        got, got_users = collections.Counter(), collections.defaultdict(set)
        for line in read_jsonl(path):
            t, d = line.get("tenant", ""), line.get("day", "")
            for f, n in (line.get("events") or {}).items():
                got[(t, d, f)] += int(n)
            got_users[(t, d)].update(line.get("users") or ())
        r.counts["tally_events"] = sum(got.values())
        r.counts["tally_expected_at_least" if exact else "tally_allowed_at_most"] = sum((lo if exact else hi).values())
        for k in sorted(set(got) | set(lo)):
            n = got.get(k, 0)
            if n > hi.get(k, 0):
                r.fail("tally", "tenant %r %s %s: counted %d, but events.raw and consent.decisions allow at most %d" % (k[0], k[1], k[2], n, hi.get(k, 0)))
            elif exact and n < lo.get(k, 0):
                r.fail("tally", "tenant %r %s %s: counted %d of %d events decided so (a fault-free run counts every one)" % (k[0], k[1], k[2], n, lo.get(k, 0)))
        for k in sorted(set(got_users) | set(users)):
            extra = got_users.get(k, set()) - users.get(k, set())
            if extra:
                r.fail("tally", "tenant %r %s: %d users counted who sent no decided event that day, e.g. %s" % (k[0], k[1], len(extra), sorted(extra)[:3]))
            missing = users.get(k, set()) - got_users.get(k, set())
            if exact and missing:
                r.fail("tally", "tenant %r %s: %d users who sent a decided event that day are not counted, e.g. %s" % (k[0], k[1], len(missing), sorted(missing)[:3]))

    def check_links(self, raw_links):
        """Every LINKED record is established by an event of events.raw; every
        link the consent API showed the load generator is on consent.changes;
        every erasure request names an existing trigger."""
        r = self.r
        records = {}
        for others in self.links.values():
            for c in others.values():
                records[c.key] = c
        r.counts["links"] = len(records)
        for k, c in sorted(records.items()):
            if k not in raw_links:
                r.fail("consent.changes", "%s (version %s): a link no event of events.raw establishes" % (k, c.version))
        shown = {}
        for s, lines in self.link_lines.items():
            for seq, x in lines:
                shown.setdefault(link_key(s, x), seq)
        for k, seq in sorted(shown.items()):
            if k not in records:
                r.fail("links", "the consent API showed %s (seq %d); consent.changes has no LINKED record of it" % (k, seq))
        for s, trig, where in self.erase_records:
            r.counts["erasure_requests"] += 1
            c = self.by_version.get(parse_version(trig))
            if c is None or c.status not in (DENIED, LINKED):
                r.fail("consent.changes", "%s: erasure request of %s names trigger %r, no denial or link on consent.changes" % (where, code(s), trig))

    def judge(self, e, raw_copies, decs, cur, rows):
        r = self.r
        eid, seq = e["event_id"], e["seq"]
        r.counts["events"] += 1
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
        # Every copy in events.raw is decided (a retry may have written it twice);
        # decisions keep received_at truncated to the audit granularity, so
        # copies of one time slot are counted together.
        decided_at = collections.Counter(coarsen(ms_of(d.get("received_at")), self.audit_ms) for d in decs)
        copies_at = collections.Counter(coarsen(rc, self.audit_ms) for rc in set(raw_copies))
        for slot, n in copies_at.items():
            if decided_at[slot] < n:
                r.fail("undecided", "event %s (received_at in the slot of %s) has %d copies in events.raw but %d decisions" % (
                    eid, fmt_ms(slot), n, decided_at[slot]))
        ids = [e.get(f) for f in ("user_id", "anonymous_id", "previous_id") if e.get(f)]
        if any(i in self.legacy_ids for i in ids):
            r.undecidable.append({"event_id": eid, "why": "a tenant-less record written before subjects had tenants names one of its ids (not modelled)"})
            r.counts["undecidable"] += 1
            return
        ctx = self.context(e)
        if ctx is None:
            r.fail("producer", "event %s: in events.raw without user_id or anonymous_id" % eid)
            return
        if ctx.universe:
            r.counts["events_with_linked_subjects"] += 1
        for d in decs:
            slot = coarsen(ms_of(d.get("received_at")), self.audit_ms)
            cands = sorted({rc for rc in raw_copies if coarsen(rc, self.audit_ms) == slot})
            if not cands:
                r.fail("decision", "event %s: decision on received_at %s, events.raw has %s" % (eid, fmt_ms(slot), [fmt_ms(x) for x in raw_copies]))
                cands = [ms_of(d.get("received_at"))]
            self.check_decision_any(e, d, cands, ctx)
        if not decs:
            return

        # Timing: does the outcome depend on which admissible records the filter saw?
        states = self.states(ctx, seq)
        if not states:
            r.undecidable.append({"event_id": eid, "why": "no admissible state, or more than %d" % MAX_STATES})
            r.counts["undecidable"] += 1
            return
        part = self.partition_of(ctx.primary)
        trig = self.triggers(ctx.primary)
        tdenials = [c for c in self.by_key.get(ctx.tkey, []) if c.status == DENIED]
        outcomes = set()
        for rc in set(raw_copies):
            for t, u, linked, tm in states:
                v = decide(rc, e.get("jurisdiction"), bool(e.get("gpc")), u, t, self.policy, self.purpose, linked, tm)
                kept = False
                if v.allow:
                    # The earliest state position at which this state was complete.
                    offs = [c.offset for c in [t, u] + linked if c is not None and c.partition == part]
                    pos = (part, max(offs) + 1) if part is not None and offs else None
                    kept = not covered(t, tdenials) and not trigger_covers(pos, trig)
                outcomes.add((v.allow, kept))
        r.counts["determinate" if len(outcomes) == 1 else "timing_dependent"] += 1

        # Expected outputs, from the decisions as recorded (a wrong one already failed).
        allows = [d for d in decs if d["decision"] == "ALLOW"]
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
        # Allowed: in events.curated, with the tenant record a decision used and
        # the state position it was decided at.
        reason = allows[0]["reason"]
        if not cur:
            r.fail("lost", "event %s: allowed (%s) but not in events.curated" % (eid, reason))
        used_t = {d.get("tenant_consent_version") or None for d in allows}
        floors = [self.floor(k, seq) for k in [ctx.pkey, ctx.tkey] + [self.key(x) for x in ctx.mk]]
        floors += [self.links[ctx.primary][x] for x in ctx.mk if x not in event_subjects(e, self.policy)[1] and x in self.links.get(ctx.primary, {})]
        for where, recs in (("curated record", cur), ("snapshot row", rows)):
            for c in recs:
                tv = c.get("tenant_consent_version") or None
                if tv not in used_t:
                    r.fail("versions", "event %s: %s carries tenant_consent_version %s, its decisions used %s" % (eid, where, tv, sorted(used_t, key=str)))
                pos = parse_version(c.get("consent_version"))
                if pos is None:
                    r.fail("versions", "event %s: %s carries consent_version %r, not a state position p:o" % (eid, where, c.get("consent_version")))
                    continue
                if part is not None and pos[0] != part:
                    r.fail("versions", "event %s: %s decided at %s, but the records of %s are on partition %d" % (
                        eid, where, c.get("consent_version"), code(ctx.primary), part))
                for f in floors:
                    if f is not None and f.partition == pos[0] and f.offset >= pos[1]:
                        r.fail("versions", "event %s: %s decided at state position %s, before %s that the event was sent after" % (
                            eid, where, c.get("consent_version"), f.describe()))
        curv = {(c.get("consent_version") or None, c.get("tenant_consent_version") or None) for c in cur}
        for row in rows:
            got = (row.get("consent_version") or None, row.get("tenant_consent_version") or None)
            if cur and got not in curv:
                r.fail("versions", "event %s: snapshot row carries versions %s, events.curated %s" % (eid, got, sorted(curv, key=str)))
        basis = cur or rows
        if not basis:
            return
        cover, why = set(), []
        for c in basis:
            tv = parse_version(c.get("tenant_consent_version"))
            ct = covered(self.by_version.get(tv) if tv else None, tdenials)
            cs = trigger_covers(parse_version(c.get("consent_version")), trig)
            cover.add(bool(ct or cs))
            if ct:
                why.append("erased by %s" % ct.describe())
            elif cs:
                why.append("erased by %s" % cs.why)
        if len(cover) > 1:
            r.undecidable.append({"event_id": eid, "why": "redelivered at different state positions, erased under one and not the other"})
            r.counts["undecidable"] += 1
            return
        if cover.pop():
            r.counts["must_be_absent"] += 1
            r.counts["erased"] += 1
            if ctx.universe and not any(c.status == DENIED for c in self.by_key.get(ctx.pkey, [])) and not tdenials:
                r.counts["erased_through_links"] += 1
            if rows:
                r.fail("not erased", "event %s: allowed (%s), then %s, but in the snapshot" % (eid, reason, why[0]))
            return
        r.counts["must_pass"] += 1
        if len(rows) == 0:
            r.fail("lost", "event %s: allowed (%s) and not erased, but not in the snapshot" % (eid, reason))
        elif len(rows) > 1:
            r.fail("duplicated", "event %s: %d rows in the snapshot" % (eid, len(rows)))

    def check_decision_any(self, e, d, cands, ctx):
        """check_decision on the raw copies the decision may be of (its time is
        truncated): it holds when it holds for one of them; the failures of the
        last one tried are reported."""
        r = self.r
        for i, rc in enumerate(cands):
            if i == len(cands) - 1:
                return self.check_decision(e, d, rc, ctx)
            saved = (collections.Counter(r.failure_counts), {k: list(v) for k, v in r.failures.items()}, collections.Counter(r.counts))
            if self.check_decision(e, d, rc, ctx):
                return True
            r.failure_counts, r.counts = saved[0], saved[2]
            r.failures = collections.defaultdict(list, saved[1])
        return False

    def check_decision(self, e, d, received_ms, ctx):
        """Re-derive one decision: the records it names must be admissible, and
        some admissible state with them must give its decision and reason."""
        r = self.r
        eid, seq = e["event_id"], e["seq"]
        r.counts["decisions"] += 1
        reason = d.get("reason")
        if reason not in REASONS:
            r.fail("decision", "event %s: unknown reason %r" % (eid, reason))
            return False
        r.counts["reason:" + reason] += 1
        allow, rests_on = REASONS[reason]
        if (d.get("decision") == "ALLOW") != allow:
            r.fail("decision", "event %s: decision %s with reason %s" % (eid, d.get("decision"), reason))
        if d.get("policy_version") != self.policy.version:
            r.fail("decision", "event %s: policy_version %r, the policy file is %r" % (eid, d.get("policy_version"), self.policy.version))
        if d.get("purpose") != self.purpose:
            r.fail("decision", "event %s: purpose %r" % (eid, d.get("purpose")))
        cv, tv = d.get("consent_version") or None, d.get("tenant_consent_version") or None
        # The record the decision rests on is consent_version: the tenant's for
        # rule 1, the user's for rules 2-3, a linked subject's for linked_*,
        # none for link_limit and rule 4.
        if rests_on == "tenant" and cv != tv:
            r.fail("decision", "event %s: %s rests on the tenant's record, but consent_version %s != tenant_consent_version %s" % (eid, reason, cv, tv))
        ok_t, tenant = self.check_version(ctx.tkey, seq, tv, "tenant", eid)
        user, fixed, ok_u = ANY, None, True
        if rests_on == "user":
            ok_u, user = self.check_version(ctx.pkey, seq, cv, "user", eid)
        elif rests_on == "linked":
            ok_u, fixed = self.check_linked(ctx, seq, cv, eid)
        elif rests_on is None:
            if cv:
                r.fail("decision", "event %s: %s rests on the regime, but names consent_version %s" % (eid, reason, cv))
            ok_u, user = self.check_version(ctx.pkey, seq, None, "user", eid)
        if not (ok_t and ok_u):
            return False
        states = self.states(ctx, seq, tenant=tenant, user=user, fixed=fixed)
        if states is None:
            return False  # reported by judge
        first = None
        for t, u, linked, tm in states:
            v = decide(received_ms, e.get("jurisdiction"), bool(e.get("gpc")), u, t, self.policy, self.purpose, linked, tm)
            if rests_on == "tenant":
                agree = v.reason == reason  # the user's record is not named; rule 1 must decide
            else:
                agree = (v.allow, v.reason) == (d.get("decision") == "ALLOW", reason)
            if agree:
                return True
            first = first or v
        if first is None:
            r.fail("decision", "event %s: no admissible state of its records (see the other failures)" % eid)
            return False
        who = "user %s" % e["user_id"] if e.get("user_id") else "anonymous %s" % e.get("anonymous_id")
        r.fail("decision", "event %s (seq %d, tenant %s, %s, jurisdiction %r, gpc %s, received_at %s, linked %s): the chain said %s %s; oracle: %s %s by %s" % (
            eid, seq, e.get("tenant_id"), who, e.get("jurisdiction") or "", bool(e.get("gpc")), fmt_ms(received_ms),
            sorted(code(x) for x in ctx.universe), d.get("decision"), reason,
            "ALLOW" if first.allow else "DENY", first.reason, first.rule))
        return False


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
    ap.add_argument("--max-links", type=int, default=1000, help="the consent-filter's FILTER_MAX_LINKS")
    ap.add_argument("--ignore-prefix", default="poison-", help="event ids injected by the test itself (poison)")
    ap.add_argument("--limit", type=int, default=25, help="examples kept per failure category")
    ap.add_argument("--pseudonym-key", default="", help="ID:BASE64, the anonymizer's active key (curated event ids are keyed)")
    ap.add_argument("--audit-granularity-ms", type=int, default=3600000, help="the consent-filter's AUDIT_TIME_GRANULARITY")
    ap.add_argument("--store", default="", help="the consent store after the drain (JSON lines: bucket metas and records, as the e2e harness dumps Redis)")
    ap.add_argument("--tally", default="", help="the privacy centre's counts after the drain (JSON lines: tenant, day, events {purpose|reason: n}, users), as the e2e harness dumps Redis")
    ap.add_argument("--tally-exact", action="store_true", help="a fault-free run: every decided event must be counted (otherwise counts may fall short, never over)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    rep = Report(a.limit)
    key = None
    if a.pseudonym_key:
        kid, _, b64 = a.pseudonym_key.partition(":")
        key = (kid, base64.b64decode(b64))
    o = Oracle(load_policy(a.policy), a.purpose, rep, a.max_links, key, a.audit_granularity_ms)
    o.load_log(a.log)
    o.load_changes(a.changes)
    o.run(a.raw, a.decisions, a.curated, a.rows, a.ignore_prefix)
    if a.store:
        o.check_store(a.store)
    if a.tally:
        o.check_tally(a.tally, a.tally_exact)
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
