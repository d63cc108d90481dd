#!/usr/bin/env bash
# Lox VM benchmarks: builds the release `lox` example, runs each bench/*.lox,
# checks its output against the script's `// expect:` lines, and prints the
# wall time and the collector's figures (from LOX_GCSTATS=1). Extra
# arguments are passed to the environment, e.g. `run.sh GCPERCENT=200`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
cargo build --release --example lox >&2
bin="$root/target/release/examples/lox"

printf '%-13s %9s %7s %10s %12s %12s %7s %9s\n' \
    benchmark 'wall s' cycles 'max pause' 'median pause' 'total pause' 'GC CPU' 'heap MiB'
status=0
for bench in fib binary_trees strings methods; do
    script="$here/$bench.lox"
    out="$(mktemp)" err="$(mktemp)"
    start=$(date +%s%N)
    env "$@" LOX_GCSTATS=1 "$bin" "$script" >"$out" 2>"$err" || true
    end=$(date +%s%N)
    if ! diff -q <(sed -n 's|.*// expect: ||p' "$script") "$out" >/dev/null; then
        echo "$bench: wrong output" >&2
        status=1
    fi
    # "lox gc: time T s, N GC cycles, max pause X ms, median pause Y ms,
    #  total pause Z ms, GC CPU C%, peak committed M MiB"
    line="$(grep '^lox gc:' "$err")"
    field() { sed -E "s/.*$1.*/\\1/" <<<"$line"; }
    printf '%-13s %9.3f %7s %7s ms %9s ms %9s ms %6s%% %9s\n' "$bench" \
        "$(awk "BEGIN { print ($end - $start) / 1e9 }")" \
        "$(field ', ([0-9]+) GC cycles')" "$(field 'max pause ([0-9.]+) ms')" \
        "$(field 'median pause ([0-9.]+) ms')" "$(field 'total pause ([0-9.]+) ms')" \
        "$(field 'GC CPU ([0-9.]+)%')" "$(field 'peak committed ([0-9]+) MiB')"
    rm -f "$out" "$err"
done
exit $status
