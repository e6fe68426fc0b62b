# table.py: the perf18 A/B tables from runs/*.json (+ .samples, .erasures.txt)
import subprocess, re, glob, json, os
T = '/work/wt/perf18-tools'
runs = sorted(glob.glob(T + '/runs/*-2026*.json'), key=lambda p: p.split('-')[-1])
def lab(j): return os.path.basename(j).split('-')[0]
def var(j): return {'A': 'main', 'B': 'perf18 16 KiB', 'C': 'perf18 + 2 KiB env'}[lab(j)[0]]
def broker(j, mode):
    out = subprocess.run(['python3', T + '/analyze.py', j[:-5] + '.samples', j, mode], capture_output=True, text=True).stdout
    g = lambda pat: re.search(pat, out)
    def topic(t):
        m = re.search(r'\.' + re.escape(t) + r'\s+produce\s+(\d+) \(\s*([\d.]+) msg/req\)\s+fetch\s+(\d+) \(\s*([\d.]+)', out)
        return [float(x) for x in m.groups()] if m else [0, 0, 0, 0]
    req = {k: float(v) for k, v in re.findall(r'^  (\w+)\s+(\d+)\s', out, re.M)}
    ev = float(g(r'raw events in window (\d+)').group(1))
    return dict(win=g(r'window ([\d.]+)s').group(1), cpu=g(r'= ([\d.]+) µs/raw').group(1), req=float(g(r'= ([\d.]+)/event').group(1)) * 1000,
                ev=ev, types=req, ch=topic('consent.changes'), er=topic('dataset.erasures'))
def eras(j, mode):
    p = j[:-5] + '.erasures.txt'
    if not os.path.exists(p): return '–'
    for line in open(p):
        if line.startswith(mode + ':'):
            m = re.search(r'erasures (\d+).*p50 ([\d.]+) p90 ([\d.]+) p99 ([\d.]+) max ([\d.]+)', line)
            return f"{m.group(2)} / {m.group(4)} / {m.group(5)} ({m.group(1)})"
    return '–'
print("Max rate (e2e max window; JMX columns from the broker's counters, the rest from the run's JSON):\n")
print("| run | variant | load1 | window s | broker µs/ev (JMX) | requests/1000 ev | Fetch | Produce | ListOffsets | OffsetCommit | consent.changes fetch (recs/fetch) | dataset.erasures produce | e2e.max ratio | e2e.max.p99 ms | broker µs/ev (cfbench) | anonymizer µs/ev | erasure latency p50 / p99 / max ms (n) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for j in runs:
    b = broker(j, 'max'); d = json.load(open(j)); F = {x['id']: x['value'] for x in d['figures']}
    load = open(T + '/runs/' + lab(j) + '.load').read().split('load average:')[1].split(',')[0].strip()
    n = b['ev'] / 1000
    print(f"| {j.split('-')[-1][:-5]} | {var(j)} | {load} | {b['win']} | {b['cpu']} | {b['req']:.0f} | {b['types'].get('Fetch',0)/n:.0f} | {b['types'].get('Produce',0)/n:.0f} | {b['types'].get('ListOffsets',0)/n:.1f} | {b['types'].get('OffsetCommit',0)/n:.1f} | {b['ch'][2]/n:.1f} ({b['ch'][3]}) | {b['er'][0]/n:.1f} | {F['e2e.max.throughput']/F['chain.max.throughput']:.3f} | {F.get('e2e.max.p99')} | {F['e2e.max.cpu.kafka_broker']} | {F.get('e2e.max.cpu.anonymizer')} | {eras(j,'max')} |")
print("\nFixed rate (1000 events/s, 60 s), same runs:\n")
print("| run | variant | broker µs/ev (JMX) | requests/1000 ev | consent.changes fetch/1000 ev | broker µs/ev (cfbench) | anonymizer µs/ev | p50 ms | p99 ms | withdrawal p50 / p99 ms | stale allows | erasure latency p50 / p99 / max ms (n) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for j in runs:
    b = broker(j, 'fixed'); d = json.load(open(j)); F = {x['id']: x['value'] for x in d['figures']}
    n = b['ev'] / 1000
    print(f"| {j.split('-')[-1][:-5]} | {var(j)} | {b['cpu']} | {b['req']:.0f} | {b['ch'][2]/n:.1f} | {F['e2e.fixed.cpu.kafka_broker']} | {F['e2e.fixed.cpu.anonymizer']} | {F['e2e.fixed.p50']} | {F['e2e.fixed.p99']} | {F.get('withdrawal.p50')} / {F.get('withdrawal.p99')} | {d['withdrawal']['stale_allows']} | {eras(j,'fixed')} |")
