#!/bin/bash
# `edgecd repo import-bundle` against bundles made by real git: full v2
# and v3 bundles, an incremental one with and without its prerequisite, a
# rewritten history (refused unless --force), and tampered files, which
# must be refused with the mirror's refs exactly as before.
set -euo pipefail
tmp=${EDGECD_TEST_TMP:-/tmp}/git-bundle.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
git() { command git -c user.name=t -c user.email=t@e -c init.defaultBranch=main "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
data=$tmp/data
mirror_of() { echo "$data/mirrors/$(printf %s "$1" | sha256sum | cut -c1-16).git"; }
refs_of() { git --git-dir="$1" for-each-ref --format='%(refname) %(objectname)' refs/heads refs/tags; }
import() { "$EDGECD_BIN" repo import-bundle "$@" --data "$data"; }
expect_refusal() { # WHAT MESSAGE URL args...
    local what=$1 msg=$2 url=$3
    shift 3
    local before after
    before=$(refs_of "$(mirror_of "$url")" 2>/dev/null || true)
    if import "$@" --repo "$url" >"$tmp/out" 2>"$tmp/err"; then fail "$what: accepted"; fi
    grep -qF -- "$msg" "$tmp/err" || { cat "$tmp/err"; fail "$what: expected \"$msg\""; }
    after=$(refs_of "$(mirror_of "$url")" 2>/dev/null || true)
    [ "$before" = "$after" ] || fail "$what: the mirror's refs changed"
    echo "ok: $what refused: $(head -c 160 "$tmp/err")"
}

git init -q src
(cd src && for i in 1 2 3 4 5; do echo "$i" > f$i.yaml && git add -A && git commit -qm c$i; done &&
    git tag v1 HEAD~2 && git tag -a -m release v2 && git branch dev HEAD~1)

# 1. a full v2 bundle of every branch and tag
URL=https://git.example.com/org/config.git
git -C src bundle create -q ../full.bundle --all
head -1 full.bundle | grep -q '# v2 git bundle' || fail "git made no v2 bundle"
import full.bundle --repo "$URL" >"$tmp/out"
grep -q "imported a v2 bundle" "$tmp/out" || fail "no summary: $(cat "$tmp/out")"
grep -q "refs/heads/main  (new)" "$tmp/out" || fail "main not listed as new"
[ "$(refs_of "$(mirror_of "$URL")")" = "$(refs_of src/.git)" ] || fail "mirror refs differ from the source's"
[ "$(git --git-dir="$(mirror_of "$URL")" symbolic-ref HEAD)" = refs/heads/main ] || fail "HEAD not main"
git --git-dir="$(mirror_of "$URL")" fsck --strict --no-progress || fail "mirror fails git fsck"
echo "ok: full v2 bundle imported, refs equal the source's"

# 2. a v3 bundle
URL3=https://git.example.com/org/v3.git
git -C src bundle create -q --version=3 ../v3.bundle main
head -1 v3.bundle | grep -q '# v3 git bundle' || fail "git made no v3 bundle"
import v3.bundle --repo "$URL3" | grep -q "imported a v3 bundle" || fail "v3 not imported"
[ "$(git --git-dir="$(mirror_of "$URL3")" rev-parse main)" = "$(git -C src rev-parse main)" ] || fail "v3 main wrong"
echo "ok: v3 bundle imported"

# 3. an incremental bundle: onto a mirror that has its base, and onto one that does not
old=$(git -C src rev-parse main)
(cd src && for i in 6 7 8; do echo "$i" > f$i.yaml && git add -A && git commit -qm c$i; done)
git -C src bundle create -q ../inc.bundle "$old..main"
grep -q "^-$old" inc.bundle || fail "the incremental bundle names no prerequisite"
import inc.bundle --repo "$URL" >"$tmp/out"
grep -q "refs/heads/main  ${old:0:7}..$(git -C src rev-parse --short=7 main)" "$tmp/out" || fail "main not fast-forwarded: $(cat "$tmp/out")"
git --git-dir="$(mirror_of "$URL")" fsck --strict --no-progress || fail "mirror fails git fsck after the thin pack"
echo "ok: incremental bundle fast-forwards main"
expect_refusal "incremental bundle without its base" "lacks commit $old" https://git.example.com/org/empty.git inc.bundle

# 4. a rewritten history: refused without --force, taken with it
(cd src && git reset -q --hard HEAD~2 && echo rewritten > f9.yaml && git add -A && git commit -qm rewrite)
git -C src bundle create -q ../rewrite.bundle main
expect_refusal "non-fast-forward bundle" "refs/heads/main would move from" "$URL" rewrite.bundle
import rewrite.bundle --repo "$URL" --force >/dev/null
[ "$(git --git-dir="$(mirror_of "$URL")" rev-parse main)" = "$(git -C src rev-parse main)" ] || fail "--force did not move main"
echo "ok: --force accepts the rewritten history"

# 5. tampered bundles change nothing
(cd src && echo more > f10.yaml && git add -A && git commit -qm more)
git -C src bundle create -q ../next.bundle main~1..main
size=$(stat -c %s next.bundle)
cp next.bundle flipped.bundle
printf '\xff' | dd of=flipped.bundle bs=1 seek=$((size - 30)) conv=notrunc status=none
expect_refusal "a bundle with a flipped byte" "bad pack" "$URL" flipped.bundle
head -c $((size - 40)) next.bundle >truncated.bundle
expect_refusal "a truncated bundle" "bad pack" "$URL" truncated.bundle
sed '1s/v2/v9/' next.bundle >header.bundle
expect_refusal "a bundle with a bad header" "not a git bundle" "$URL" header.bundle
{ printf '# v2 git bundle\n%s refs/heads/../evil\n\n' "$(git -C src rev-parse main)"; tail -c +"$(($(grep -abo '^$' next.bundle | head -1 | cut -d: -f1) + 2))" next.bundle; } >badref.bundle
expect_refusal "a bundle with a bad ref name" "invalid ref name" "$URL" badref.bundle
{ printf '# v3 git bundle\n@filter=blob:none\n'; tail -n +2 next.bundle; } >filter.bundle
expect_refusal "a bundle with a capability we lack" "capability \"filter=blob:none\" is not supported" "$URL" filter.bundle
{ printf '# v2 git bundle\n%s refs/heads/' "$(git -C src rev-parse main)"; head -c 5000 /dev/zero | tr '\0' a; printf '\n\n'; } >longline.bundle
expect_refusal "a bundle with an over-long header line" "bundle header line too long" "$URL" longline.bundle
expect_refusal "a missing file" "No such file" "$URL" nothere.bundle
import next.bundle --repo "$URL" >/dev/null
echo "ok: the untampered bundle still imports"
# a refused pack leaves no temporary file behind
if ls "$(mirror_of "$URL")/objects/pack" | grep -v '\.\(pack\|idx\|rev\)$'; then
    fail "temporary files left in the pack folder"
fi
echo "PASS"
