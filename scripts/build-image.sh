#!/usr/bin/env bash
# Builds agentrace's container image (deploy/Containerfile) with podman, or docker when podman
# is absent: from a binary built on this host with --binary PATH (the runtime stage only, what
# CI does), else from source (a Rust builder image). --base overrides the runtime's base image
# (default debian:bookworm-slim); --tag names it (default localhost/agentrace:latest).
#
#   scripts/build-image.sh --binary target/release/agentrace --base localhost/debian:bookworm
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary=""
base=""
tag="localhost/agentrace:latest"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --base) base="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "build-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

engine="$(command -v podman || command -v docker || true)"
if [ -z "$engine" ]; then
  echo "build-image: neither podman nor docker is installed" >&2
  exit 1
fi
args=(build -f "$root/deploy/Containerfile" -t "$tag")
if [ "$(basename "$engine")" = podman ]; then
  # Docker's image format: podman's default, OCI's, has no HEALTHCHECK.
  args+=(--format docker)
fi
if [ -n "$base" ]; then
  args+=(--build-arg "BASE=$base")
fi
if [ -n "$binary" ]; then
  if [ ! -x "$binary" ]; then
    echo "build-image: $binary is not an executable file" >&2
    exit 1
  fi
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' EXIT
  cp "$binary" "$context/agentrace"
  args+=(--target from-binary --build-context "binary=$context")
else
  args+=(--target from-source)
fi
echo "build-image: $engine ${args[*]} $root" >&2
"$engine" "${args[@]}" "$root"
echo "build-image: built $tag" >&2
