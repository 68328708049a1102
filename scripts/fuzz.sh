#!/usr/bin/env bash
# Fuzzes what no input may crash (SPEC §9, §5): the wire framing and
# decoding of requests, responses and the state file (target `frame`), and
# the config parser (target `config`), the XML-RPC reader (target `xmlrpc`)
# the HTTP request parser (target `http`), the event listener protocol
# parser (target `listener`) and the schedule, TZ string and TZif readers
# (target `schedule`), each for SECONDS (default 60).
#
#   scripts/fuzz.sh [SECONDS]
#
# Installs cargo-fuzz from crates.io if it is missing. cargo-fuzz needs
# nightly-only rustc flags (-Zsanitizer=address); with only a stable
# toolchain it runs with RUSTC_BOOTSTRAP=1. Set FUZZ_TOOLCHAIN=nightly to use
# a real nightly instead.
#
# Seeds are copied at run time from testdata/ into fuzz/corpus/TARGET (git-
# ignored, and kept between runs so they grow). A crash, leak, timeout or
# out-of-memory input is saved under fuzz/artifacts/TARGET/ and the fuzzer
# is restarted for the time left, up to MAX_CRASHES findings. Prints one
# line per target (runs executed, crashes found; libFuzzer's output goes to
# fuzz/target/fuzz-logs/) and exits 1 if anything was found.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

secs=${1:-60}
if ! [[ "$secs" =~ ^[0-9]+$ ]] || ((secs < 1)); then
    echo "usage: scripts/fuzz.sh [SECONDS]   (per target, default 60)" >&2
    exit 2
fi
MAX_CRASHES=10

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked >&2
fi

toolchain=()
if [[ -n "${FUZZ_TOOLCHAIN:-}" ]]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
else
    export RUSTC_BOOTSTRAP=1
fi

# Debug assertions on: an integer overflow is a finding too.
fuzz=(cargo "${toolchain[@]}" fuzz)
build_flags=(--fuzz-dir fuzz --debug-assertions)

# ---- seeds ----
mkdir -p fuzz/corpus/frame fuzz/corpus/config fuzz/corpus/xmlrpc fuzz/artifacts/frame fuzz/artifacts/config fuzz/artifacts/xmlrpc
mkdir -p fuzz/corpus/http fuzz/artifacts/http fuzz/corpus/listener fuzz/artifacts/listener
printf 'READY\nRESULT 2\nOKREADY\nRESULT 4\nFAIL' >fuzz/corpus/listener/seed-ok-fail
printf 'READY\nRESULT 3\nOKREADY\n' >fuzz/corpus/listener/seed-wrong-len
mkdir -p fuzz/corpus/schedule fuzz/artifacts/schedule
printf '*/15 1-5,7 * * mon-fri' >fuzz/corpus/schedule/seed-cron
printf '30 0 12 29 feb *' >fuzz/corpus/schedule/seed-seconds
printf '@every 1h30m' >fuzz/corpus/schedule/seed-every
printf 'AEST-10AEDT,M10.1.0,M4.1.0/3' >fuzz/corpus/schedule/seed-tz
shopt -s nullglob
for f in testdata/zoneinfo/*/*; do
    cp -f "$f" "fuzz/corpus/schedule/seed-$(basename "$f")"
done
for f in testdata/wire/*.bin; do
    cp -f "$f" "fuzz/corpus/frame/seed-$(basename "$f")"
done
for f in testdata/demo.conf testdata/configs/*.conf testdata/configs/*/*; do
    [[ -f "$f" ]] && cp -f "$f" "fuzz/corpus/config/seed-$(echo "$f" | tr / _)"
done
for f in testdata/xmlrpc/*.xml; do
    cp -f "$f" "fuzz/corpus/xmlrpc/seed-$(basename "$f")"
done
for f in testdata/http/*; do
    cp -f "$f" "fuzz/corpus/http/seed-$(basename "$f")"
done
shopt -u nullglob

echo "fuzz: building the targets" >&2
"${fuzz[@]}" build "${build_flags[@]}" >&2
# Run the binaries themselves, so that the time goes to fuzzing and a
# source file edited meanwhile does not trigger a rebuild between rounds.
host=$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')
bin_dir=fuzz/target/$host/release

logs=fuzz/target/fuzz-logs
mkdir -p "$logs"

count_findings() {
    find "fuzz/artifacts/$1" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
        | wc -l
}

# run_target NAME [LIBFUZZER ARGS...]: prints "NAME: N runs in S s, K crashes".
# After a finding the fuzzer goes on for the time left; a round that ends on
# a finding already saved (the same input found again) ends the target.
found_any=0
run_target() {
    local name=$1
    shift
    local before runs=0 rounds=0 start=$SECONDS left log n status had note=""
    before=$(count_findings "$name")
    rm -f "$logs/$name"-*.log
    while left=$((start + secs - SECONDS)); ((left > 0)); do
        log="$logs/$name-$rounds.log"
        rounds=$((rounds + 1))
        had=$(count_findings "$name")
        status=0
        "$bin_dir/$name" -artifact_prefix="fuzz/artifacts/$name/" \
            -max_total_time="$left" -print_final_stats=1 -timeout=10 \
            -rss_limit_mb=2048 "$@" "fuzz/corpus/$name" >"$log" 2>&1 || status=$?
        n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
        runs=$((runs + ${n:-0}))
        ((status != 0)) || continue
        grep -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|Test unit written to' "$log" \
            | sed "s/^/fuzz: $name: /" >&2 || true
        if (($(count_findings "$name") == had)); then
            if ! grep -q 'Test unit written to' "$log"; then
                echo "fuzz: $name failed without saving an input; see $log:" >&2
                tail -20 "$log" >&2
                exit 1
            fi
            note=", stopped early: a saved finding came back"
            break
        fi
        if (($(count_findings "$name") - before >= MAX_CRASHES)); then
            note=", stopped early: $MAX_CRASHES findings"
            break
        fi
    done
    local crashes=$(($(count_findings "$name") - before))
    local corpus
    corpus=$(find "fuzz/corpus/$name" -type f | wc -l)
    echo "$name: $runs runs in $((SECONDS - start)) s, $crashes crashes$note (corpus $corpus inputs, logs $logs/$name-*.log)"
    ((crashes == 0)) || found_any=1
}

# frame: no allocation may get near the input's size times anything large.
run_target frame -max_len=65536 -malloc_limit_mb=64
run_target config -max_len=16384 -dict="$root/fuzz/config.dict"
run_target xmlrpc -max_len=16384 -malloc_limit_mb=64
run_target http -max_len=16384 -dict="$root/fuzz/http.dict"
run_target listener -max_len=4096 -malloc_limit_mb=64
run_target schedule -max_len=8192 -malloc_limit_mb=64 -dict="$root/fuzz/schedule.dict"

if ((found_any)); then
    echo "fuzz: findings saved under fuzz/artifacts/; replay one with" >&2
    echo "  $bin_dir/TARGET fuzz/artifacts/TARGET/FILE" >&2
    exit 1
fi
