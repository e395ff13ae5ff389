#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine (as root) to develop, test and demo nested.hosts.
# Idempotent: a second run only checks. Steps: apt packages, a virtualenv with pinned
# Python tools, the collection linked where Ansible finds it, and a running dockerd.
#   scripts/setup.sh          everything `make test` needs (the default)
#   scripts/setup.sh --demo   only what `make demo` needs: its apt packages and requirements-demo.txt,
#                             about half the download of a fresh machine's first run
#   --list-packages           print the profile's apt packages and stop (benchmarks/bench_first_run.py)
#   --venv-only               only the profile's virtualenv step (benchmarks/bench_first_run.py times it)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

log() { printf '==> %s\n' "$*"; }

profile=full
list_only=false
venv_only=false
for arg in "$@"; do
  case "$arg" in
    --demo) profile=demo ;;
    --list-packages) list_only=true ;;
    --venv-only) venv_only=true ;;
    *) echo "scripts/setup.sh: unknown argument '$arg' (use --demo, --list-packages, --venv-only, or nothing for the full setup)" >&2; exit 2 ;;
  esac
done

# What the demo runs on this machine: dockerd, mmdebstrap for the offline base image, make and git.
DEMO_APT_PACKAGES=(docker.io mmdebstrap iptables make git ca-certificates python3-venv)
APT_PACKAGES=("${DEMO_APT_PACKAGES[@]}")
if [ "$profile" = full ]; then
  APT_PACKAGES+=(jq rsync chromium shellcheck dpkg-dev
    debootstrap  # base_image_bootstrap_tool=debootstrap's test, and scripts/hostlab.py's guest root
    qemu-system-x86 qemu-utils zstd e2fsprogs openssh-client  # this line: scripts/hostlab.py guests
    pypy3)  # PyPy 3.9: module code on an old Python (make unit-py39)
fi
if [ "$list_only" = true ]; then
  echo "${APT_PACKAGES[*]}"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/setup.sh: run as root (it installs apt packages and starts dockerd)" >&2
  exit 2
fi

if [ "$venv_only" = false ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "apt: all packages present"
  fi
fi

# requirements.txt includes requirements-demo.txt; a stamp holds the files a venv was made from, so the
# full venv also satisfies the demo and a demo venv is completed by the full setup.
stamp=$VENV/.nested-hosts-requirements
full_reqs=$(cat "$ROOT/requirements.txt" "$ROOT/requirements-demo.txt")
demo_reqs=$(cat "$ROOT/requirements-demo.txt")
have_reqs=$(cat "$stamp" 2>/dev/null || true)
if [ "$profile" = full ]; then want_reqs=$full_reqs; reqs_file=requirements.txt; else want_reqs=$demo_reqs; reqs_file=requirements-demo.txt; fi
if [ "$have_reqs" = "$want_reqs" ] || { [ "$profile" = demo ] && [ "$have_reqs" = "$full_reqs" ]; }; then
  log "python: $VENV is current"
else
  log "python: creating $VENV with the pins of $reqs_file"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  # --no-compile: byte-compiling every installed module costs about three quarters of the install
  # (ansible-core's tree alone is thousands of files) and most are never imported. Python compiles
  # a module on its first import and, as the venv's owner, writes the .pyc then, so each module
  # used is compiled once and the rest never.
  "$VENV/bin/pip" install -q --no-compile --upgrade pip
  "$VENV/bin/pip" install -q --no-compile -r "$ROOT/$reqs_file" -c "$ROOT/constraints.txt"
  printf '%s' "$want_reqs" >"$stamp"
fi

# The module tests on the oldest interpreter available from Debian (PyPy 3.9): requirements-py39.txt.
if [ "$profile" = full ]; then
  stamp39=$VENV/py39/.nested-hosts-requirements
  if [ ! -f "$stamp39" ] || ! cmp -s "$ROOT/requirements-py39.txt" "$stamp39"; then
    log "python: creating $VENV/py39 (PyPy 3.9) with pinned test tools"
    [ -x "$VENV/py39/bin/python" ] || pypy3 -m venv "$VENV/py39"
    "$VENV/py39/bin/pip" install -q --no-compile -r "$ROOT/requirements-py39.txt"
    cp "$ROOT/requirements-py39.txt" "$stamp39"
  else
    log "python: $VENV/py39 is current"
  fi
fi

[ "$venv_only" = true ] && exit 0

# Make the checkout importable as nested.hosts: Ansible's default collection path.
coll_parent=${ANSIBLE_COLLECTIONS_HOME:-$HOME/.ansible/collections}/ansible_collections/nested
mkdir -p "$coll_parent"
if [ "$(readlink -f "$coll_parent/hosts" 2>/dev/null)" != "$ROOT" ]; then
  rm -rf "$coll_parent/hosts"
  ln -s "$ROOT" "$coll_parent/hosts"
  log "collection: $coll_parent/hosts -> $ROOT"
fi

"$ROOT/scripts/ensure-dockerd.sh"
