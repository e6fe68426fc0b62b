#!/bin/bash
# alternate A (main) and B (perf18 default) until STOP exists
T=/work/wt/perf18-tools
i=1
while [ ! -e $T/STOP ]; do
  $T/run.sh /work/wt/perf18-a A$i >> $T/loop.log 2>&1 || echo "A$i failed" >> $T/loop.log
  [ -e $T/STOP ] && break
  $T/run.sh /work/wt/perf18-b B$i >> $T/loop.log 2>&1 || echo "B$i failed" >> $T/loop.log
  i=$((i+1))
done
