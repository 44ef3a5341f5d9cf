#!/bin/sh
# Fetch s3rver (an S3-protocol server written for tests, from the npm
# registry) into TOOLS_DIR/s3rver once; it runs on Debian's node.
# usage: get-s3rver.sh TOOLS_DIR
set -eu
tools=$1
mkdir -p "$tools/s3rver"
cd "$tools/s3rver"
if [ ! -f node_modules/s3rver/bin/s3rver.js ]; then
    [ -f package.json ] || echo '{"private": true}' >package.json
    npm install --silent --no-audit --no-fund s3rver@3 >/dev/null
fi
node node_modules/s3rver/bin/s3rver.js --version >/dev/null
