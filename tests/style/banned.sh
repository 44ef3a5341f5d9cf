#!/bin/bash
# Functions without bounds are banned from edgecd's code.
set -euo pipefail
. "$(dirname "$0")/sources.sh"
pattern='\b(strcpy|strcat|sprintf|vsprintf|atoi|atol|strtok|gets|scanf|fscanf)[[:space:]]*\('
# shellcheck disable=SC2086
if grep -nE "$pattern" $EDGECD_SOURCES; then
    echo "banned functions used above (use str_copy, buf_printf, snprintf, str_to_long)" >&2
    exit 1
fi
echo "banned-functions: none"
