#!/usr/bin/env bash
# Re-vendor the dashboard's chart library from the npm registry, pinned to one version and checked by hash.
# The dashboard works offline: nothing is loaded from a CDN at run time.
set -euo pipefail
VERSION=4.6.1
SHA256=87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "chart.js@$VERSION" >/dev/null && tar xzf "chart.js-$VERSION.tgz")
cp "$work/package/dist/chart.umd.min.js" "$here/chart.umd.min.js"
cp "$work/package/LICENSE.md" "$here/chart.js.LICENSE.txt"
echo "$SHA256  $here/chart.umd.min.js" | sha256sum -c -
