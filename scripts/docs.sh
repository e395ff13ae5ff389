#!/usr/bin/env bash
# Render the collection's module, plugin and role pages with antsibull-docs into docs/reference/.
#   scripts/docs.sh          write docs/reference/ (files whose source is gone are removed)
#   scripts/docs.sh --check  write nothing; exit 1 naming every page that is missing, stale or orphaned
# The pages are antsibull-docs' simplified-rst output (RST that GitHub renders, no Sphinx needed),
# without the antsibull-docs version stamp, so the output only changes when a source does.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=docs/reference
mode="write"
case "${1:-}" in
  --check) mode=check ;;
  '') ;;
  *) echo "usage: scripts/docs.sh [--check]" >&2; exit 2 ;;
esac

TMP=$(mktemp -d /tmp/nh-docs.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# Document this checkout, not whatever nested.hosts is installed elsewhere: a collections path
# holding only a link to it (the ansible package's bundled collections stay visible on sys.path).
mkdir -p "$TMP/collections/ansible_collections/nested" "$TMP/render"
ln -s "$ROOT" "$TMP/collections/ansible_collections/nested/hosts"
chmod 700 "$TMP/render"
ANSIBLE_COLLECTIONS_PATH=$TMP/collections antsibull-docs collection --use-current --squash-hierarchy \
  --output-format simplified-rst --no-add-antsibull-docs-version --fail-on-error \
  --dest-dir "$TMP/render" nested.hosts >"$TMP/log" 2>&1 || {
  cat "$TMP/log" >&2
  echo "scripts/docs.sh: antsibull-docs failed (see above)" >&2
  exit 2
}

if [ "$mode" = write ]; then
  mkdir -p "$OUT"
  rsync -r --checksum --delete --out-format="  wrote %n" "$TMP/render"/ "$OUT"/
  echo "scripts/docs.sh: $(find "$OUT" -type f | wc -l) pages in $OUT"
  exit 0
fi

problems=()
while IFS= read -r f; do
  if [ ! -f "$OUT/$f" ]; then
    problems+=("missing: $OUT/$f")
  elif ! cmp -s "$TMP/render/$f" "$OUT/$f"; then
    problems+=("stale:   $OUT/$f")
  fi
done < <(cd "$TMP/render" && find . -type f -printf '%P\n' | sort)
if [ -d "$OUT" ]; then
  while IFS= read -r f; do
    [ -f "$TMP/render/$f" ] || problems+=("orphan:  $OUT/$f (its source is gone)")
  done < <(cd "$OUT" && find . -type f -printf '%P\n' | sort)
fi
if [ ${#problems[@]} -gt 0 ]; then
  echo "docs-check: $OUT is out of date; run \`make docs\` and commit:"
  printf '  %s\n' "${problems[@]}"
  exit 1
fi
echo "docs-check: $(find "$TMP/render" -type f | wc -l) pages in $OUT are current"
