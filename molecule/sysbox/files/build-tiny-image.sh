#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Imports a tiny image holding only /usr/bin/true, /usr/bin/sleep and the libraries they
# load, taken from this machine: enough for `docker run IMAGE /usr/bin/true` without a
# registry. Usage: build-tiny-image.sh IMAGE:TAG [EXTRA_FILE...] (e.g. /bin/sh /usr/bin/cat).
set -o errexit -o nounset -o pipefail

image=$1
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
export LANG=C
files=(/usr/bin/true /usr/bin/sleep "${@:2}")
mapfile -t libs < <(ldd "${files[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u)
for f in "${files[@]}" "${libs[@]}"; do
  cp --parents --dereference "${f}" "${work}"
done
tar -C "${work}" -c . | docker import - "${image}" >/dev/null
echo "${image}"
