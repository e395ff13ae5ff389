#!/usr/bin/env bash
# Run shellcheck on every shell file of the repository (tracked or new, not ignored): *.sh and *.bash,
# files without an extension whose shebang names sh/bash/dash, and shell templates (*.j2 with such a
# shebang) rendered first by ansible.builtin.template with their role's defaults and vars, so shellcheck sees
# what the managed host runs. Messages about a rendered template name the template.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TMP=$(mktemp -d /tmp/nh-shellcheck.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

shell_shebang() { head -n1 "$1" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da)?sh([[:space:]]|$)'; }

files=()
templates=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  case "$f" in
    *.sh | *.bash) files+=("$f") ;;
    *.j2) shell_shebang "$f" && templates+=("$f") ;;
    */*.* | *.*) ;;
    *) shell_shebang "$f" && files+=("$f") ;;
  esac
done < <(git ls-files --cached --others --exclude-standard | sort -u)

status=0
if [ ${#files[@]} -gt 0 ]; then
  shellcheck --external-sources "${files[@]}" || status=1
fi

for tpl in "${templates[@]}"; do
  role=$(sed -n 's#^roles/\([^/]*\)/templates/.*#\1#p' <<<"$tpl")
  out=$TMP/$(basename "$tpl" .j2)
  extra=()
  for vars_file in "roles/$role/defaults/main.yml" "roles/$role/vars/main.yml"; do
    [ -n "$role" ] && [ -f "$vars_file" ] && extra+=(-e "@$vars_file")
  done
  if ! ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
    ansible localhost -c local -o -m ansible.builtin.template -a "src=$ROOT/$tpl dest=$out" \
    "${extra[@]}" >"$TMP/render.log" 2>&1; then
    cat "$TMP/render.log" >&2
    echo "shellcheck.sh: cannot render $tpl with its role's defaults and vars" >&2
    status=1
    continue
  fi
  shellcheck "$out" | sed "s#$out#$tpl (rendered)#g" && continue
  status=1
done
echo "shellcheck: ${#files[@]} shell files and ${#templates[@]} rendered templates checked"
exit "$status"
