#!/usr/bin/env bash
# mypy on plugins/ (config: mypy.ini). The checkout is linked as ansible_collections/nested/hosts in a
# temporary tree, so `from ansible_collections.nested.hosts.plugins.module_utils... import` resolves
# to this checkout and each file has one module name.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TMP=$(mktemp -d /tmp/nh-mypy.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/ansible_collections/nested"
ln -s "$ROOT" "$TMP/ansible_collections/nested/hosts"
cd "$TMP"
MYPY_CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/nested-hosts-mypy mypy --config-file "$ROOT/mypy.ini" "$@" ansible_collections/nested/hosts/plugins
