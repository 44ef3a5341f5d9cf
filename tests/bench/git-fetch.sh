#!/bin/bash
# Benchmark: fetching a Git repository into edgecd's mirror (`edgecd repo
# fetch`, libgit2) against the reference, real git, from the same file://
# source in the same run.
#   first fetch:  into an empty data dir, vs `git clone --mirror`
#   incremental:  after 10 new upstream commits, vs `git fetch --prune`
#                 in that mirror
#   no change:    once more with nothing new, vs `git fetch --prune`
#   large:        after COMMITS/2 new upstream commits (one new pack at
#                 the source), vs `git fetch --prune`
# The source: 1,000 commits over a few hundred YAML files (a few MB).
# usage: tests/bench/git-fetch.sh [BUILD_DIR] [COMMITS]   (default build/release, 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
n=${2:-1000}
bin=$PWD/$build/appliance/edgecd
work=$(mktemp -d "${TMPDIR:-/tmp}/git-fetch-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
G="git -c user.name=bench -c user.email=bench@example.com -c init.defaultBranch=main -c commit.gpgsign=false"
now() { date +%s.%N; }

# The source, written with fast-import so making it takes seconds: each
# commit rewrites 3 of 300 files (app-NNN/config.yaml), each file ~10 KB.
src=$work/src.git
$G init -q --bare "$src"
python3 - "$n" 0 <<'PY' | git --git-dir "$src" fast-import --quiet
import sys
n, start = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
def blob(f, c):
    lines = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{f:03d}\ndata:\n"]
    lines += [f"  key{k:03d}: value {k} of file {f} at commit {c} with some padding text\n" for k in range(140)]
    return "".join(lines).encode()
for c in range(start, start + n):
    files = range(300) if c == 0 else [(c * 7 + j * 101) % 300 for j in range(3)]
    out.write(b"commit refs/heads/main\n")
    out.write(f"committer bench <bench@example.com> {1700000000 + c} +0000\n".encode())
    msg = f"commit {c}\n".encode()
    out.write(b"data %d\n%s" % (len(msg), msg))
    for f in files:
        data = blob(f, c)
        out.write(f"M 100644 inline app-{f:03d}/config.yaml\n".encode())
        out.write(b"data %d\n%s\n" % (len(data), data))
PY
url=file://$src

# add COMMITS: more commits on the source's main.
add() {
    python3 - "$1" "$(git --git-dir "$src" rev-list --count main)" <<'PY' | git --git-dir "$src" fast-import --quiet
import sys
n, start = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
for c in range(start, start + n):
    out.write(b"commit refs/heads/main\n")
    out.write(f"committer bench <bench@example.com> {1700000000 + c} +0000\n".encode())
    msg = f"commit {c}\n".encode()
    out.write(b"data %d\n%s" % (len(msg), msg))
    if c == start:
        out.write(b"from refs/heads/main^0\n")
    data = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  n: \"{c}\"\n").encode()
    out.write(f"M 100644 inline app-{c % 300:03d}/extra.yaml\n".encode())
    out.write(b"data %d\n%s\n" % (len(data), data))
PY
}

# time_cmd VAR CMD...: run CMD, seconds into VAR.
time_cmd() {
    local var=$1 t0 t1
    shift
    t0=$(now)
    "$@" >/dev/null
    t1=$(now)
    printf -v "$var" '%s' "$(echo "$t1 - $t0" | bc -l)"
}
edgecd_fetch() { "$bin" repo fetch "$url" --data "$work/data"; }
git_fetch() { git --git-dir "$work/git-mirror.git" fetch -q --prune origin; }

time_cmd e_first edgecd_fetch
time_cmd g_first git clone -q --mirror "$url" "$work/git-mirror.git"
add 10
time_cmd e_inc edgecd_fetch
time_cmd g_inc git_fetch
time_cmd e_noop edgecd_fetch
time_cmd g_noop git_fetch
size=$(du -sk "$src" | cut -f1)
files=$(git --git-dir "$src" ls-tree -r main | wc -l)
commits=$(git --git-dir "$src" rev-list --count main)
add $((n / 2))
time_cmd e_big edgecd_fetch
time_cmd g_big git_fetch

# Both mirrors must agree with the source.
head=$(git --git-dir "$src" rev-parse main)
"$bin" repo fetch "$url" --data "$work/data" | grep -q "HEAD $head" || { echo "edgecd mirror is not at $head" >&2; exit 1; }
[ "$(git --git-dir "$work/git-mirror.git" rev-parse main)" = "$head" ] || { echo "git mirror is not at $head" >&2; exit 1; }

printf '\nfetch of %d commits, %d files (%d KB packed) over file:// (same run)\n' \
    "$commits" "$files" "$size"
printf '%-28s %10s %10s %8s\n' "measure" "edgecd" "git" "ratio"
printf '%-28s %9.2fs %9.2fs %8.2f\n' "first fetch (clone)" "$e_first" "$g_first" "$(echo "$e_first / $g_first" | bc -l)"
printf '%-28s %9.2fs %9.2fs %8.2f\n' "incremental (10 commits)" "$e_inc" "$g_inc" "$(echo "$e_inc / $g_inc" | bc -l)"
printf '%-28s %9.2fs %9.2fs %8.2f\n' "no change" "$e_noop" "$g_noop" "$(echo "$e_noop / $g_noop" | bc -l)"
printf '%-28s %9.2fs %9.2fs %8.2f\n' "large ($((n / 2)) commits)" "$e_big" "$g_big" "$(echo "$e_big / $g_big" | bc -l)"
