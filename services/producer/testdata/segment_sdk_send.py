#!/usr/bin/env python3
"""Send track events to a consentflow producer through the real Segment SDK.

Used by TestSegmentSDK (services/producer/segment_sdk_test.go) and the live suite:

    pip install segment-analytics-python
    python segment_sdk_send.py --host http://127.0.0.1:8080 --write-key KEY \
        --events 20 --tenant t1 [--gzip]

It sends N track events with the given write key through segment.analytics (the
SDK batches them and POSTs /v1/batch with the key as the basic-auth user),
flushes, and prints one messageId per line on stdout. It exits 1 when the SDK
reported an error for any batch (the producer answered something other than 200
after the SDK's retries).
"""

import argparse
import sys

from segment.analytics import Client


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True, help="producer base URL")
    ap.add_argument("--write-key", required=True)
    ap.add_argument("--events", type=int, default=10)
    ap.add_argument("--tenant", default="t-sdk", help="sent as context.groupId")
    ap.add_argument("--user-prefix", default="sdk-user")
    ap.add_argument("--gzip", action="store_true", help="gzip request bodies")
    args = ap.parse_args()

    errors = []

    def on_error(err, batch):
        errors.append(f"{err} ({len(batch)} messages)")

    client = Client(
        write_key=args.write_key,
        host=args.host,
        gzip=args.gzip,
        on_error=on_error,
        max_retries=2,
        upload_size=25,
    )
    ids = []
    for i in range(args.events):
        ok, msg = client.track(
            user_id=f"{args.user_prefix}-{i % 5}",
            event="sdk_event",
            properties={"n": i, "text": f"sent by the segment sdk, message {i}"},
            context={"groupId": args.tenant, "ip": "203.0.113.10", "locale": "en-GB",
                     "consent": {"categoryPreferences": {"ai_training": True}}},
        )
        if not ok:
            errors.append(f"enqueue failed for message {i}")
        ids.append(msg["messageId"])
    client.flush()
    client.shutdown()

    for err in errors:
        print(f"error: {err}", file=sys.stderr)
    if errors:
        return 1
    for mid in ids:
        print(mid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
