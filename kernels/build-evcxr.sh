#!/usr/bin/env bash
# Builds evcxr_jupyter with wgflow's patch (kernels/evcxr-0.22.0-wgflow.patch):
#   build-evcxr.sh PATCH ROOT BUILD_DIR [CARGO BUILD FLAGS...]
#
# Downloads the evcxr and evcxr_jupyter 0.22.0 sources from crates.io, checks
# their SHA-256 against the registry's checksums below, applies the patch and
# builds evcxr_jupyter with the crate's own Cargo.lock (only evcxr's entry
# changes, to the patched path). The binary lands in ROOT/bin atomically.
# What the patch changes, and why:
#  - a bare carriage return in the cell's stdout reaches the notebook as an
#    in-place update (stock evcxr appends a newline to everything it
#    forwards), and the child learns it from EVCXR_STDOUT_CR=1, so wgflow's
#    progress can be one line updated in place;
#  - after a `:dep` the def maps and trait impls of every crate are computed
#    on all cores in a background thread (dependencies first, every query
#    under catch_unwind, so the primer always ends), instead of on one core
#    inside the next cell; and a cell without `let` no longer asks
#    rust-analyzer for its scope, so the start-up cells leave that work to the
#    primer, which overlaps cargo's build of the dependencies and of the
#    start-up cells. EVCXR_NO_PRIME=1 turns the primer off.
set -euo pipefail
patch=$(realpath "$1") root=$2 build=$3
shift 3
version=0.22.0
declare -A sha=(
  [evcxr]=ee69caeeefc311959b85962458e370d8eccb165123edbc5270134aaee6d7ed80
  [evcxr_jupyter]=3ce0d7b3058f68a9673df4f1266b641942fea0ec131881d095306e509a382764
)
command -v git >/dev/null || { echo "error: git is needed to apply $patch" >&2; exit 1; }
rm -rf "$build/src" && mkdir -p "$build/src"
for name in evcxr evcxr_jupyter; do
  python3 - "$name" "$version" "${sha[$name]}" "$build/src" <<'EOF'
import hashlib, io, sys, tarfile, urllib.request
name, version, sha, dest = sys.argv[1:]
url = f"https://static.crates.io/crates/{name}/{name}-{version}.crate"
try:
    with urllib.request.urlopen(url, timeout=120) as r:
        data = r.read()
except OSError as e:
    sys.exit(f"error: downloading {url}: {e}")
got = hashlib.sha256(data).hexdigest()
if got != sha:
    sys.exit(f"error: {url}: SHA-256 {got}, expected {sha} (crates.io's checksum)")
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
    bad = [m.name for m in t.getmembers() if m.name.startswith(("/", "..")) or "/../" in m.name]
    if bad:
        sys.exit(f"error: {url}: unsafe paths {bad[:3]}")
    t.extractall(dest)
print(f"{name}-{version}.crate: {len(data)} bytes, SHA-256 ok")
EOF
done
(cd "$build/src" && git apply -p1 "$patch") || { echo "error: $patch does not apply to evcxr $version" >&2; exit 1; }
(cd "$build/src/evcxr_jupyter-$version" && CARGO_TARGET_DIR="$build/target" "${CARGO:-cargo}" build --release --bin evcxr_jupyter "$@")
mkdir -p "$root/bin"
cp "$build/target/release/evcxr_jupyter" "$root/bin/.evcxr_jupyter.tmp"
mv "$root/bin/.evcxr_jupyter.tmp" "$root/bin/evcxr_jupyter"
echo "built $root/bin/evcxr_jupyter (evcxr $version with $(basename "$patch"))"
