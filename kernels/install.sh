#!/usr/bin/env bash
# Installs the `wgflow` kernelspec for the current user: fills in the absolute
# paths of kernel.json.in and init.evcxr.in and copies the start-up files.
#   install.sh EVCXR_JUPYTER LIBTORCH WGFLOW_ROOT EVCXR_TMPDIR JUPYTER LINKS
#
# The kernel reaches libtorch and this clone through two symlinks in LINKS
# (~/.cache/wgflow/kernel/{libtorch,wgflow}), not through their real paths:
# cargo reruns torch-sys's build script (tch's C++ shim, minutes) whenever the
# LIBTORCH string changes, and gives a path dependency at a new path new
# artifacts. With fixed link paths, a fresh clone's kernel (CI's) reuses the
# tch build in EVCXR_TMPDIR and recompiles wgflow incrementally.
set -euo pipefail
evcxr=$1 libtorch=$2 root=$3 tmpdir=$4 jupyter=$5 links=$6
src="$(cd "$(dirname "$0")/wgflow" && pwd)"
for p in "$evcxr" "$libtorch/lib" "$root/Cargo.toml"; do
  [ -e "$p" ] || { echo "error: $p does not exist" >&2; exit 1; }
done
mkdir -p "$links"
ln -sfn "$libtorch" "$links/libtorch"
ln -sfn "$root" "$links/wgflow"
libtorch="$links/libtorch" wgflow_dep="$links/wgflow"
dir="$("$jupyter" --data-dir)/kernels/wgflow"
# Rust's own libstd-*.so: evcxr's cell libraries link it dynamically, and their
# relative rpath to it breaks when EVCXR_TMPDIR shares a prefix with the
# toolchain (both under $HOME), so the kernel puts it on LD_LIBRARY_PATH.
rust_std="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/lib"
ls "$rust_std"/libstd-*.so >/dev/null 2>&1 || { echo "error: no libstd-*.so in $rust_std" >&2; exit 1; }
mkdir -p "$dir" "$tmpdir"
fill() {
  sed -e "s|@EVCXR_JUPYTER@|$evcxr|g" -e "s|@LIBTORCH@|$libtorch|g" -e "s|@WGFLOW_ROOT@|$root|g" \
      -e "s|@WGFLOW_DEP@|$wgflow_dep|g" \
      -e "s|@EVCXR_TMPDIR@|$tmpdir|g" -e "s|@KERNEL_DIR@|$dir|g" \
      -e "s|@RUST_STD_LIB@|$rust_std|g" "$1" > "$2.tmp" && mv "$2.tmp" "$2"
}
fill "$src/kernel.json.in" "$dir/kernel.json"
fill "$src/init.evcxr.in" "$dir/init.evcxr"
cp "$src/prelude.rs" "$dir/prelude.rs.tmp" && mv "$dir/prelude.rs.tmp" "$dir/prelude.rs"
echo "installed kernelspec wgflow in $dir (evcxr cache $tmpdir; $links/wgflow -> $root)"
