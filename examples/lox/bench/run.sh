#!/usr/bin/env bash
# Lox VM benchmarks, optionally against clox.
#
#   examples/lox/bench/run.sh                 # ours only
#   CLOX=/path/to/clox examples/lox/bench/run.sh
#   RUNS=5 ONLY="fib zoo" run.sh GCPERCENT=200   # extra args: environment
#
# Builds the release `lox` example, then runs each bench/*.lox RUNS times
# (default 3), ours and clox alternating, and checks every run's output
# against the script's `// expect:` lines. One table: the median wall time
# of each VM, ours/clox, and our collector's figures from the median run
# (LOX_GCSTATS=1): cycles, max stop-the-world pause, the collector's share
# of CPU, and the process's total CPU (user + system). zoo_batch runs for a
# fixed 10 s and is scored by batches done: its "wall" columns hold batch
# counts and its ratio is clox's count / ours, so on every row a ratio at
# or below 1.00 means we are at least as fast as clox.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
runs="${RUNS:-3}"
vars=("$@")
benches="${ONLY:-fib binary_trees trees equality instantiation invocation method_call properties zoo zoo_batch strings}"
cd "$root"
cargo build --release --example lox >&2
ours="$root/target/release/examples/lox"
clox="${CLOX:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# run VM SCRIPT TAG [VAR=VALUE...]: one run, in that environment; leaves
# stdout in $tmp/TAG.out, the stats line in $tmp/TAG.err and "wall user
# sys" in $tmp/TAG.time. Fails on a wrong output.
run() {
    local vm="$1" script="$2" tag="$3"
    shift 3
    env "$@" LOX_GCSTATS=1 /usr/bin/time -f '%e %U %S' -o "$tmp/$tag.time" \
        "$vm" "$script" >"$tmp/$tag.out" 2>"$tmp/$tag.err" || true
    local expect
    expect="$(sed -n 's|.*// expect: ||p' "$script")"
    if [ "$(head -n "$(grep -c . <<<"$expect")" "$tmp/$tag.out")" != "$expect" ]; then
        echo "$(basename "$script"): wrong output from $vm:" >&2
        cat "$tmp/$tag.out" "$tmp/$tag.err" >&2
        return 1
    fi
}
# score BENCH TAG: the figure compared, wall seconds or (zoo_batch) batches.
score() {
    if [ "$1" = zoo_batch ]; then tail -n 2 "$tmp/$2.out" | head -n 1; else cut -d' ' -f1 "$tmp/$2.time"; fi
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-14s %9s %9s %6s %7s %10s %7s %8s\n' \
    benchmark ours clox ratio cycles 'max pause' 'GC CPU' 'CPU s'
status=0
for bench in $benches; do
    script="$here/$bench.lox"
    : >"$tmp/ours.scores" >"$tmp/clox.scores"
    for i in $(seq "$runs"); do
        run "$ours" "$script" "ours$i" ${vars[@]+"${vars[@]}"} || status=1
        score "$bench" "ours$i" >>"$tmp/ours.scores"
        if [ -n "$clox" ]; then
            run "$clox" "$script" "clox$i" ${vars[@]+"${vars[@]}"} || status=1
            score "$bench" "clox$i" >>"$tmp/clox.scores"
        fi
    done
    ours_score="$(median <"$tmp/ours.scores")"
    # The collector's figures of the run whose score is the median.
    i="$(grep -nx -- "$ours_score" "$tmp/ours.scores" | head -n 1 | cut -d: -f1)"
    stats="$(grep '^lox gc:' "$tmp/ours$i.err" || echo)"
    field() { sed -E "s/.*$1.*/\\1/" <<<"$stats"; }
    cpu="$(awk '{ printf "%.2f", $2 + $3 }' "$tmp/ours$i.time")"
    clox_score=- ratio=-
    if [ -n "$clox" ]; then
        clox_score="$(median <"$tmp/clox.scores")"
        if [ "$bench" = zoo_batch ]; then
            ratio="$(awk "BEGIN { printf \"%.2f\", $clox_score / $ours_score }")"
        else
            ratio="$(awk "BEGIN { printf \"%.2f\", $ours_score / $clox_score }")"
        fi
    fi
    printf '%-14s %9s %9s %6s %7s %7s ms %6s%% %8s\n' "$bench" "$ours_score" "$clox_score" \
        "$ratio" "$(field ', ([0-9]+) GC cycles')" "$(field 'max pause ([0-9.]+) ms')" \
        "$(field 'GC CPU ([0-9.]+)%')" "$cpu"
done
exit $status
