# ensmock — every guard rail lives here and in .ci/run, not in review.
GO        ?= go
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 10s

.PHONY: run build test unit test-js lint tidy-check bench fuzz test-crash

## run: start the mock on http://127.0.0.1:8080 (signatures on; testid/testsecret)
run:
	$(GO) run ./cmd/ensmock serve

## build: the static binary in bin/ensmock
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ensmock ./cmd/ensmock

## test: lint, then every test with the race detector, then the Node clients (when node is installed)
test: lint unit test-js

unit:
	$(GO) test -race -count=1 $(PKGS)

## test-crash: the crash test with 50 seeded SIGKILL points (make test runs 10): no acknowledged push lost
test-crash:
	$(GO) test -race -count=1 -run='^TestCrashKeepsAcknowledgedPushes$$' -timeout=20m ./cmd/ensmock/ -crash-points=50

## test-js: the official Node clients against the mock (sdktests/js, pinned by its package-lock.json);
## skipped with one line saying why when node or npm is missing (a failure with ENSMOCK_REQUIRE_NODE=1)
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
	$(GO) run $(STATICCHECK) $(PKGS)

tidy-check:
	@cp go.mod /tmp/ensmock.go.mod.bak; cp go.sum /tmp/ensmock.go.sum.bak
	@$(GO) mod tidy
	@if ! cmp -s go.mod /tmp/ensmock.go.mod.bak || ! cmp -s go.sum /tmp/ensmock.go.sum.bak; then \
		echo "go mod tidy changed go.mod/go.sum; run it and commit"; \
		cp /tmp/ensmock.go.mod.bak go.mod; cp /tmp/ensmock.go.sum.bak go.sum; exit 1; fi

## bench: benchmarks of the request path and the engine (ns/op, allocs/op)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

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

.PHONY: bench-load bench-scale bench-startup-binary soak

## bench-load: throughput, CPU/request, p99 at 200 req/s, RSS (bench/load; SOAK=60s)
bench-load:
	$(GO) run ./bench/load -soak $(SOAK) $(if $(WRK),-wrk $(WRK))

## bench-scale: 100,000 data files x 10 file servers: memory per replica, Describe latency
bench-scale:
	$(GO) test -run='^$$' -bench=Scale -benchtime=200x ./mock/engine/

## bench-startup-binary: start bin/ensmock N times, time to a healthy /_ensmock/health (min/median)
bench-startup-binary:
	$(GO) run ./bench/startup -n 21

## soak: the long soak test (mixed traffic for 3 minutes, goroutine and heap checks)
soak:
	$(GO) test -race -count=1 -run='^TestSoak$$' -timeout=15m ./mock/ -soak=3m
