#!/bin/bash
# run.sh WORKTREE LABEL [EXTRA]: one e2e bench run under the lock with the broker sampler; keeps JSON + samples in /work/wt/perf18-tools/runs
set -e
T=/work/wt/perf18-tools
wt=$1; label=$2; extra="$3"
out=$T/runs; mkdir -p $out
while [ -e /work/wt/QUIET ]; do sleep 20; done
cd $wt
make bench-build > $out/$label.build.log 2>&1
flock /work/wt/bench.lock bash -c '
  uptime > '$out'/'$label'.load; /work/wt/perf18-tools/jmx.sh
  java -Xmx48m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '$T' Sampler "$(cat '$T'/jmxurl)" 500 900 > '$out'/'$label'.samples.tmp &
  sp=$!
  timeout 900 make bench BENCH_ARGS="-only=e2e '"$extra"'" > '$out'/'$label'.log 2>&1; rc=$?
  kill $sp
  uptime >> '$out'/'$label'.load
  exit $rc'
j=$(ls -t bench/results/*.json | head -1)
stamp=$(basename $j .json)
mv $j $out/$label-$stamp.json
mv $out/$label.samples.tmp $out/$label-$stamp.samples
rm -rf bench/results/$stamp
git checkout -q BENCHMARKS.md
python3 $T/analyze.py $out/$label-$stamp.samples $out/$label-$stamp.json max > $out/$label-$stamp.broker.txt || true
echo $out/$label-$stamp
