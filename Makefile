# The two commands of the README: `make run` and `make test`.
GO ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 30m

.PHONY: test unit lint bench fmt tidy

## test: everything CI runs (unit, end-to-end, fuzz seeds).
test: lint unit

## unit: the Go tests of every package.
unit:
	$(GO) test $(GOTEST_FLAGS) ./...

## lint: formatting and vet.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: the encoding benchmark against pdata's marshalers.
bench:
	$(GO) test -run '^$$' -bench BenchmarkEncode -benchmem -count 5 .

fmt:
	gofmt -w $$(git ls-files '*.go')

tidy:
	$(GO) mod tidy
