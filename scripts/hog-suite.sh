#!/usr/bin/env bash
# The whole test suite, RUNS times in a row (default 3), while two CPU-bound processes
# occupy both cores: no test may depend on how fast the machine is (issue 25, item 6).
# Each run's result line and duration go to LOG (default hog-suite.log in the repository
# root), with the full pytest output beside it (LOG.run-N-portable.txt, ...-chimerax.txt).
#
#   scripts/hog-suite.sh [LOG] [RUNS]
#
# The hogs are this script's own children, killed by their process ids when it ends
# (also when interrupted).
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log="$(realpath -m "${1:-$root/hog-suite.log}")"
runs="${2:-3}"
cd "$root" || exit 2

hogs=()
stop_hogs() {
    for pid in "${hogs[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${hogs[@]}"; do
        wait "$pid" 2>/dev/null
    done
    hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

for _ in 1 2; do
    python3 -c 'while True: pass' &
    hogs+=("$!")
done

note() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') $*" | tee -a "$log"; }

note "hog-suite: $runs runs at $(git rev-parse --short HEAD) on $(nproc) cores, hogs ${hogs[*]}"
failed=0
for run in $(seq 1 "$runs"); do
    for layer in portable chimerax; do
        if [ "$layer" = portable ]; then
            cmd=(.venv-portable/bin/python -m pytest tests/portable -q -p no:cacheprovider)
        else
            cmd=(.venv/bin/python -m pytest tests/chimerax -q -p no:cacheprovider)
        fi
        out="$log.run-$run-$layer.txt"
        for pid in "${hogs[@]}"; do         # the hogs ran all along
            kill -0 "$pid" 2>/dev/null || note "hog $pid is gone"
        done
        start=$(date +%s)
        "${cmd[@]}" >"$out" 2>&1
        rc=$?
        seconds=$(( $(date +%s) - start ))
        summary="$(grep -E '(passed|failed|error)' "$out" | tail -1)"
        note "run $run $layer: rc $rc in ${seconds}s: $summary"
        if [ "$rc" -ne 0 ]; then
            failed=1
            grep -E '^(FAILED|ERROR) ' "$out" | while read -r line; do note "  $line"; done
        fi
    done
done
note "hog-suite: $( [ $failed = 0 ] && echo 'every run passed' || echo 'FAILURES above')"
exit $failed
