import subprocess,sys,re,glob,json
rows=[]
print("| run | variant | window s | broker µs/ev (JMX) | requests/1000 ev | raw produce (msg/req) | raw fetch (msg/fetch) | consent.changes produce+fetch | filter outputs produce | ListOffsets | e2e.max ratio | broker µs/ev (cfbench) | producer µs/ev | loadgen µs/ev | machine µs/ev | unmeasured µs/ev | fixed p99 ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for j in sorted(glob.glob('runs/*.json'), key=lambda p: p.split('-')[-1]):
    s=j.replace('.json','.samples')
    out=subprocess.run(['python3','analyze.py',s,j,'max'],capture_output=True,text=True).stdout
    g=lambda pat: re.search(pat,out)
    win=g(r'window ([\d.]+)s').group(1); bcpu=g(r'= ([\d.]+) µs/raw').group(1); req=g(r'= ([\d.]+)/event').group(1)
    def topic(t):
        m=re.search(r'\.'+re.escape(t)+r'\s+produce\s+(\d+) \(\s*([\d.]+) msg/req\)\s+fetch\s+(\d+) \(\s*([\d.]+)',out)
        return [float(x) for x in m.groups()] if m else [0,0,0,0]
    raw=topic('events.raw'); ch=topic('consent.changes'); dec=topic('consent.decisions'); con=topic('events.consented')
    lo=g(r'ListOffsets\s+(\d+)'); lo=int(lo.group(1)) if lo else 0
    d=json.load(open(j)); F={x['id']:x['value'] for x in d['figures']}
    lab=j.split('/')[-1].split('-')[0]
    var='PRODUCER_BATCH_TIMEOUT=5ms' if lab.startswith('B5ms') else ('FILTER_LINGER=20ms' if lab.startswith('C20') else 'main')
    print(f"| {j.split('-')[-1][:-5]} | {var} | {win} | {bcpu} | {float(req)*1000:.0f} | {raw[0]/100:.0f} ({raw[1]}) | {raw[2]/100:.0f} ({raw[3]}) | {(ch[0]+ch[2])/100:.0f} | {(dec[0]+con[0])/100:.0f} | {lo/100:.0f} | {F['e2e.max.throughput']/F['chain.max.throughput']:.3f} | {F['e2e.max.cpu.kafka_broker']} | {F['e2e.max.cpu.producer']} | {F['e2e.max.cpu.cfbench_loadgen']} | {F['e2e.max.cpu.machine']} | {F['e2e.max.cpu.unmeasured']} | {F['e2e.fixed.p99']} |")
print()
print("| run | variant | broker µs/ev | consent-filter µs/ev | anonymizer µs/ev | machine µs/ev | unmeasured µs/ev | filter batches | p50 ms | p99 ms | hop p50 ms | withdrawal p99 ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for j in sorted(glob.glob('runs/*.json'), key=lambda p: p.split('-')[-1]):
    d=json.load(open(j)); F={x['id']:x['value'] for x in d['figures']}
    m=d['e2e']['runs']['fixed']['service_metrics']
    fb=sum(v for k,v in m.items() if 'batch_seconds_count{stage="consent-filter"}' in k)
    lab=j.split('/')[-1].split('-')[0]
    var='PRODUCER_BATCH_TIMEOUT=5ms' if lab.startswith('B5ms') else ('FILTER_LINGER=20ms' if lab.startswith('C20') else 'main')
    print(f"| {j.split('-')[-1][:-5]} | {var} | {F['e2e.fixed.cpu.kafka_broker']} | {F['e2e.fixed.cpu.consent_filter']} | {F['e2e.fixed.cpu.anonymizer']} | {F['e2e.fixed.cpu.machine']} | {F['e2e.fixed.cpu.unmeasured']} | {fb:.0f} | {F['e2e.fixed.p50']} | {F['e2e.fixed.p99']} | {F['e2e.fixed.hop_p50']} | {F.get('withdrawal.p99')} |")
