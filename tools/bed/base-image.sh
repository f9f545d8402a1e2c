#!/usr/bin/env bash
# Build the local base image that stands in for registry images (no registry is reachable here):
# Debian bookworm minbase with Debian's python3, imported as mlops-actions/base:bookworm and tagged
# python:3.12-slim, so that act's job container and the root Dockerfile's default FROM resolve
# without a pull. Cached: when the image exists with the same recipe it only re-applies the tags.
#   BASE_IMAGE_MIRROR  Debian mirror (default: the one apt uses here, else deb.debian.org)
#   BASE_IMAGE_REBUILD set to 1 to rebuild even when the image exists
set -euo pipefail

image="mlops-actions/base:bookworm"
aliases=("python:3.12-slim")
suite="bookworm"
packages="python3,python3-venv,python3-pip,python-is-python3,bash,git,ca-certificates"
extra_cas=(/usr/local/share/ca-certificates/*.crt)
[[ -e "${extra_cas[0]}" ]] || extra_cas=()
# Part of the cache key: a change to the recipe below, or to the extra CAs, must change this text.
recipe="v1 $suite $packages strip-docs-locales no-externally-managed extra-ca"
if ((${#extra_cas[@]})); then
  recipe+=" $(cat "${extra_cas[@]}" | sha256sum | cut -c1-16)"
fi

die() {
  echo "base-image: $*" >&2
  exit 1
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/docker-up.sh" || die "no Docker engine (see above)"

key="$(printf '%s' "$recipe" | sha256sum | cut -c1-16)"
label="org.mlops-actions.base.key"

tag_aliases() {
  local alias owner
  for alias in "${aliases[@]}"; do
    # A real image of that name (pulled on a machine with registry access) is left alone.
    if owner="$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$alias" 2>/dev/null)" \
      && [[ -z "$owner" || "$owner" == "<no value>" ]]; then
      continue
    fi
    docker tag "$image" "$alias" >/dev/null || die "could not tag $image as $alias"
  done
}

have_current() {
  [[ "$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null)" \
    == "$key" ]]
}

if [[ "${BASE_IMAGE_REBUILD:-0}" != 1 ]] && have_current; then
  tag_aliases
  exit 0
fi

# One builder at a time (parallel test workers); the loser finds the image built.
exec 9>"${TMPDIR:-/tmp}/mlops-actions-base-image.lock"
flock 9
if [[ "${BASE_IMAGE_REBUILD:-0}" != 1 ]] && have_current; then
  tag_aliases
  exit 0
fi

[[ "$(id -u)" == 0 ]] || die "building the base image needs root (debootstrap): run 'sudo $0'"

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "base-image: installing debootstrap from apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap; } \
    >/dev/null 2>&1 || die "apt-get could not install debootstrap: check the apt sources and network"
fi

mirror_from_apt() {
  # deb822 "URIs:" lines first, then one-line "deb URI suite" entries; skip the security archive.
  {
    grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
      | awk '{for (i = 2; i <= NF; i++) if ($i !~ /^\[/) {print $i; break}}'
  } | grep -E '/debian/?$' | grep -v security | head -n 1
}
mirror="${BASE_IMAGE_MIRROR:-$(mirror_from_apt || true)}"
mirror="${mirror:-http://deb.debian.org/debian}"

work="$(mktemp -d "${TMPDIR:-/tmp}/mlops-base.XXXXXX")"
root="$work/rootfs"
cleanup() {
  # A debootstrap that stopped half-way can leave /proc or /sys mounted inside the rootfs:
  # unmount them and never let rm cross into another file system.
  awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r \
    | xargs -r umount -l 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "base-image: debootstrap $suite from $mirror (about a minute)" >&2
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1; then
  tail -n 5 "$work/debootstrap.log" >&2
  die "debootstrap failed (log above): check BASE_IMAGE_MIRROR / the apt mirror"
fi

# The official python images let `pip install` write to the system interpreter; match them.
rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
# Trust the same extra CAs as this machine, so builds from this image reach what the host reaches.
if ((${#extra_cas[@]})); then
  cp "${extra_cas[@]}" "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed"
fi
rm -rf --one-file-system "${root:?}"/var/cache/apt/archives/*.deb "${root:?}"/var/lib/apt/lists/* \
  "${root:?}"/usr/share/doc/* "${root:?}"/usr/share/man/* "${root:?}"/usr/share/info/* \
  "${root:?}"/usr/share/locale/* "${root:?}"/dev/* "${root:?}"/proc/* "${root:?}"/sys/* \
  "${root:?}"/run/* "${root:?}"/tmp/*

tar --numeric-owner -C "$root" -cf - . \
  | docker import \
    --change "LABEL $label=$key" \
    --change "ENV LANG=C.UTF-8" \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change 'CMD ["python3"]' \
    - "$image" >/dev/null || die "docker import of the rootfs failed"
tag_aliases
echo "base-image: built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)" >&2
