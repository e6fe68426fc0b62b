#!/bin/bash
# refresh jmxurl for the running broker (it may have been restarted)
pid=$(pgrep -f 'consentflow.service=kafka' | head -1)
a=$(jcmd $pid PerfCounter.print 2>/dev/null | grep 'JMXConnectorServer.address')
if [ -z "$a" ]; then jcmd $pid ManagementAgent.start_local >/dev/null 2>&1; sleep 1; a=$(jcmd $pid PerfCounter.print | grep 'JMXConnectorServer.address'); fi
echo "$a" | sed 's/^[^=]*="//; s/"$//' > /work/wt/perf18-tools/jmxurl
