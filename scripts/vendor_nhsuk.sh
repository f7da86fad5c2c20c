#!/usr/bin/env bash
# Build core/static/nhsuk/ from the NHS.UK frontend pinned in frontend/package.json (and
# frontend/package-lock.json):
# - nhsuk-frontend.min.css: compiled from frontend/nhsuk.scss with the pinned sass, not the
#   package's prebuilt one, which loads its font from another host (see frontend/nhsuk.scss);
#   no source map;
# - nhsuk-frontend.min.js and its source map, and the assets/ folder (images, manifest.json):
#   the package's own files, byte for byte;
# - VERSION: the package's version.
# The output is the same bytes on every run. tests/core/test_frontend_assets.py runs this script
# with NHSUK_OUT=<a temporary folder> (build there instead) and compares the result with
# core/static/nhsuk. Run by `make frontend`.
set -euo pipefail
cd "$(dirname "$0")/.."

frontend=frontend
pkg="$frontend/node_modules/nhsuk-frontend"
sass="$frontend/node_modules/.bin/sass"
dest="${NHSUK_OUT:-core/static/nhsuk}"

# Every devDependency installed at exactly its pinned version?
installed_as_pinned() {
  node -e '
    const path = require("path");
    const dir = path.resolve(process.argv[1]);
    const pins = require(path.join(dir, "package.json")).devDependencies;
    for (const [name, pin] of Object.entries(pins)) {
      let version;
      try {
        version = require(path.join(dir, "node_modules", name, "package.json")).version;
      } catch {
        process.exit(1);
      }
      if (version !== pin) process.exit(1);
    }
  ' "$frontend"
}

if ! installed_as_pinned; then
  npm ci --prefix "$frontend" --no-audit --no-fund
fi

src="$pkg/dist/nhsuk"
version="$(node -p 'require(process.argv[1]).version' "$PWD/$pkg/package.json")"
sass_version="$(node -p 'require(process.argv[1]).version' "$PWD/$frontend/node_modules/sass/package.json")"

# Build in a scratch folder, then swap it in: a failed build leaves $dest as it was.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
out="$scratch/nhsuk"
mkdir "$out"

"$sass" \
  --style=compressed \
  --no-source-map \
  --no-error-css \
  --quiet-deps \
  --load-path="$frontend/node_modules" \
  "$frontend/nhsuk.scss" "$out/nhsuk-frontend.min.css"
for file in nhsuk-frontend.min.js nhsuk-frontend.min.js.map; do
  cp "$src/$file" "$out/"
done
cp -R "$src/assets" "$out/assets"
printf '%s\n' "$version" >"$out/VERSION"

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$out" "$dest"

echo "$dest: nhsuk-frontend $version, CSS built with sass $sass_version ($(du -sh "$dest" | cut -f1))"
