#!/usr/bin/env bash
# ansible-test needs the collection at ansible_collections/<ns>/<name>: copy it into a temporary tree.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TMP=$(mktemp -d /tmp/nh-sanity.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
DEST=$TMP/ansible_collections/nested/hosts
mkdir -p "$DEST"
rsync -a --exclude .venv --exclude .ansible --exclude .git --exclude '__pycache__' \
  --exclude .pytest_cache --exclude .ruff_cache --exclude build "$ROOT"/ "$DEST"/
cd "$DEST"
git init -q . && git add -A >/dev/null 2>&1 || true
ansible-test sanity --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --color no ${SANITY_ARGS:-} "$@"
