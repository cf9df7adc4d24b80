#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those missing.
# Never the `luajit` / `libluajit-5.1-dev` packages: they conflict with nginx's Lua module.
set -euo pipefail
pkgs=(build-essential cmake pkg-config luajit2 libluajit2-5.1-dev libuv1-dev liblz4-dev
      lua-busted lua-cjson luarocks zip clang libclang-rt-14-dev
      nginx libnginx-mod-http-lua lua-resty-core wrk valgrind bc strace
      libssl-dev openssl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
