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
# An external kustomize (kustomizeBinary; here kubectl, whose `kustomize`
# is kustomize 5.7) builds what the built-in one refuses, with the
# Application's overrides written into the root kustomization first.
ext() { # WHAT CHECK...
    if [ "$1" = ok ]; then echo "ok   external/$2"; else echo "FAIL external/$2"; failed=1; fi
}
[ $# -gt 0 ] || {
    e=$here/external
    "$EDGECD_KUBECTL" kustomize "$e/overlay" >"$tmp/ext.want.yaml"
    if (cd "$e" && "$EDGECD_BIN" render . --path overlay --kustomize "$EDGECD_KUBECTL") >"$tmp/ext.got.yaml" 2>"$tmp/ext.err" &&
        "$diff_tool" "$tmp/ext.want.yaml" "$tmp/ext.got.yaml" >"$tmp/ext.diff"; then
        ext ok "replacements built by kubectl kustomize"
    else
        cat "$tmp/ext.err" "$tmp/ext.diff" 2>/dev/null; ext fail "replacements built by kubectl kustomize"
    fi
    # overrides: the same as editing the kustomization by hand
    cp -r "$e" "$tmp/edited"
    printf 'namePrefix: site-\nimages:\n- {name: nginx, newName: registry.lan/nginx, newTag: "1.27"}\n' >>"$tmp/edited/overlay/kustomization.yaml"
    "$EDGECD_KUBECTL" kustomize "$tmp/edited/overlay" >"$tmp/ext-app.want.yaml"
    (cd "$e" && "$EDGECD_BIN" render . --app app.yaml --kustomize "$EDGECD_KUBECTL") >"$tmp/ext-app.got.yaml" 2>"$tmp/ext.err"
    mkdir -p "$tmp/ext-want" && cp "$tmp/ext-app.want.yaml" "$tmp/ext-want/"
    "$EDGECD_BIN" render "$tmp/ext-want" --namespace edge >"$tmp/ext-app.want-ns.yaml"
    if "$diff_tool" "$tmp/ext-app.want-ns.yaml" "$tmp/ext-app.got.yaml" >"$tmp/ext.diff" &&
        grep -q "name: site-web" "$tmp/ext-app.got.yaml" && grep -q "registry.lan/nginx:1.27" "$tmp/ext-app.got.yaml"; then
        ext ok "Application overrides with an external kustomize"
    else
        cat "$tmp/ext.err" "$tmp/ext.diff"; ext fail "Application overrides with an external kustomize"
    fi
    # kustomize's own typing: an unquoted yes stays the string "yes"
    if grep -q 'enabled: "yes"' "$tmp/ext.got.yaml"; then ext ok "yes stays a string"; else ext fail "yes stays a string"; fi
    # its failure is reported with its message, a slow one is stopped
    if (cd "$here/fail/missing-file" && "$EDGECD_BIN" render . --kustomize "$EDGECD_KUBECTL") >"$tmp/ext.out" 2>"$tmp/ext.err" ||
        ! grep -q "kubectl kustomize: " "$tmp/ext.err" || [ -s "$tmp/ext.out" ]; then
        cat "$tmp/ext.err"; ext fail "a failing external kustomize is reported"
    else
        ext ok "a failing external kustomize is reported: $(head -c 120 "$tmp/ext.err")"
    fi
    printf '#!/bin/sh\nsleep 30\n' >"$tmp/slow-kustomize" && chmod +x "$tmp/slow-kustomize"
    start=$SECONDS
    if (cd "$e" && "$EDGECD_BIN" render . --path overlay --kustomize "$tmp/slow-kustomize" --helm-timeout 1) >/dev/null 2>"$tmp/ext.err" ||
        ! grep -q "ran longer than 1 s and was stopped" "$tmp/ext.err" || [ $((SECONDS - start)) -gt 10 ]; then
        cat "$tmp/ext.err"; ext fail "a slow external kustomize is stopped"
    else
        ext ok "a slow external kustomize is stopped"
    fi
}
exit $failed
