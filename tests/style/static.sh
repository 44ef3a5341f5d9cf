#!/bin/bash
# edgecd is one statically linked x86-64 executable.
set -euo pipefail
info=$(file -L "$EDGECD_BIN")
echo "$info"
grep -q 'ELF 64-bit' <<<"$info"
grep -q 'x86-64' <<<"$info"
grep -q 'statically linked' <<<"$info"
if ldd "$EDGECD_BIN" 2>&1 | grep -q '=>'; then
    echo "ldd lists shared libraries" >&2
    exit 1
fi
ldd "$EDGECD_BIN" 2>&1 | grep -q 'not a dynamic executable'
echo "size: $(stat -c %s "$EDGECD_BIN") bytes"
