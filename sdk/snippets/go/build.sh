#!/usr/bin/env bash
# Build the adapter into build/adapter (gitignored) if it is missing or older than a
# source, under a lock since several adapters may start at once. Run it before timing
# the adapter: a cold Go build takes longer than one conformance request may.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary="$here/build/adapter"
stale() {
  [ ! -x "$binary" ] || [ -n "$(find "$here" \( -name '*.go' -o -name go.mod \) -newer "$binary")" ]
}
if stale; then
  mkdir -p "$here/build"
  exec 9>"$here/build/.lock"
  flock 9
  if stale; then
    cd "$here"
    go build -o build/adapter.new ./cmd/adapter
    mv build/adapter.new build/adapter
  fi
fi
