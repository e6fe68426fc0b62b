#!/usr/bin/env bash
# Runs every Go fuzz target of the repository for a bounded time each (`make fuzz`, CI).
# Targets are found, not listed: every `func FuzzXxx(f *testing.F)` in a *_test.go file, so
# a new decoder's fuzz target runs without touching this script.
#
#   FUZZTIME=15s scripts/fuzz.sh            # every target, 15 s of fuzzing each (default)
#   FUZZTIME=1m  scripts/fuzz.sh FuzzParse  # only targets whose name matches the regexp
#
# A failing input is minimised by `go test` and kept in <package>/testdata/fuzz/<target>/
# (commit it with the fix: it then runs in `make test` as a regression case).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-15s}
FILTER=${1:-.}
start=$(date +%s)
failed=()
ran=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while IFS= read -r file; do
    dir=$(dirname "$file")
    mod=$dir
    while [[ ! -f $mod/go.mod ]]; do mod=$(dirname "$mod"); done
    rel=./${dir#"$mod"}
    rel=${rel%/}
    [[ $rel == . || $rel == ./ ]] && rel=.
    rel=${rel/#.\/\//./}
    for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/'); do
        [[ $name =~ $FILTER ]] || continue
        t0=$(date +%s)
        printf '=== %s (%s %s), %s\n' "$name" "${mod#./}" "$rel" "$FUZZTIME"
        # Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
        # exceeded" when -fuzztime ends while a starved worker is mid-call
        # (golang/go#75804, fixed in Go 1.27): no input is written, nothing was
        # found. Such a run is repeated once; a run that wrote a failing input, or
        # failed any other way, fails at once.
        for attempt in 1 2; do
            rc=0
            (cd "$mod" && go test -count=1 -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -timeout 15m "$rel") >"$log" 2>&1 || rc=$?
            if ((rc != 0)) && ((attempt == 1)) && grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
                # Not printed as go test wrote it: its "--- FAIL:" line would
                # read as a failed test to whoever scans the log.
                printf -- '--- %s: the fuzz coordinator'"'"'s deadline race (golang/go#75804: "context deadline exceeded", no input written); once more\n' "$name"
                continue
            fi
            sed '/^fuzz: elapsed/d' "$log" | tail -n 25
            break
        done
        if ((rc == 0)); then
            printf -- '--- ok   %s in %ss\n' "$name" "$(( $(date +%s) - t0 ))"
        else
            printf -- '--- FAIL %s in %ss (failing input under %s/testdata/fuzz/%s)\n' "$name" "$(( $(date +%s) - t0 ))" "$dir" "$name"
            failed+=("$name")
        fi
        ran=$((ran + 1))
    done
done < <(grep -rlE --include='*_test.go' --exclude-dir=out --exclude-dir=bin --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | sort)
echo "fuzz: $ran targets, ${FUZZTIME} each, in $(( $(date +%s) - start ))s; failed: ${failed[*]:-none}"
((ran > 0)) || { echo "fuzz: no target matches $FILTER" >&2; exit 1; }
((${#failed[@]} == 0))
