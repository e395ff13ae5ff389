#!/usr/bin/env bash
# The module code's unit tests on PyPy 3.9 (.venv/py39, see requirements-py39.txt): module_utils are
# imported in-process by 3.9, and the module tests run each module through the controller's
# `ansible localhost -m` (Python 3.11, ansible-core 2.19) with PyPy 3.9 as ansible_python_interpreter,
# the way a Debian 11 host runs them. ansible-core cannot be installed on 3.9, so only its
# module_utils (target-side code, 3.8+) are made importable, from the main .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PY39=$VENV/py39/bin/python
[ -x "$PY39" ] || { echo "scripts/unit-py39.sh: $PY39 missing: run make setup" >&2; exit 2; }
TMP=$(mktemp -d /tmp/nh-py39.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
ansible_pkg=$("$VENV/bin/python" -c 'import ansible, os; print(os.path.dirname(ansible.__file__))')
ln -s "$ansible_pkg" "$TMP/ansible"
"$PY39" -c 'import sys; assert sys.version_info[:2] == (3, 9), sys.version; print("unit-py39:", sys.version.split()[0], sys.implementation.name)'
PATH=$VENV/bin:$PATH PYTHONPATH=$TMP "$PY39" -m pytest -q -rs -p no:cacheprovider \
  tests/unit/plugins/module_utils tests/unit/plugins/modules "$@"
