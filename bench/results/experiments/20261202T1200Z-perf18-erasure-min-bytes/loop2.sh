#!/bin/bash
# after loop.sh: B2 (16 KiB default), C1 (2 KiB via -services-env), A3, C2, B3 ... until STOP2
T=/work/wt/perf18-tools
while kill -0 $(cat $T/loop.pid) 2>/dev/null; do sleep 5; done
for r in B2 C1 A3 C2 B3 A4; do
  [ -e $T/STOP2 ] && break
  case $r in
    A*) $T/run.sh /work/wt/perf18-a $r ;;
    B*) $T/run.sh /work/wt/perf18-b $r ;;
    C*) $T/run.sh /work/wt/perf18-b $r "-services-env ANONYMIZER_ERASURE_MIN_BYTES=2048" ;;
  esac >> $T/loop.log 2>&1 || echo "$r failed" >> $T/loop.log
done
