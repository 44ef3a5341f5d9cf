# Sourced by the style checks: EDGECD_SOURCES lists edgecd's own C files.
cd "$EDGECD_SOURCE_DIR"
EDGECD_SOURCES=$(find appliance storage backup tests -name '*.[ch]' -not -path '*/corpus/*' | sort)
