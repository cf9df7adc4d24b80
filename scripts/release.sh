#!/usr/bin/env bash
# Makes the release files of the version in VERSION, offline, into dist/ (or $DDB_DIST_DIR):
#
#   dolphindb-X.Y.Z.tar.gz         the sources (git archive of HEAD), top folder dolphindb-X.Y.Z/
#   dolphindb-X.Y.Z-1.rockspec     rockspec/dolphindb-scm-1.rockspec with that version and
#                                  that archive as its source (url, dir, md5)
#   dolphindb-X.Y.Z-1.src.rock     the rockspec and the archive, as `luarocks pack` lays
#                                  them out: `luarocks install ./dolphindb-X.Y.Z-1.src.rock`
#                                  builds and installs it with no network
#
#   bash scripts/release.sh [--worktree] [--url BASE]
#
# --worktree  archive the working tree's files (tracked and untracked, .gitignore
#             respected) instead of HEAD; without it the tracked files must be committed
# --url BASE  where the archive will be published: the rockspec's source.url becomes
#             BASE/dolphindb-X.Y.Z.tar.gz (default: the bare file name, which is all a
#             .src.rock needs, and lets `luarocks build` run from dist/ itself)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
worktree=0 url_base=
while [ $# -gt 0 ]; do
  case "$1" in
    --worktree) worktree=1 ;;
    --url) url_base=${2:?--url needs a base URL}; shift ;;
    *) echo "usage: bash scripts/release.sh [--worktree] [--url BASE]" >&2; exit 2 ;;
  esac
  shift
done

version=$(head -n 1 VERSION)
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "release: VERSION holds '$version', not X.Y.Z" >&2; exit 1; }
git rev-parse --git-dir >/dev/null 2>&1 || { echo "release: needs a git checkout" >&2; exit 1; }
for tool in zip luajit; do
  command -v "$tool" >/dev/null || { echo "release: '$tool' is required" >&2; exit 1; }
done

name=dolphindb-$version
dist=${DDB_DIST_DIR:-$root/dist}
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# 1. the source archive
archive=$dist/$name.tar.gz
if [ "$worktree" = 1 ]; then
  mkdir "$stage/$name"
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$stage/$name"
  tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$archive" "$name"
  rm -rf "${stage:?}/$name"
else
  if ! git diff --quiet HEAD --; then
    echo "release: tracked files have uncommitted changes (commit them, or use --worktree)" >&2
    exit 1
  fi
  git archive --format=tar.gz --prefix="$name/" -o "$archive" HEAD
fi
md5=$(md5sum "$archive" | cut -d' ' -f1)

# 2. the rockspec: the scm one with the version and the source replaced (each exactly once)
rockspec=$dist/$name-1.rockspec
url=${url_base:+${url_base%/}/}$name.tar.gz
luajit - "$root/rockspec/dolphindb-scm-1.rockspec" "$rockspec" "$version" "$url" "$name" "$md5" <<'LUA'
local src, dst, version, url, dir, md5 = ...
local f = assert(io.open(src, "rb")); local text = f:read("*a"); f:close()
local function sub(pattern, repl)
  local n
  text, n = text:gsub(pattern, function() return repl end)
  if n ~= 1 then error(("release: %s: expected one match of %q, found %d"):format(src, pattern, n)) end
end
sub('\nversion = "scm%-1"\n', ('\nversion = "%s-1"\n'):format(version))
sub('\nsource = {.-\n}\n', ('\nsource = {\n  url = %q,\n  dir = %q,\n  md5 = %q,\n}\n'):format(url, dir, md5))
text = ("-- dolphindb %s: made by scripts/release.sh from rockspec/dolphindb-scm-1.rockspec.\n"
  .. "--   luarocks --lua-version=5.1 install ./%s-1.src.rock [--tree DIR | --local]\n")
  :format(version, dir) .. text
assert(load(text, "=" .. dst))   -- still Lua
f = assert(io.open(dst, "wb")); f:write(text); f:close()
LUA

# 3. the source rock: the rockspec and the archive at the top of a zip
rock=$dist/$name-1.src.rock
rm -f "$rock"
cp "$rockspec" "$archive" "$stage/"
(cd "$stage" && zip -q -X "$rock" "$name-1.rockspec" "$name.tar.gz")

echo "release $version:"
for f in "$archive" "$rockspec" "$rock"; do echo "  $f"; done
