#!/usr/bin/env bash
# Install the Debian packages the headless session needs when they are missing:
# libosmesa6 (offscreen OpenGL for rendered images) and ffmpeg (movie encode).
set -euo pipefail
need=()
ldconfig -p | grep -q 'libOSMesa\.so' || need+=(libosmesa6)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    sudo_cmd=sudo
else
    sudo_cmd=
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    $sudo_cmd apt-get update -q >/dev/null
    $sudo_cmd apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
}
