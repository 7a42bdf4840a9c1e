#!/usr/bin/env bash
# scripts/image.sh — build the ensmock container image and smoke-test it.
#
#   scripts/image.sh            build ${IMAGE:-ensmock:dev}, run it, wait until healthy, remove it
#   IMAGE=ensmock:x scripts/image.sh
#   SMOKE=0 scripts/image.sh    build only
#
# The image is FROM scratch (nothing is pulled): the static binary is built here with
# CGO_ENABLED=0 and put, with the Dockerfile, in a temporary build context. The binary
# is also left at dist/ensmock. The Docker engine is the one DOCKER_HOST names; when
# none answers and scripts/dockerd.sh's engine runs, that one is used.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

IMAGE="${IMAGE:-ensmock:dev}"
SMOKE="${SMOKE:-1}"
MAX_BYTES=$((20 * 1000 * 1000)) # the image must stay under 20 MB
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
GO="${GO:-go}"

say() { echo "image.sh: $*" >&2; }

if ! docker info >/dev/null 2>&1; then
	if [ -z "${DOCKER_HOST:-}" ] && scripts/dockerd.sh status; then
		eval "$(scripts/dockerd.sh env)"
		export DOCKER_HOST
	else
		say "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); start one: scripts/dockerd.sh start && eval \"\$(scripts/dockerd.sh env)\""
		exit 1
	fi
fi

ctx="$(mktemp -d)"
cid=""
cleanup() {
	if [ -n "$cid" ]; then docker rm -f "$cid" >/dev/null 2>&1 || true; fi
	rm -rf "$ctx"
}
trap cleanup EXIT

say "building the static binary (version $VERSION)"
mkdir -p "$ctx/dist" dist
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$ctx/dist/ensmock" ./cmd/ensmock
cp "$ctx/dist/ensmock" dist/ensmock
cp Dockerfile .dockerignore "$ctx/"
mkdir -p "$ctx/dist/data" dist/data # the image's /data volume (--data-dir), created owned by the non-root user

say "docker build -t $IMAGE (context: $(du -sh "$ctx" | cut -f1))"
# The legacy builder is all that FROM scratch + COPY needs, and works with any engine.
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "VERSION=$VERSION" -t "$IMAGE" "$ctx" >/dev/null

size="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
user="$(docker image inspect --format '{{.Config.User}}' "$IMAGE")"
say "image $IMAGE: $size bytes ($((size / 1000 / 1000)) MB), user $user"
if [ "$size" -ge "$MAX_BYTES" ]; then
	say "image is $size bytes, over the 20 MB budget"
	exit 1
fi
case "$user" in 0 | 0:* | root | root:* | "")
	say "image runs as root ($user)"
	exit 1
	;;
esac

[ "$SMOKE" = 1 ] || exit 0

say "smoke: docker run -d -p 127.0.0.1::8080 $IMAGE"
got="$(docker run --rm "$IMAGE" version)"
case "$got" in "ensmock $VERSION") ;; *)
	say "version: got '$got', want 'ensmock $VERSION'"
	exit 1
	;;
esac
start_ns="$(date +%s%N)"
cid="$(docker run -d -p 127.0.0.1::8080 "$IMAGE")"
hostport="$(docker port "$cid" 8080/tcp | head -n1)"
case "$hostport" in 127.0.0.1:*) ;; *)
	say "port 8080 published on '$hostport', want 127.0.0.1:<port>"
	exit 1
	;;
esac
url="http://$hostport/_ensmock/health"
ok=0
for _ in $(seq 1 100); do # at most ~20 s
	if "$ctx/dist/ensmock" healthcheck --timeout 1s --url "$url" >/dev/null 2>&1; then
		ok=1
		break
	fi
	if [ "$(docker inspect --format '{{.State.Running}}' "$cid")" != true ]; then break; fi
	sleep 0.2
done
if [ "$ok" != 1 ]; then
	say "container not healthy at $url; its log:"
	docker logs "$cid" >&2 || true
	exit 1
fi
ms=$((($(date +%s%N) - start_ns) / 1000000))
say "smoke: healthy at $url ${ms}ms after docker run"

# The image's own HEALTHCHECK (exec form, no shell) must turn the container healthy.
status=""
for _ in $(seq 1 60); do # at most ~30 s (first probe after the 5 s interval)
	status="$(docker inspect --format '{{.State.Health.Status}}' "$cid")"
	[ "$status" = healthy ] && break
	[ "$status" = unhealthy ] && break
	sleep 0.5
done
if [ "$status" != healthy ]; then
	say "HEALTHCHECK status: '$status'"
	docker inspect --format '{{json .State.Health}}' "$cid" >&2 || true
	exit 1
fi
say "smoke: docker reports the container healthy"
echo "image $IMAGE ok: $size bytes, healthy ${ms}ms after docker run"
