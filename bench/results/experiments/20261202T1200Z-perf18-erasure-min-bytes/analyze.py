#!/usr/bin/env python3
"""analyze.py SAMPLES RESULT.json: broker requests during the e2e max run.

Window: from the last sample before the e2e raw topic's messages-in started the
max run (its count passes the fixed-run total + 1000) to the first sample at
which the curated topic has reached its final count (drained). Prints per
request type, and per topic produce/fetch requests, per raw event and per
second; and the broker's CPU µs per raw event from the JMX ProcessCpuTime.
"""
import json, re, sys, collections

samples = collections.defaultdict(dict)  # t -> name -> value
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) != 3:
        continue
    t, name, v = int(parts[0]), parts[1], parts[2]
    try:
        samples[t][name] = float(v)
    except ValueError:
        pass
ts = sorted(samples)
res = json.load(open(sys.argv[2]))
prefix = res['settings']['topic_prefix']
mode = sys.argv[3] if len(sys.argv) > 3 else 'max'


def topic_key(metric, topic):
    return f"type=BrokerTopicMetrics,name={metric},topic={topic}"


ATTEMPT = sys.argv[4] if len(sys.argv) > 4 else None


def find_topic(suffix):
    found = set()
    for t in ts:
        for n in samples[t]:
            m = re.search(r'topic=(' + re.escape(prefix) + r'e2e(\d)\.' + re.escape(suffix) + r')$', n)
            if m and (ATTEMPT is None or m.group(2) == ATTEMPT):
                found.add(m.group(1))
    return max(found) if found else None


raw = find_topic('events.raw')
cur = find_topic('events.curated')
if raw is None or cur is None:
    sys.exit(f"topics not found (prefix {prefix})")
runs = res['e2e']['runs']
fixed_n = runs['fixed']['raw_events']
max_n = runs['max']['raw_events']


def val(t, name):
    return samples[t].get(name, 0.0)


rawin = [(t, val(t, topic_key('MessagesInPerSec', raw))) for t in ts]
curin = [(t, val(t, topic_key('MessagesInPerSec', cur))) for t in ts]
if mode == 'max':
    start_level = max(v for _, v in rawin) - max_n
    i0 = max(i for i, (t, v) in enumerate(rawin) if v <= start_level + 50)
else:
    # fixed: from the first sample after warm-up (raw count > 500 and steady) — approximate
    i0 = min(i for i, (t, v) in enumerate(rawin) if v >= 600)
curfinal = max(v for _, v in curin)
if mode == 'max':
    i1 = min(i for i, (t, v) in enumerate(curin) if v >= curfinal and i > i0)
else:
    target = rawin[i0][1] + fixed_n - 1000
    i1 = min(i for i, (t, v) in enumerate(rawin) if v >= target)
t0, t1 = ts[i0], ts[i1]
events = val(t1, topic_key('MessagesInPerSec', raw)) - val(t0, topic_key('MessagesInPerSec', raw))
secs = (t1 - t0) / 1000
print(f"window_ms {t0} {t1}")
print(f"{mode}: window {secs:.1f}s, raw events in window {events:.0f} (run: {max_n if mode=='max' else fixed_n})")
cpu = (val(t1, 'cpu_ns') - val(t0, 'cpu_ns')) / 1e3
print(f"broker CPU {cpu/1e6:.2f}s = {cpu/events:.1f} µs/raw event")
names = set(samples[t0]) | set(samples[t1])
req = collections.Counter()
for n in names:
    m = re.match(r'type=RequestMetrics,name=RequestsPerSec,request=(\w+),version=(\d+)', n)
    if m:
        req[m.group(1)] += val(t1, n) - val(t0, n)
tot = sum(v for k, v in req.items() if k != 'FetchConsumer')  # FetchConsumer is a subset of Fetch
print(f"requests: {tot:.0f} = {tot/events:.3f}/event, {tot/secs:.0f}/s")
for k, v in req.most_common():
    if v:
        print(f"  {k:20s} {v:8.0f}  {v/events*1000:7.1f}/1000ev  {v/secs:7.0f}/s")
print("per topic (produce req, fetch req, messages in, bytes in, bytes out):")
for n in sorted(names):
    m = re.match(r'type=BrokerTopicMetrics,name=TotalProduceRequestsPerSec,topic=(.*)$', n)
    if not m:
        continue
    tp = m.group(1)
    d = {k: val(t1, topic_key(k, tp)) - val(t0, topic_key(k, tp)) for k in
         ('TotalProduceRequestsPerSec', 'TotalFetchRequestsPerSec', 'MessagesInPerSec', 'BytesInPerSec', 'BytesOutPerSec')}
    if not any(d.values()):
        continue
    pr, fr, mi = d['TotalProduceRequestsPerSec'], d['TotalFetchRequestsPerSec'], d['MessagesInPerSec']
    short = tp.replace(prefix, '')
    print(f"  {short:32s} produce {pr:7.0f} ({mi/pr if pr else 0:6.1f} msg/req)  fetch {fr:7.0f} ({mi/fr if fr else 0:6.1f} msg/fetch)"
          f"  in {mi:7.0f}  out {d['BytesOutPerSec']/1e6:6.1f} MB")
