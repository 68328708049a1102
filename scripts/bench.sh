#!/usr/bin/env bash
# Benchmarks sv against supervisord, s6 and runit and writes docs/BENCHMARKS.md
# (issue 5). See docs/BENCHMARKS.md for what each figure means.
#
#   scripts/bench.sh            # the full run (~20 min on 2 cores); installs the
#                               # peers, writes docs/BENCHMARKS.md
#   scripts/bench.sh --quick    # sv alone, small counts, a few seconds; writes
#                               # bench/out/BENCHMARKS-quick.md (CI runs this)
#   scripts/bench.sh --no-install   # full run with whatever peers are already there
#   scripts/bench.sh --only 1,5     # only some measurements (numbers of issue 5;
#                                   # 10, 11: readiness and health, issue 13, sv only;
#                                   # 12: XML-RPC against supervisord, issue 14;
#                                   # 13: PROCESS_LOG events to a listener, issue 15;
#                                   # 14: GET /metrics, 1000 and 10 000, issue 16;
#                                   # 15: wake-ups with schedules, sv only, issue 17)
#   scripts/bench.sh --rev HEAD     # measure a commit, built from a clean export
#                                   # (uncommitted edits left out)
#   scripts/bench.sh --sv PATH      # measure a binary already built
#   scripts/bench.sh --out FILE     # write the document elsewhere
#
# It installs the peers itself: supervisord from PyPI into a virtual
# environment (target/pyenv, made by scripts/pyenv.sh as for the tests), s6 and runit with apt-get; a peer it cannot
# install is skipped, and said so, here and in the document. Each measurement
# runs on one system at a time, never two at once. Everything it makes lives
# in one temporary directory, removed at the end; every supervisor it starts is
# stopped with its own stop command, then any process it recorded that is still
# alive is killed by pid (never by name).
#
# Needs: cargo, gcc (static glibc: libc6-dev), python3. No standard input.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

quick=0
install=1
only=""
rev=""
svbin=""
out="$root/docs/BENCHMARKS.md"
while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --no-install) install=0 ;;
    --only)
        only="$2"
        shift
        ;;
    --out)
        out="$2"
        shift
        ;;
    --rev)
        rev="$2"
        shift
        ;;
    --sv)
        svbin="$2"
        shift
        ;;
    -h | --help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        exit 0
        ;;
    *)
        echo "bench: unknown option $1 (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done
if ((quick)); then
    install=0
    [[ "$out" == "$root/docs/BENCHMARKS.md" ]] && out="$root/bench/out/BENCHMARKS-quick.md"
fi

say() { printf '==> %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

for tool in cargo gcc python3; do
    if ! have "$tool"; then
        echo "bench: $tool is required" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sv-bench.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

# --------------------------------------------------------------------- sv
MUSL_TARGET=x86_64-unknown-linux-musl
sv_desc=""
# build DIR TARGET_DIR: the static release build of the tree in DIR (the host
# build if the musl target is missing); sets $sv.
build() {
    local dir=$1 tdir=$2
    if have rustup && ! rustup target list --installed 2>/dev/null | grep -qx "$MUSL_TARGET"; then
        say "adding the $MUSL_TARGET target"
        rustup target add "$MUSL_TARGET" </dev/null >&2 || true
    fi
    say "building sv in $dir (release, $MUSL_TARGET)"
    if (cd "$dir" && CARGO_TARGET_DIR="$tdir" cargo build --release --target "$MUSL_TARGET" >&2); then
        sv="$tdir/$MUSL_TARGET/release/sv"
    else
        say "the static musl build failed; measuring the host release build instead"
        (cd "$dir" && CARGO_TARGET_DIR="$tdir" cargo build --release >&2)
        sv="$tdir/release/sv"
    fi
}
if [[ -n "$svbin" ]]; then
    sv=$(realpath "$svbin")
    sv_desc="prebuilt \`$svbin\`"
elif [[ -n "$rev" ]]; then
    commit=$(git rev-parse --verify "$rev^{commit}")
    mkdir -p "$tmp/src"
    git archive "$commit" | tar -x -C "$tmp/src"
    build "$tmp/src" "$root/target/bench-build"
    sv_desc="git $(git rev-parse --short "$commit") (clean export of $rev)"
else
    target_dir="${CARGO_TARGET_DIR:-target}"
    [[ "$target_dir" == /* ]] || target_dir="$root/$target_dir"
    build "$root" "$target_dir"
fi
# runit also installs a program called `sv`: ours is only ever called by path.

# --------------------------------------------------------------------- helpers
say "compiling the C helpers in bench/"
helpers="$tmp/bin"
mkdir -p "$helpers"
for prog in child writer floor_restart floor_spawn timecmd listener lines; do
    if ! gcc -O2 -static -Wall -o "$helpers/$prog" "bench/$prog.c" 2>"$tmp/cc.err"; then
        # Without a static libc the helpers still work, a little slower to start.
        gcc -O2 -Wall -o "$helpers/$prog" "bench/$prog.c"
    fi
done
# The floor of a client command: no libc at all where the machine allows.
gcc -O2 -static -nostdlib -DNOOP_BARE -o "$helpers/noop" bench/noop.c 2>/dev/null ||
    gcc -O2 -o "$helpers/noop" bench/noop.c

# --------------------------------------------------------------------- peers
peers=()
skipped=()
# The tests' venv (scripts/pyenv.sh): supervisord and supervisorctl from PyPI.
venv="${SV_PYTHON_VENV:-$root/target/pyenv}"
if ((!quick)); then
    if [[ -x "$venv/bin/supervisord" ]] || { ((install)) && say "installing supervisord (PyPI) into $venv" &&
        bash scripts/pyenv.sh "$venv" >&2; }; then
        peers+=(supervisord)
    else
        skipped+=("supervisord=could not be installed from PyPI into a virtual environment")
        say "SKIPPING supervisord: it could not be installed"
    fi
    # s6 and runit from the system's packages.
    apt_updated=0
    for pkg in s6 runit; do
        case $pkg in
        s6) probe=s6-svscan ;;
        runit) probe=runsvdir ;;
        esac
        if ! have "$probe" && ((install)) && have apt-get; then
            if ((!apt_updated)); then
                say "apt-get update"
                apt-get update -qq >&2 || true
                apt_updated=1
            fi
            say "installing $pkg (apt)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2 || true
        fi
        if have "$probe"; then
            peers+=("$pkg")
        else
            skipped+=("$pkg=could not be installed from the system's packages")
            say "SKIPPING $pkg: it could not be installed"
        fi
    done
fi

# --------------------------------------------------------------------- run
mkdir -p "$(dirname "$out")"
args=(--tmp "$tmp" --sv "$sv" --helpers "$helpers" --venv "$venv" --out "$out"
    --peers "$(
        IFS=,
        echo "${peers[*]}"
    )")
for s in "${skipped[@]}"; do args+=(--skipped "$s"); done
[[ -n "$sv_desc" ]] && args+=(--sv-desc "$sv_desc")
((quick)) && args+=(--quick)
[[ -n "$only" ]] && args+=(--only "$only")
say "running the benchmarks (sv${peers[*]:+, ${peers[*]}})"
python3 bench/bench.py "${args[@]}"
