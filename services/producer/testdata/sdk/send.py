#!/usr/bin/env python3
"""Drive one Python analytics SDK against a consentflow producer (the SDK compatibility suite).

Used by services/producer/sdk_compat_test.go, which checks what lands in events.raw:

    python send.py --sdk segment|rudderstack|amplitude|mixpanel --host http://127.0.0.1:PORT \
        --key KEY --user U --anon A [--tenant T] --group T [--mode calls|retry|invalid]

calls:   the SDK's track, identify, page, group and alias calls (or its equivalents; see the
         test for what each becomes).
retry:   one track call, which the producer answers 503 with Retry-After before it accepts it.
invalid: one track call that the producer refuses with a 4xx (no tenant anywhere).

It prints one JSON line on stdout: {"errors": [...]} with every error the SDK reported (its
callbacks, exceptions). Exit status 0 unless the script itself failed.
"""

import argparse
import json
import sys
import threading
import time

TRAITS = {"name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro"}
TRACK_PROPS = {"issue": "ABC-1", "points": 3, "text": "Mail me at ada@example.com"}


def segment_like(args, errors, module):
    if module == "segment":
        from segment.analytics import Client
    else:
        from rudderstack.analytics import Client

    def on_error(err, batch):
        errors.append(f"{err} ({len(batch)} messages)")

    client = Client(write_key=args.key, host=args.host, on_error=on_error, max_retries=3, upload_size=20, gzip=True)
    ctx = {"groupId": args.tenant} if args.tenant else {}
    if args.mode == "calls":
        client.identify(args.user, TRAITS, anonymous_id=args.anon, context=ctx)
        client.track(args.user, "Issue Created", TRACK_PROPS, context=ctx)
        client.page(args.user, category="Docs", name="Home", properties={"path": "/home"}, context=ctx)
        client.group(args.user, args.group, {"plan": "pro"}, context=ctx)
        client.alias(args.anon, args.user, context=ctx)
    else:
        client.track(args.user, "Retried" if args.mode == "retry" else "Refused", {"n": 1}, context=ctx)
    client.flush()
    client.shutdown()


def amplitude(args, errors):
    from amplitude import Amplitude, BaseEvent, Config, EventOptions, Identify

    done = threading.Semaphore(0)

    def callback(event, code, message=None):
        if code != 200:
            errors.append(f"{code}: {message} ({event.event_type})")
        done.release()

    cfg = Config(server_url=args.host + "/batch", use_batch=True, flush_queue_size=20, flush_interval_millis=200,
                 flush_max_retries=3, callback=callback)
    client = Amplitude(args.key, configuration=cfg)
    tenant = {"tenant_id": args.tenant} if args.tenant else {}
    if args.mode == "calls":
        client.track(BaseEvent("Issue Created", user_id=args.user, device_id=args.anon,
                               event_properties={**TRACK_PROPS, **tenant}))
        ident = Identify()
        for k, v in {**TRAITS, **tenant}.items():
            ident.set(k, v)
        client.identify(ident, EventOptions(user_id=args.user, device_id=args.anon))
        client.track(BaseEvent("[Amplitude] Page Viewed", user_id=args.user, device_id=args.anon,
                               event_properties={"page_path": "/home", "page_title": "Home", **tenant}))
        group = Identify()
        group.set("plan", "pro")
        client.group_identify("company", args.group, group, EventOptions(user_id=args.user), event_properties=tenant or None)
    else:
        client.track(BaseEvent("Retried" if args.mode == "retry" else "Refused", user_id=args.user,
                               event_properties={"n": 1, **tenant}))
    # The callback runs when the SDK is done with an event: sent, or dropped after its retries.
    # Wait for every one from the SDK's own consumer thread (what an application relies on)
    # rather than flush(): flush() then shutdown() stops the workers before a retry is sent.
    sent = 4 if args.mode == "calls" else 1
    deadline = time.monotonic() + 60
    for _ in range(sent):
        if not done.acquire(timeout=max(0.0, deadline - time.monotonic())):
            errors.append("the SDK did not finish with every event in 60 s")
            break
    client.shutdown()


def mixpanel(args, errors):
    from mixpanel import Consumer, Mixpanel, MixpanelException

    consumer = Consumer(events_url=args.host + "/track", people_url=args.host + "/engage",
                        import_url=args.host + "/import", groups_url=args.host + "/groups")
    mp = Mixpanel(args.key, consumer=consumer)
    tenant = {"tenant_id": args.tenant} if args.tenant else {}

    def call(what, fn):
        try:
            fn()
        except MixpanelException as e:
            errors.append(f"{what}: {e}")

    if args.mode == "calls":
        call("track", lambda: mp.track(args.user, "Issue Created", {**TRACK_PROPS, **tenant}))
        call("people_set", lambda: mp.people_set(args.user, {"$name": TRAITS["name"], "$email": TRAITS["email"], "plan": "pro", **tenant}))
        call("page", lambda: mp.track(args.user, "$mp_web_page_view", {"current_url_path": "/home", "current_page_title": "Home", **tenant}))
        # Group membership is a profile property in Mixpanel (group profiles, /groups, name no person).
        call("group", lambda: mp.people_set(args.user, {"company": args.group, **tenant}))
        # alias() always posts to api.mixpanel.com (the SDK ignores the consumer), so the
        # equivalent that goes through the configured consumer is merge() (/import).
        call("merge", lambda: mp.merge(None, args.user, args.anon, api_secret="not-checked-by-consentflow"))
        call("import", lambda: mp.import_data(None, args.user, "Imported Event", time.time() - 3600, {"batch": "old", **tenant},
                                              api_secret="not-checked-by-consentflow"))
    else:
        call("track", lambda: mp.track(args.user, "Retried" if args.mode == "retry" else "Refused", {"n": 1, **tenant}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdk", required=True, choices=["segment", "rudderstack", "amplitude", "mixpanel"])
    ap.add_argument("--host", required=True, help="producer base URL")
    ap.add_argument("--key", required=True, help="write key, API key or project token")
    ap.add_argument("--user", required=True)
    ap.add_argument("--anon", required=True)
    ap.add_argument("--tenant", default="", help="put in the events (omit for a key bound to a tenant)")
    ap.add_argument("--group", required=True, help="the group call's group (the tenant)")
    ap.add_argument("--mode", default="calls", choices=["calls", "retry", "invalid"])
    args = ap.parse_args()

    errors = []
    if args.sdk in ("segment", "rudderstack"):
        segment_like(args, errors, args.sdk)
    elif args.sdk == "amplitude":
        amplitude(args, errors)
    else:
        mixpanel(args, errors)
    print(json.dumps({"errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
