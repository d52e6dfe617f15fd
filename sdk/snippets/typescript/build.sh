#!/usr/bin/env bash
# Build the snippet into build/ (gitignored) if it is missing or stale: `npm ci` when
# node_modules does not match the lock file, then `tsc --strict` (see tsconfig.json).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
stale() {
  [ -f build/src/adapter.js ] || return 0
  [ -n "$(find src examples tsconfig.json package-lock.json -newer build/.stamp 2>/dev/null)" ] || [ ! -f build/.stamp ]
}
if stale; then
  mkdir -p build
  exec 9>build/.lock
  flock 9
  if stale; then
    if [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      npm ci --no-audit --no-fund --loglevel=error >&2
    fi
    touch build/.stamp.new
    node_modules/.bin/tsc -p tsconfig.json
    mv build/.stamp.new build/.stamp
  fi
fi
