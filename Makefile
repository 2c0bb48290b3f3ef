# The README's two commands: `make run` (local collector, Agent 365 stand-in
# and a demo agent) and `make test` (what CI runs).
GO ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 45m
OCB_VERSION := v0.165.0
TOOLS := $(CURDIR)/.tools
OCB := $(TOOLS)/builder-$(OCB_VERSION)
OTELCOL := bin/otelcol-agent365
# The modules: the exporter (the root), the agent365auth extension, and the
# testbed (a365sink, demo, load test, fault matrix, end-to-end tests).
MODULES := . ./auth ./receiver ./testbed
GO_SOURCES := $(shell git ls-files --cached --others --exclude-standard '*.go' '*go.mod' '*go.sum' 2>/dev/null)

# A count, not a duration: a duration -fuzztime can fail spuriously with
# "context deadline exceeded" on Go 1.26 (go.dev/issue/75804).
FUZZTIME ?= 50000x
# package:target of every fuzz target (their seed corpora run in `unit` too).
FUZZ_TARGETS := .:FuzzResolveIdentity .:FuzzConfigUnmarshal \
	./internal/payload:FuzzA365Span ./internal/payload:FuzzA365Values ./internal/payload:FuzzOTLPJSON ./internal/payload:FuzzAppendString \
	./internal/payload:FuzzDecodeA365 ./internal/payload:FuzzA365EncodeDecode \
	./internal/truncate:FuzzTruncate ./internal/discovery:FuzzTenantIslandHost ./internal/discovery:FuzzRouterURL

.PHONY: run test unit test-bigendian fuzz lint build otelcol tools bench loadtest soak fmt tidy clean sdkagent

## run: build, start the collector and a365sink, send a demo conversation, show the report.
run: build
	scripts/run-local.sh

## test: everything CI runs: formatting, vet, unit and end-to-end tests, the
## big-endian run, a short fuzz run.
test: lint build unit test-bigendian fuzz

## unit: the Go tests of every package of every module (the end-to-end
## tests use the binaries in bin/ and the SDK agent).
unit: sdkagent
	@set -e; for m in $(MODULES); do echo "test $$m"; (cd $$m && $(GO) test $(GOTEST_FLAGS) ./...); done

SDKAGENT := testbed/e2e/sdkagent

## sdkagent: the Node.js agent of the receiver's end-to-end tests, with
## Microsoft's Agent 365 SDK as its package-lock.json pins it (npm ci).
sdkagent: $(SDKAGENT)/node_modules/.installed

$(SDKAGENT)/node_modules/.installed: $(SDKAGENT)/package.json $(SDKAGENT)/package-lock.json
	@command -v npm >/dev/null || { \
	  echo "sdkagent: npm not found; the receiver's end-to-end tests need Node.js 20 or later, with npm" >&2; exit 1; }
	cd $(SDKAGENT) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The packages whose tests run on a big-endian machine: the JSON writers read
# text a word at a time, and the root package's tests send real payloads
# through the exporter to a loopback server. Both run in full: about 10 s
# under emulation, plus about 2 min to build the standard library for s390x
# on a cold build cache. Neither starts subprocesses or uses bin/ (that is e2e).
BIGENDIAN_PKGS := . ./internal/payload

## test-bigendian: the BIGENDIAN_PKGS tests built for linux/s390x and run under
## qemu-s390x (Debian package qemu-user). No -race: it needs cgo.
test-bigendian:
	@command -v qemu-s390x >/dev/null || { \
	  echo "test-bigendian: qemu-s390x not found; install the qemu-user package (apt-get install qemu-user)" >&2; exit 1; }
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; n=0; failed=; \
	for pkg in $(BIGENDIAN_PKGS); do \
	  n=$$((n+1)); bin="$$tmp/pkg$$n.test"; echo "s390x $$pkg"; \
	  GOOS=linux GOARCH=s390x CGO_ENABLED=0 $(GO) test -c -o "$$bin" $$pkg; \
	  (cd $$pkg && qemu-s390x "$$bin" -test.timeout 20m) || failed="$$failed $$pkg"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAIL on s390x:$$failed" >&2; exit 1; fi

## fuzz: each fuzz target for FUZZTIME.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; \
	done
	cd receiver && $(GO) test -run '^$$' -fuzz '^FuzzDecodeAndCheck$$' -fuzztime $(FUZZTIME) .

## lint: formatting and vet.
lint:
	@out=$$(gofmt -l $(filter %.go,$(GO_SOURCES))); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

## build: the collector distribution and the tools.
build: otelcol bin/a365sink bin/a365demo

## otelcol: bin/otelcol-agent365, built by OCB from builder-config.yaml.
otelcol: $(OTELCOL)

$(OTELCOL): $(OCB) builder-config.yaml $(GO_SOURCES)
	@GOWORK=off scripts/with-progress.sh "Building bin/otelcol-agent365 with OCB $(OCB_VERSION) (the first build downloads and compiles a whole collector: about 2 to 4 minutes on 2 cores; later builds take seconds)" \
	  $(OCB) --config builder-config.yaml
	@mkdir -p bin
	cp _build/otelcol-agent365 $@

$(OCB):
	@mkdir -p $(TOOLS)
	@scripts/with-progress.sh "Installing OCB $(OCB_VERSION), the OpenTelemetry Collector Builder, into .tools/ (once: about a minute)" \
	  env GOBIN=$(TOOLS) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)
	mv $(TOOLS)/builder $@

bin/%: $(GO_SOURCES)
	cd testbed && $(GO) build -o ../$@ ./cmd/$*

## loadtest: end-to-end load, cost per span against otlphttp, highest rate, latency; writes BENCHMARKS.md.
loadtest: otelcol bin/a365sink
	cd testbed && $(GO) run ./cmd/a365loadtest -bin ../bin -out ../BENCHMARKS.md

## soak: ten minutes at a steady rate, memory and goroutines; writes BENCHMARKS.md.
soak: otelcol bin/a365sink
	cd testbed && $(GO) run ./cmd/a365loadtest -bin ../bin -out ../BENCHMARKS.md -soak 10m

## bench: the encoding benchmark against pdata's marshalers.
bench:
	$(GO) test -run '^$$' -bench BenchmarkEncode -benchmem -count 5 .

fmt:
	gofmt -w $(filter %.go,$(GO_SOURCES))

tidy:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done

clean:
	rm -rf bin _build _run
