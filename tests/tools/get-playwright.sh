#!/bin/sh
# Fetch playwright-core (the browser driver without browsers, from the npm
# registry) into TOOLS_DIR/playwright once. The browser is Debian's
# chromium (tests/tools/install-packages.sh); `playwright install` is never
# run, so no browser is downloaded from anywhere.
# usage: get-playwright.sh TOOLS_DIR
set -eu
tools=$1
mkdir -p "$tools/playwright"
cd "$tools/playwright"
if [ ! -f node_modules/playwright-core/package.json ]; then
    [ -f package.json ] || echo '{"private": true}' >package.json
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null
fi
node -e 'require("playwright-core")'
