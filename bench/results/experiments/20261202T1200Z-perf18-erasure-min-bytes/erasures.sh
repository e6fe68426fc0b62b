#!/bin/bash
# erasures.sh RUNPREFIX (runs/A1-<stamp>): erasure latency (change time -> erasure time) overall, fixed window, max window
T=/work/wt/perf18-tools; r=$(realpath $1.json); r=${r%.json}
P=$(python3 -c "import json;print(json.load(open('$r.json'))['settings']['topic_prefix'])")
a=$(grep -o "topic=${P}e2e[0-9]\.consent\.changes" $r.samples | sort -u | tail -1 | sed "s/topic=${P}//; s/\.consent\.changes//")
cd /work/wt/perf18/bench && eval "$(bash ../scripts/services.sh env)"
echo "all:   $(go run $T/erasurelat.go ${P}$a.consent.changes ${P}$a.dataset.erasures)"
for m in fixed max; do
  w=$(python3 $T/analyze.py $r.samples $r.json $m 2>/dev/null | awk '/^window_ms/{print $2, $3}')
  echo "$m: $(go run $T/erasurelat.go ${P}$a.consent.changes ${P}$a.dataset.erasures $w)"
done
