#!/usr/bin/env bash
# Builds dist/pr-rl-gpu/ and dist/pr-rl-gpu.tar.gz: pr-rl for a Linux x86-64 GPU machine (NVIDIA) that
# has no Node. Contents: pr-rl.mjs (esbuild bundle, see bundle-gpu.ts), dawn.node, the tfjs wasm files,
# models/ + data/default/, this machine's Node binary as node.xz (or node.gz), a Vulkan loader and
# libstdc++ used only where the host lacks them, and run.sh, which unpacks Node on first use and runs the CLI.
# Usage: bash scripts/bundle-gpu.sh   then copy dist/pr-rl-gpu.tar.gz over, untar, ./pr-rl-gpu/run.sh --help
#        (./pr-rl-gpu/run.sh bench-webgpu --presets small,base  measures the GPU against PyTorch there)
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/pr-rl-gpu
node_bin=$(node -p process.execPath)
[ "$(node -p 'process.platform + "-" + process.arch')" = linux-x64 ] || { echo "bundle-gpu: build it on Linux x86-64 (the Node binary is copied from this machine)"; exit 1; }

node --import tsx scripts/bundle-gpu.ts --out "$out"

# Node: xz is a third smaller than gzip; run.sh unpacks whichever is there.
if command -v xz >/dev/null; then xz -T0 -6 -c "$node_bin" > "$out/node.xz"; else gzip -9 -c "$node_bin" > "$out/node.gz"; fi

# Fallback libraries, put on LD_LIBRARY_PATH by run.sh only when the host lacks them: the Vulkan loader
# (minimal GPU images often ship the NVIDIA driver without libvulkan1) and a libstdc++ new enough for
# dawn.node (GLIBCXX_3.4.30, GCC 12). glibc itself cannot be shipped: dawn.node needs glibc ≥ 2.34.
mkdir -p "$out/lib/vulkan" "$out/lib/stdc++"
vk=$(ls .cache/lavapipe/lib/libvulkan.so.1 2>/dev/null || ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ {print $NF; exit}')
if [ -n "$vk" ]; then cp -L "$vk" "$out/lib/vulkan/libvulkan.so.1"; else echo "bundle-gpu: no libvulkan.so.1 here (run scripts/fetch-lavapipe.sh): the bundle will need the host's libvulkan1"; fi
# NVIDIA's Vulkan driver (libGLX_nvidia.so.0) refuses vkCreateInstance without libglvnd's libGLdispatch.so.0
# and libEGL.so.1, which GPU images built for CUDA often lack (seen on an H100 host, found by elimination):
# ship both, from Debian's libglvnd0 and libegl1 (fetched with apt-get download when not installed here).
tmp=$(mktemp -d)
for pair in libglvnd0:libGLdispatch.so.0 libegl1:libEGL.so.1; do
  pkg=${pair%%:*} lib=${pair#*:}
  found=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
  if [ -z "$found" ]; then
    (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg -x "$pkg"_*.deb x) || true
    found=$(find "$tmp/x" -name "$lib" 2>/dev/null | head -1)
  fi
  if [ -n "$found" ]; then cp -L "$found" "$out/lib/vulkan/$lib"; else echo "bundle-gpu: no $lib (apt-get download $pkg failed): NVIDIA hosts without it will need $pkg"; fi
done
rm -rf "$tmp"
stdcxx=$(ldd "$node_bin" | awk '/libstdc\+\+\.so\.6/ {print $3}')
[ -n "$stdcxx" ] && cp -L "$stdcxx" "$out/lib/stdc++/libstdc++.so.6"

cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the bundled pr-rl: unpacks Node on first use (next to this script, or under ~/.cache when this
# folder is read-only), finds the NVIDIA Vulkan driver where containers put it, and passes all arguments on.
# Env: VK_DRIVER_FILES (your driver's ICD json), PRRL_WEBGPU_FLAGS (Dawn flags, e.g. backend=vulkan,adapter=NVIDIA),
# PRRL_TFJS_FLAGS (tfjs flags, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=32).
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
packed=""
for f in "$here/node.xz" "$here/node.gz"; do [ -f "$f" ] && packed=$f && break; done
[ -n "$packed" ] || [ -x "$here/bin/node" ] || { echo "pr-rl: $here has no node.xz/node.gz: copy the whole pr-rl-gpu folder" >&2; exit 1; }
bindir="$here/bin"
if [ ! -x "$bindir/node" ] && ! { mkdir -p "$bindir" 2>/dev/null && [ -w "$bindir" ]; }; then
  bindir="${XDG_CACHE_HOME:-$HOME/.cache}/pr-rl-gpu/$(cksum < "$packed" | cut -d' ' -f1)"
fi
if [ ! -x "$bindir/node" ]; then
  mkdir -p "$bindir"
  case "$packed" in *.xz) unpack="xz -dc";; *) unpack="gzip -dc";; esac
  command -v "${unpack%% *}" >/dev/null || { echo "pr-rl: ${unpack%% *} is needed once to unpack Node (apt install xz-utils)" >&2; exit 1; }
  $unpack "$packed" > "$bindir/node.tmp.$$" && chmod +x "$bindir/node.tmp.$$" && mv "$bindir/node.tmp.$$" "$bindir/node"
fi
have() { { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q "$1"; }
extra=""
{ have 'libvulkan\.so\.1 ' && have 'libGLdispatch\.so\.0 ' && have 'libEGL\.so\.1 '; } || extra="$here/lib/vulkan"
sys_stdcxx=$({ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [ -z "$sys_stdcxx" ] || ! grep -aq GLIBCXX_3.4.30 "$sys_stdcxx"; then extra="${extra:+$extra:}$here/lib/stdc++"; fi
# NVIDIA's container toolkit (GKE and others) may mount the driver under /usr/local/nvidia.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] \
   && [ ! -f /usr/share/vulkan/icd.d/nvidia_icd.json ] && [ ! -f /etc/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  extra="${extra:+$extra:}/usr/local/nvidia/lib64"
fi
[ -n "$extra" ] && export LD_LIBRARY_PATH="$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# `run.sh bench-webgpu [flags]` runs the WebGPU-vs-PyTorch benchmark (bench/webgpu.ts) instead of the CLI.
if [ "${1:-}" = bench-webgpu ]; then shift; exec "$bindir/node" "$here/bench-webgpu.mjs" "$@"; fi
exec "$bindir/node" "$here/pr-rl.mjs" "$@"
RUN
chmod +x "$out/run.sh"

tar -C dist -czf dist/pr-rl-gpu.tar.gz pr-rl-gpu
size() { du -sh "$1" | cut -f1; }
echo "bundle-gpu: $out ($(size "$out") unpacked), dist/pr-rl-gpu.tar.gz $(size dist/pr-rl-gpu.tar.gz); try: $out/run.sh --help"
