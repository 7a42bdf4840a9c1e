# ensmock — every guard rail lives here and in .ci/run, not in review.
GO        ?= go
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 10s

.PHONY: help run build test unit test-js lint tidy-check bench fuzz hostile screenshots test-crash

## help: list the targets (this text comes from the `## target: what` comments)
help:
	@awk 'BEGIN { FS = ":" } /^## [a-zA-Z0-9_-]+:/ { name = $$1; sub(/^## /, "", name); text = $$0; sub(/^## [^:]+: */, "", text); printf "  %-22s %s\n", name, text }' $(MAKEFILE_LIST)

## run: build and start the mock on http://127.0.0.1:8080; prints the URL, credentials and control plane; Ctrl-C stops it
run:
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ensmock ./cmd/ensmock
	@trap 'exit 0' INT TERM; bin/ensmock serve --log-format text $(ARGS); rc=$$?; [ $$rc -eq 130 ] || [ $$rc -eq 0 ] || exit $$rc

## build: the static binary in bin/ensmock
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ensmock ./cmd/ensmock

## test: lint, every test with the race detector (container tests need Docker: see docker-test), then the Node clients
test: lint unit test-js

## unit: every test with the race detector, without lint
unit:
	@if [ "$${ENSMOCK_REQUIRE_DOCKER:-}" != 1 ] && ! docker info >/dev/null 2>&1 && ! scripts/dockerd.sh status >/dev/null 2>&1; then \
		echo "make test: the container tests (ensmocktc) will be SKIPPED: no Docker engine answers (DOCKER_HOST=$${DOCKER_HOST:-unset}); make docker-test starts a private one"; fi
	$(GO) test -race -count=1 $(PKGS)

## test-crash: the crash test with 50 seeded SIGKILL points (make test runs 10): no acknowledged push lost
test-crash:
	$(GO) test -race -count=1 -run='^TestCrashKeepsAcknowledgedPushes$$' -timeout=20m ./cmd/ensmock/ -crash-points=50

## test-js: the official Node clients against the mock (sdktests/js, pinned); one SKIPPED line without node/npm
test-js:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		npm ci --prefix sdktests/js --no-audit --no-fund --loglevel=error && \
		ENSMOCK_REQUIRE_NODE=1 $(GO) test -race -count=1 ./sdktests/js/; \
	elif [ "$$ENSMOCK_REQUIRE_NODE" = 1 ]; then \
		echo "test-js: FAILED: node and npm are required (ENSMOCK_REQUIRE_NODE=1); apt-get install nodejs npm"; exit 1; \
	else \
		echo "test-js: SKIPPED: node or npm is not installed (apt-get install nodejs npm, or run .ci/run)"; \
	fi

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet, staticcheck and go mod tidy must leave no diff / no finding
lint: tidy-check
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags soak,hostile ./mock/
	$(GO) run $(STATICCHECK) $(PKGS)

## tidy-check: go mod tidy would change nothing (go mod tidy -diff; leaves the files alone)
tidy-check:
	@$(GO) mod tidy -diff || { echo "go mod tidy would change go.mod/go.sum as shown above: run it and commit"; exit 1; }

## bench: benchmarks of the request path and the engine (ns/op, allocs/op)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

## screenshots: docs/img/live-view.png and docs/img/conformance-report.png, taken in headless Chromium
screenshots:
	ENSMOCK_SCREENSHOTS=$(CURDIR)/docs/img ENSMOCK_REQUIRE_BROWSER=1 $(GO) test -count=1 -run='^TestScreenshots$$' ./internal/uitest/

## fuzz: run every fuzz target briefly (FUZZTIME each)
fuzz:
	@set -e; for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$spec $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$spec; \
		done; done

# ---- container image, Docker engine, testcontainers ----------------------------
# scripts/dockerd.sh runs a private Docker engine (no iptables, loopback ports);
# scripts/image.sh builds the FROM scratch image. Nothing is ever pulled.
IMAGE_TAG ?= ensmock:dev

.PHONY: image docker-test bench-startup

## image: static binary + FROM scratch image $(IMAGE_TAG), smoke-tested (scripts/image.sh)
image:
	IMAGE=$(IMAGE_TAG) VERSION=$(VERSION) scripts/image.sh

## docker-test: the container tests (ensmocktc); starts scripts/dockerd.sh's engine if none answers
docker-test:
	@set -e; \
	if ! docker info >/dev/null 2>&1; then scripts/dockerd.sh start; eval "$$(scripts/dockerd.sh env)"; export DOCKER_HOST; fi; \
	IMAGE=$(IMAGE_TAG) VERSION=$(VERSION) scripts/image.sh; \
	ENSMOCK_IMAGE=$(IMAGE_TAG) ENSMOCK_REQUIRE_DOCKER=1 TESTCONTAINERS_RYUK_DISABLED=true \
	TESTCONTAINERS_HOST_OVERRIDE=$${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1} \
	$(GO) test -race -count=1 -v ./ensmocktc/...

## bench-startup: process start → healthy, for the binary and the container (also part of `make bench`)
bench-startup:
	$(GO) test -run='^$$' -bench=Startup -benchtime=5x ./ensmocktc/

# ---- load, scale and start-up benchmarks; the long soak -------------------------
# bench-load: vegeta against the mock and a bare net/http floor, each in a child
# process on 127.0.0.1; prints a table and PASS/FAIL against the targets in
# docs/performance.md. SOAK is the full-load time before the RSS reading; WRK=wrk
# adds a cross-check of the max-throughput phase with wrk (optional).
SOAK ?= 60s

.PHONY: bench-load bench-scale bench-startup-binary bench-hostile soak

## bench-load: throughput, CPU/request, p99 at 200 req/s, RSS (bench/load; SOAK=60s)
bench-load:
	$(GO) run ./bench/load -soak $(SOAK) $(if $(WRK),-wrk $(WRK))

## bench-scale: 100,000 data files x 10 file servers: memory per replica, Describe latency
bench-scale:
	$(GO) test -run='^$$' -bench=Scale -benchtime=200x ./internal/engine/

## bench-hostile: the floods of issue 18, each against a fresh mock: peak RSS and health p99/max (bench/hostile; ~3 min)
bench-hostile:
	$(GO) run ./bench/hostile

## bench-startup-binary: start bin/ensmock N times, time to a healthy /_ensmock/health (min/median)
bench-startup-binary:
	$(GO) run ./bench/startup -n 21

## soak: the long soak test (mixed traffic for 3 minutes, goroutine and heap checks; not part of make test)
soak:
	$(GO) test -tags soak -race -count=1 -run='^TestSoak$$' -timeout=15m ./mock/ -soak=3m

## hostile: the long hostile-input variants (20,000 idle connections, 1M-file describe, 1000 × 1 MB requests); the short ones run in make test
hostile:
	ENSMOCK_HOSTILE=1 $(GO) test -tags hostile -count=1 -run='^TestHostile|^TestJournalBoundedUnderLargeRequests$$' -timeout=30m -v ./mock/...
