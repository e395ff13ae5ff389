#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the TEST STAND-IN for sysbox-ce: a package with the real one's name and file layout
# but none of its function. sysbox-runc execs runc (no user namespace, no isolation);
# sysbox-mgr and sysbox-fs only sleep. It exists so that the role's install-by-path,
# checksum, daemon.json merge, reload, verify and removal can run where the real package
# cannot be downloaded. Usage: build-standin.sh OUTPUT_DIR [VERSION]  (prints the .deb path)
# VERSION defaults to 0.0.0~standin; the role recognises the stand-in by the ~standin suffix,
# so another VERSION makes an unmarked copy (used to test that only the stand-in may skip
# the preflight).
set -o errexit -o nounset -o pipefail

out_dir=$1
version=${2:-0.0.0~standin}
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
root=${work}/root
mkdir -p "${root}/DEBIAN" "${root}/usr/bin" "${root}/lib/systemd/system" "${out_dir}"

cat >"${root}/DEBIAN/control" <<CONTROL
Package: sysbox-ce
Version: ${version}
Architecture: ${arch}
Maintainer: nested.hosts tests <tests@nested-hosts.invalid>
Depends: runc
Section: admin
Priority: optional
Description: TEST STAND-IN for sysbox-ce - this is NOT Sysbox
 Built by nested.hosts molecule/sysbox. sysbox-runc execs runc (no user
 namespace); sysbox-mgr and sysbox-fs do nothing. Never use it for real work.
CONTROL

cat >"${root}/usr/bin/sysbox-runc" <<'SCRIPT'
#!/bin/sh
# nested.hosts TEST STAND-IN: not Sysbox. Hands every call to runc unchanged.
exec runc "$@"
SCRIPT

for daemon in sysbox-mgr sysbox-fs; do
  cat >"${root}/usr/bin/${daemon}" <<SCRIPT
#!/bin/sh
# nested.hosts TEST STAND-IN for ${daemon}: does nothing but stay alive.
echo "${daemon}: nested.hosts test stand-in, not Sysbox"
exec sleep infinity
SCRIPT
  cat >"${root}/lib/systemd/system/${daemon}.service" <<UNIT
[Unit]
Description=${daemon} (nested.hosts TEST STAND-IN, not Sysbox)
PartOf=sysbox.service

[Service]
ExecStart=/usr/bin/${daemon}

[Install]
WantedBy=sysbox.service
UNIT
done

cat >"${root}/lib/systemd/system/sysbox.service" <<'UNIT'
[Unit]
Description=sysbox (nested.hosts TEST STAND-IN, not Sysbox)
Requires=sysbox-mgr.service sysbox-fs.service
After=sysbox-mgr.service sysbox-fs.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
UNIT

cat >"${root}/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now sysbox-mgr.service sysbox-fs.service sysbox.service
fi
SCRIPT

cat >"${root}/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl disable --now sysbox.service sysbox-mgr.service sysbox-fs.service || true
fi
SCRIPT

cat >"${root}/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
SCRIPT

chmod 0755 "${root}"/usr/bin/* "${root}"/DEBIAN/postinst "${root}"/DEBIAN/prerm "${root}"/DEBIAN/postrm
deb=${out_dir}/sysbox-ce_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "${root}" "${deb}" >/dev/null
echo "${deb}"
