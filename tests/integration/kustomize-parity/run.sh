#!/bin/bash
# Every folder under cases/ is a kustomization (or a tree whose root holds
# one): edgecd render and `kubectl kustomize` must produce the same object
# set. Every folder under fail/ must be refused by edgecd with the message
# in its expect-error file. Usage: run.sh [CASE...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
diff_tool=${EDGECD_BINARY_DIR}/tests/integration/kustomize-parity/objset_diff
tmp=${EDGECD_TEST_TMP:-/tmp}/kustomize-parity.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
failed=0
n=0

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=($(cd "$here/cases" && ls))
for c in "${cases[@]}"; do
    dir=$here/cases/$c
    [ -d "$dir" ] || continue
    rel=.
    [ -f "$dir/ROOT" ] && rel=$(cat "$dir/ROOT")
    root=$dir/$rel
    n=$((n + 1))
    if ! "$EDGECD_KUBECTL" kustomize "$root" >"$tmp/$c.want.yaml" 2>"$tmp/$c.want.err"; then
        echo "FAIL $c: kubectl kustomize refused it:"; cat "$tmp/$c.want.err"; failed=1; continue
    fi
    if ! (cd "$dir" && "$EDGECD_BIN" render . --path "$rel") >"$tmp/$c.got.yaml" 2>"$tmp/$c.got.err"; then
        echo "FAIL $c: edgecd render failed:"; cat "$tmp/$c.got.err"; failed=1; continue
    fi
    if ! "$diff_tool" "$tmp/$c.want.yaml" "$tmp/$c.got.yaml" >"$tmp/$c.diff"; then
        echo "FAIL $c: object sets differ (kubectl first, edgecd second):"; cat "$tmp/$c.diff"; failed=1; continue
    fi
    echo "ok   $c"
done
[ "$n" -ge 30 ] || [ $# -gt 0 ] || { echo "FAIL: only $n parity cases (at least 30 wanted)"; failed=1; }

for c in $(cd "$here/fail" && ls); do
    [ $# -gt 0 ] && break
    dir=$here/fail/$c
    want=$(cat "$dir/expect-error")
    if (cd "$dir" && "$EDGECD_BIN" render .) >"$tmp/$c.out" 2>"$tmp/$c.err"; then
        echo "FAIL fail/$c: edgecd rendered it"; failed=1; continue
    fi
    if ! grep -qF -- "$want" "$tmp/$c.err"; then
        echo "FAIL fail/$c: expected \"$want\" in:"; cat "$tmp/$c.err"; failed=1; continue
    fi
    if [ -s "$tmp/$c.out" ]; then
        echo "FAIL fail/$c: printed objects although it failed"; failed=1; continue
    fi
    echo "ok   fail/$c"
done
exit $failed
