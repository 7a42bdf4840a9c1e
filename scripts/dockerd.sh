#!/usr/bin/env bash
# scripts/dockerd.sh start|stop|env|status — a private Docker engine for tests and CI.
#
# It never touches the system's Docker: the engine gets its own data root, exec root,
# pid file and socket under $ENSMOCK_DOCKERD_DIR (default /tmp/ensmock-dockerd), and
# no iptables rules, no IP forwarding. Published ports work through docker-proxy
# (the userland proxy), so `-p 127.0.0.1::8080` still reaches a bridge-networked
# container without any NAT rule.
#
#   scripts/dockerd.sh start     install docker.io if dockerd is missing, start it, wait for it
#   scripts/dockerd.sh stop      stop it by PID (waits, then SIGKILL after a bound)
#   scripts/dockerd.sh env       print `export DOCKER_HOST=...` (eval "$(scripts/dockerd.sh env)")
#   scripts/dockerd.sh status    exit 0 when the engine answers
#
# The log is $ENSMOCK_DOCKERD_DIR/dockerd.log.
set -euo pipefail

DIR="${ENSMOCK_DOCKERD_DIR:-/tmp/ensmock-dockerd}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"
HOST="unix://$SOCK"
START_TIMEOUT="${ENSMOCK_DOCKERD_TIMEOUT:-60}" # seconds

say() { echo "dockerd.sh: $*" >&2; }

running_pid() {
	[ -s "$PIDFILE" ] || return 1
	local pid
	pid="$(cat "$PIDFILE")"
	# A stale file after a reboot may name another process: only ever a dockerd.
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

answers() { DOCKER_HOST="$HOST" docker info >/dev/null 2>&1; }

install() {
	if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
		return 0
	fi
	say "dockerd or docker missing: installing Debian's docker.io"
	if [ "$(id -u)" != 0 ]; then
		say "need root to install docker.io"
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# policy-rc.d/systemd refusing to start the system service is fine: we start our own.
	apt-get install -y -qq --no-install-recommends docker.io >/dev/null || {
		command -v dockerd >/dev/null 2>&1 || return 1
	}
}

stop() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PIDFILE"
		return 0
	fi
	say "stopping dockerd (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do # 20 s
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "dockerd (pid $pid) did not stop in 20s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDFILE"
	# The engine leaves its default network namespace mounted: release it, so the
	# folder can be removed.
	for ns in "$DIR"/exec/netns/*; do
		[ -e "$ns" ] && umount "$ns" 2>/dev/null || true
	done
}

start() {
	if running_pid >/dev/null && answers; then
		say "already running (pid $(running_pid)), DOCKER_HOST=$HOST"
		return 0
	fi
	install
	mkdir -p "$DIR/data" "$DIR/exec"
	stop # a stale pid from an earlier run
	rm -f "$SOCK"
	# --iptables=false: this machine's sandbox has no NAT for containers and needs none;
	# ports are published by docker-proxy on the host's loopback.
	# containerd is started by dockerd itself (managed), under the exec root.
	dockerd \
		--data-root "$DIR/data" \
		--exec-root "$DIR/exec" \
		--pidfile "$DIR/dockerd.internal.pid" \
		--host "$HOST" \
		--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
		--userland-proxy=true \
		>"$LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	local pid
	pid="$(cat "$PIDFILE")"
	say "started dockerd (pid $pid), waiting up to ${START_TIMEOUT}s for it to answer"
	local deadline=$((SECONDS + START_TIMEOUT))
	until answers; do
		if ! kill -0 "$pid" 2>/dev/null; then
			say "dockerd exited; last lines of $LOG:"
			tail -n 30 "$LOG" >&2 || true
			rm -f "$PIDFILE"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			say "dockerd did not answer in ${START_TIMEOUT}s; last lines of $LOG:"
			tail -n 30 "$LOG" >&2 || true
			stop
			return 1
		fi
		sleep 0.25
	done
	say "ready: DOCKER_HOST=$HOST ($(DOCKER_HOST="$HOST" docker version --format 'server {{.Server.Version}}' 2>/dev/null))"
}

case "${1:-}" in
start)
	# If start fails half way, do not leave an engine behind.
	trap 'rc=$?; [ $rc -eq 0 ] || stop; exit $rc' EXIT
	start
	;;
stop) stop ;;
env) echo "export DOCKER_HOST=$HOST" ;;
status) answers ;;
*)
	echo "usage: $0 start|stop|env|status" >&2
	exit 2
	;;
esac
