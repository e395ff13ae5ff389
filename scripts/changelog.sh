#!/usr/bin/env bash
# CHANGELOG.rst, rendered by antsibull-changelog: the released history in changelogs/changelog.yaml
# plus, when galaxy.yml's version is not released yet, that version's notes from the pending
# fragments (what `antsibull-changelog release` will write). See docs/dev/DESIGN.md "Changelog".
#   scripts/changelog.sh          write CHANGELOG.rst
#   scripts/changelog.sh --check  lint the fragments, exit 1 if CHANGELOG.rst is stale; with
#                                 CHANGELOG_BASE=<git ref>, also require a fragment when the
#                                 commits since that ref change what users see
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mode="write"
case "${1:-}" in
  --check) mode=check ;;
  '') ;;
  *) echo "usage: scripts/changelog.sh [--check]" >&2; exit 2 ;;
esac

if [ "$mode" = check ]; then
  antsibull-changelog lint
  echo "changelog-check: fragments lint clean ($(find changelogs/fragments -name '*.y*ml' | wc -l) pending)"
fi

TMP=$(mktemp -d /tmp/nh-changelog.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# antsibull-changelog lists new modules, plugins and roles through ansible-doc: give it the
# collection at ansible_collections/nested/hosts, copied so that `release` changes nothing here.
DEST=$TMP/ansible_collections/nested/hosts
mkdir -p "$DEST"
rsync -a --exclude .venv --exclude .ansible --exclude .git --exclude __pycache__ --exclude build \
  --exclude tests --exclude benchmarks --exclude docs "$ROOT"/ "$DEST"/
version=$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' galaxy.yml)
released=$(python -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])) or {}; print(sys.argv[2] in (d.get("releases") or {}))' \
  changelogs/changelog.yaml "$version")
pending=$(find changelogs/fragments -name '*.y*ml' | wc -l)
(
  cd "$DEST"
  export ANSIBLE_COLLECTIONS_PATH=$TMP
  if [ "$released" = False ] && [ "$pending" -gt 0 ]; then
    # The date only goes to changelog.yaml (discarded here), never into CHANGELOG.rst.
    antsibull-changelog release --version "$version" --date 1970-01-01
  else
    antsibull-changelog generate
  fi
) >"$TMP/log" 2>&1 || {
  cat "$TMP/log" >&2
  echo "scripts/changelog.sh: antsibull-changelog failed (see above)" >&2
  exit 2
}
if [ "$released" = True ] && [ "$pending" -gt 0 ]; then
  echo "changelog: $version is already released and $pending fragment(s) are pending: bump version in galaxy.yml" >&2
  [ "$mode" = check ] && exit 1
fi

if [ "$mode" = write ]; then
  if cmp -s "$DEST/CHANGELOG.rst" CHANGELOG.rst; then
    echo "scripts/changelog.sh: CHANGELOG.rst is current"
  else
    cp "$DEST/CHANGELOG.rst" CHANGELOG.rst
    echo "scripts/changelog.sh: wrote CHANGELOG.rst ($version, $pending pending fragments)"
  fi
  exit 0
fi

if ! cmp -s "$DEST/CHANGELOG.rst" CHANGELOG.rst; then
  echo "changelog-check: CHANGELOG.rst does not match changelogs/ (run \`make changelog\` and commit):"
  diff -u CHANGELOG.rst "$DEST/CHANGELOG.rst" | head -40 || true
  exit 1
fi
echo "changelog-check: CHANGELOG.rst is current ($version)"

# A change users see needs a fragment: plugins, roles, playbooks, the runtime metadata.
if [ -n "${CHANGELOG_BASE:-}" ]; then
  changed=$(git diff --name-only "$CHANGELOG_BASE"...HEAD)
  visible=$(grep -E '^(plugins|roles|playbooks|meta)/' <<<"$changed" || true)
  fragments=$(git diff --name-only --diff-filter=AM "$CHANGELOG_BASE"...HEAD -- changelogs/fragments)
  if [ -n "$visible" ] && [ -z "$fragments" ]; then
    echo "changelog-check: commits since $CHANGELOG_BASE change what users see but add no changelogs/fragments/*.yml:"
    head -10 <<<"$visible" | sed 's/^/  /'
    echo "  add a fragment (a 'trivial:' one when the change is invisible to users)"
    exit 1
  fi
  echo "changelog-check: fragment requirement met since $CHANGELOG_BASE"
fi
