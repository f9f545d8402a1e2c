#!/usr/bin/env bash
# Make a Docker engine answer on this machine: install Debian's docker.io when dockerd is missing,
# start dockerd when `docker info` fails, then wait (bounded) until it answers.
# Safe to run again and again; exits 0 at once when the engine already answers.
#   DOCKER_UP_TIMEOUT  seconds to wait for the engine (default 60)
#   DOCKERD_LOG        where a dockerd started here writes its log (default /var/log/dockerd.log)
set -euo pipefail

timeout_s="${DOCKER_UP_TIMEOUT:-60}"
log="${DOCKERD_LOG:-/var/log/dockerd.log}"

die() {
  echo "docker-up: $*" >&2
  exit 1
}

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
  if command -v docker >/dev/null 2>&1 && docker info 2>&1 | grep -qi 'permission denied'; then
    die "no access to the Docker socket: add this user to the 'docker' group or run as root"
  fi
  die "the Docker engine is not running and starting it needs root: run 'sudo $0'"
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-up: installing docker.io from apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$(mktemp)"
  if ! { apt-get update -qq && apt-get install -y -qq docker.io; } \
    >"$apt_log" 2>&1; then
    tail -n 5 "$apt_log" >&2
    die "apt-get could not install docker.io (log above): check the apt sources and network"
  fi
  rm -f "$apt_log"
fi

# A dockerd may already be starting (another caller, a service manager): only start one when no
# live process holds the pid file.
pidfile=/var/run/docker.pid
if ! { [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
  mkdir -p "$(dirname "$log")"
  # setsid: the daemon must outlive this script and the process group that called it.
  setsid dockerd >>"$log" 2>&1 </dev/null &
fi

deadline=$((SECONDS + timeout_s))
until engine_answers; do
  if ((SECONDS >= deadline)); then
    tail -n 5 "$log" >&2 2>/dev/null || true
    die "dockerd did not answer within ${timeout_s}s (log: $log)"
  fi
  sleep 0.5
done
