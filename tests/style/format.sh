#!/bin/bash
# Every C file is formatted as .clang-format says.
set -euo pipefail
. "$(dirname "$0")/sources.sh"
# shellcheck disable=SC2086
clang-format --dry-run --Werror $EDGECD_SOURCES
echo "format: $(echo "$EDGECD_SOURCES" | wc -l) files clean"
