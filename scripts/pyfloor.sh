#!/usr/bin/env bash
# Module code runs on the managed hosts' Python (3.8 on Ubuntu 20.04, 3.9 on Debian 11), so
# plugins/modules and plugins/module_utils must not need anything newer. Controller-side plugins
# (filter, connection, inventory) run on ansible-core 2.19's Python (3.11+) and are not checked here.
#  1. vermin: the minimum version the syntax and standard library uses need (annotations are not
#     evaluated, which holds only with `from __future__ import annotations`, hence check 2).
#  2. every file starts its code with `from __future__ import annotations`, so PEP 585/604
#     annotations (list[str], str | None) are never evaluated on 3.8.
#  3. methods vermin cannot see on a variable of unknown type (it reports int.bit_count() only on a
#     literal): a short list of 3.9+/3.10+ names.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(plugins/modules plugins/module_utils)
status=0
vermin -q -t=3.8- --no-tips --violations --no-parse-comments "${paths[@]}" || status=1
missing=$(grep -L '^from __future__ import annotations' plugins/modules/*.py plugins/module_utils/*.py || true)
if [ -n "$missing" ]; then
  echo "pyfloor: these files lack 'from __future__ import annotations' (needed for Python 3.8):"
  while IFS= read -r f; do echo "  $f"; done <<<"$missing"
  status=1
fi
# 3.10: int.bit_count, zip(strict=), aiter/anext; 3.9: str.removeprefix/removesuffix, math.lcm.
if grep -nE '\.bit_count\(|\.removeprefix\(|\.removesuffix\(|\bzip\([^)]*strict=|\ba(iter|next)\(|math\.lcm\(' \
  -r --include='*.py' "${paths[@]}"; then
  echo "pyfloor: the calls above need Python 3.9 or 3.10; module code must run on 3.8"
  status=1
fi
[ "$status" -eq 0 ] && echo "pyfloor: plugins/modules and plugins/module_utils need at most Python 3.8"
exit "$status"
