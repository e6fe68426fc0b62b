import sys,re,collections,json
samples=collections.defaultdict(dict)
for line in open(sys.argv[1]):
    p=line.split()
    if len(p)==3:
        try: samples[int(p[0])][p[1]]=float(p[2])
        except: pass
ts=sorted(samples)
d=json.load(open(sys.argv[2])); prefix=d['settings']['topic_prefix']
tops=set()
for t in ts:
    for n in samples[t]:
        m=re.search(r'topic=('+re.escape(prefix)+r'chain\d\.)(\d)$',n)
        if m: tops.add(m.group(1))
cp=max(tops)
k=lambda m,tp:f"type=BrokerTopicMetrics,name={m},topic={tp}"
v=lambda t,n:samples[t].get(n,0.0)
h0=[v(t,k('MessagesInPerSec',cp+'0')) for t in ts]; h2=[v(t,k('MessagesInPerSec',cp+'2')) for t in ts]
fin=max(h0); n=d['settings']['e2e_max_events']
i0=max(i for i,x in enumerate(h0) if x<=fin-n+50)
i1=min(i for i,x in enumerate(h2) if x>=max(h2) and i>i0)
t0,t1=ts[i0],ts[i1]
ev=v(t1,k('MessagesInPerSec',cp+'0'))-v(t0,k('MessagesInPerSec',cp+'0'))
print(f"chain max: window {(t1-t0)/1000:.1f}s events {ev:.0f}; broker CPU {(v(t1,'cpu_ns')-v(t0,'cpu_ns'))/1e3/ev:.1f} µs/event")
req=collections.Counter()
for nm in set(samples[t0])|set(samples[t1]):
    m=re.match(r'type=RequestMetrics,name=RequestsPerSec,request=(\w+),',nm)
    if m: req[m.group(1)]+=v(t1,nm)-v(t0,nm)
print('requests/1000ev (total without FetchConsumer, a subset of Fetch): %.1f' % (sum(b for a,b in req.items() if a!='FetchConsumer')/ev*1000)); print('requests/1000ev:',{a:round(b/ev*1000,1) for a,b in req.most_common() if b})
for h in '012':
    tp=cp+h
    pr=v(t1,k('TotalProduceRequestsPerSec',tp))-v(t0,k('TotalProduceRequestsPerSec',tp)); fr=v(t1,k('TotalFetchRequestsPerSec',tp))-v(t0,k('TotalFetchRequestsPerSec',tp)); mi=v(t1,k('MessagesInPerSec',tp))-v(t0,k('MessagesInPerSec',tp))
    print(f"  hop{h}: produce {pr:.0f} ({mi/max(pr,1):.1f} msg/req) fetch {fr:.0f} ({mi/max(fr,1):.1f} msg/fetch)")
