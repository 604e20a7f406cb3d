#!/usr/bin/env bash
# Fetches Mesa's lavapipe (a CPU Vulkan driver) from Debian bookworm-backports with apt and extracts
# it into .cache/lavapipe/ inside the project: no system-wide install. Dawn (the `webgpu` package)
# rejects bookworm's own Mesa 22 but accepts Mesa 25, so the WebGPU path can be tested on a CPU-only
# machine. Writes .cache/lavapipe/env.sh, which sets LD_LIBRARY_PATH and VK_ICD_FILENAMES.
# Usage: bash scripts/fetch-lavapipe.sh   (idempotent; exits 0 with a message if apt cannot help)
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$PWD/.cache/lavapipe"
if [ -f "$dest/env.sh" ]; then echo "lavapipe: already in $dest"; exit 0; fi
if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  echo "lavapipe: apt-get/dpkg not found; the WebGPU tests will be skipped"; exit 0
fi
work="$dest.partial"
rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root"
arch=$(dpkg --print-architecture)
cat > "$work/sources.list" <<SRC
deb [arch=$arch] http://deb.debian.org/debian bookworm-backports main
deb [arch=$arch] http://deb.debian.org/debian bookworm main
SRC
# A private apt state: the system's sources and package lists are left alone.
opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
apt-get "${opts[@]}" -qq update
(cd "$work/debs" && apt-get "${opts[@]}" -qq download \
  mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports libvulkan1)
# Libraries lavapipe links against that this machine may lack (they are on Debian's default image).
# Those of libllvm15 too (libz3-4, libedit2, …): a slim image may have none of them.
for pkg in libllvm15 libwayland-client0 libx11-xcb1 libxcb1 libxcb-dri3-0 libxcb-present0 libxcb-randr0 \
           libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxshmfence1 libxau6 libxdmcp6 libbsd0 libmd0 libelf1 \
           libzstd1 libexpat1 libz3-4 libedit2 libffi8 libtinfo6 libxml2 libicu72 libstdc++6; do
  dpkg -s "$pkg" >/dev/null 2>&1 || (cd "$work/debs" && apt-get "${opts[@]}" -qq download "$pkg")
done
for f in "$work"/debs/*.deb; do dpkg -x "$f" "$work/root"; done
lib="$work/root/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
[ -d "$lib" ] || lib=$(dirname "$(find "$work/root" -name 'libvulkan_lvp.so' | head -n1)")
mkdir -p "$dest"
mv "$lib" "$dest/lib"
# Point the ICD at the absolute path so the loader finds the driver without searching.
sed "s#\"library_path\": \".*\"#\"library_path\": \"$dest/lib/libvulkan_lvp.so\"#" \
  "$work/root/usr/share/vulkan/icd.d/lvp_icd.json" > "$dest/lvp_icd.json"
missing=$(LD_LIBRARY_PATH="$dest/lib" ldd "$dest/lib/libvulkan_lvp.so" | grep 'not found' || true)
if [ -n "$missing" ]; then echo "lavapipe: missing libraries: $missing"; fi
cat > "$dest/env.sh" <<ENV
export LD_LIBRARY_PATH="$dest/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export VK_ICD_FILENAMES="$dest/lvp_icd.json"
export VK_DRIVER_FILES="$dest/lvp_icd.json"
ENV
rm -rf "$work"
echo "lavapipe: Mesa $(ls "$dest/lib" | grep -c .) files in $dest; source $dest/env.sh"
