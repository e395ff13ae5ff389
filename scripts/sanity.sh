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
# ansible-test bootstraps pip in its sanity venvs with a script from Ansible's CI file host, which
# this project's machines cannot reach. Where that cached script is absent, provide an equivalent
# that uses the interpreter's own ensurepip and then installs the requested pip from PyPI.
for v in 24.2 24.3 25.0 25.1; do
  cache=$HOME/.ansible/test/cache/get_pip_${v//./_}.py
  [ -f "$cache" ] && ! grep -q 'nested.hosts scripts/sanity.sh' "$cache" && continue
  mkdir -p "$(dirname "$cache")"
  cat >"$cache" <<'PY'
"""Offline stand-in for ansible-test's get-pip bootstrap (written by nested.hosts scripts/sanity.sh)."""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
# get-pip's own flags (--no-setuptools, --no-wheel) mean "do not install them": drop them here.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
done
cd "$DEST"
if git init -q .; then git add -A >/dev/null 2>&1; fi
read -r -a extra <<<"${SANITY_ARGS:-}"
ansible-test sanity --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --color no "${extra[@]}" "$@"
