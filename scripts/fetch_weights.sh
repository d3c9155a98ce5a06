#!/usr/bin/env bash
# fetch_weights.sh - obtain the frozen ImageNet backbone weights: `npm pack nsfwjs@4.3.0`
# into models/npm/, check the tarball against a pinned sha512, unpack it, convert the
# frozen layers with scripts/convert_nsfwjs.mjs into models/inception_v3.vstf (up to
# mixed5) and models/mobilenet_v2.vstf (up to block_10_project_BN), and check both
# outputs against pinned sha256 sums. Idempotent: does nothing when both outputs exist
# and match. Needs npm and node (>= 18). Exits non-zero with a message on any failure.
#
#   scripts/fetch_weights.sh            # from the repository root (or anywhere)
#   VS_MODELS=/some/dir scripts/fetch_weights.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
models="${VS_MODELS:-$root/models}"
npmdir="$models/npm"

PKG="nsfwjs@4.3.0"
TGZ="nsfwjs-4.3.0.tgz"
# npm view nsfwjs@4.3.0 dist.integrity, as hex:
# sha512-WTKDte0vp1X97N1h34P79G/hG+sVT3+TnDz9di1WseIJR93v11E4viNX7Vg9WsO6HYoR772Nzq2iM8jo3XBZ+g==
TGZ_SHA512="593283b5ed2fa755fdecdd61df83fbf46fe11beb154f7f939c3cfd762d56b1e20947ddefd75138be2357ed583d5ac3ba1d8a11efbd8dceada233c8e8dd7059fa"
IV3_SHA256="15c7a13f000ad1dfec7490ba22b0dbbfa29fa5ad32be7c6df9b634c57bc27cb5"
MNV2_SHA256="f80c63c8f43d8213266263794dd23ebe3ef0fdb87433bbd08b7a88c43c3ff604"

die() { echo "fetch_weights: error: $*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

outputs_ok() {
    [[ -f "$models/inception_v3.vstf" && -f "$models/mobilenet_v2.vstf" ]] &&
        [[ "$(sha256_of "$models/inception_v3.vstf")" == "$IV3_SHA256" ]] &&
        [[ "$(sha256_of "$models/mobilenet_v2.vstf")" == "$MNV2_SHA256" ]]
}

if outputs_ok; then
    echo "fetch_weights: $models/inception_v3.vstf and mobilenet_v2.vstf present and verified"
    exit 0
fi

command -v node >/dev/null || die "node not found (needed to convert the weights)"
command -v sha512sum >/dev/null || die "sha512sum not found (coreutils)"
mkdir -p "$npmdir" || die "cannot create $npmdir"

if [[ ! -f "$npmdir/$TGZ" ]] || [[ "$(sha512sum "$npmdir/$TGZ" | cut -d' ' -f1)" != "$TGZ_SHA512" ]]; then
    command -v npm >/dev/null || die "npm not found (needed to download $PKG)"
    rm -f "$npmdir/$TGZ"
    echo "fetch_weights: npm pack $PKG -> $npmdir"
    (cd "$npmdir" && npm pack "$PKG" --silent >/dev/null) || die "npm pack $PKG failed (registry reachable?)"
    [[ -f "$npmdir/$TGZ" ]] || die "npm pack did not produce $npmdir/$TGZ"
fi
got="$(sha512sum "$npmdir/$TGZ" | cut -d' ' -f1)"
[[ "$got" == "$TGZ_SHA512" ]] || die "$npmdir/$TGZ: sha512 $got does not match the pinned $TGZ_SHA512"

rm -rf "$npmdir/package"
tar -xzf "$npmdir/$TGZ" -C "$npmdir" || die "cannot unpack $npmdir/$TGZ"

node "$here/convert_nsfwjs.mjs" --pkg "$npmdir/package" --model inception_v3 --upto mixed5 \
    --out "$models/inception_v3.vstf" || die "conversion of inception_v3 failed"
node "$here/convert_nsfwjs.mjs" --pkg "$npmdir/package" --model mobilenet_v2 --upto block_10_project_BN \
    --out "$models/mobilenet_v2.vstf" || die "conversion of mobilenet_v2 failed"

for pair in "inception_v3:$IV3_SHA256" "mobilenet_v2:$MNV2_SHA256"; do
    f="$models/${pair%%:*}.vstf"
    want="${pair#*:}"
    got="$(sha256_of "$f")"
    [[ "$got" == "$want" ]] || die "$f: sha256 $got does not match the pinned $want (converter or node changed?)"
done
echo "fetch_weights: wrote and verified $models/inception_v3.vstf and $models/mobilenet_v2.vstf"
