# Billing-reports service. `make run` brings the local stack up; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
TOOLS := _tools
NODE_BIN := $(TOOLS)/node_modules/.bin
FUNCTIONS := submit run status
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='

.PHONY: tools test run bench build vet

# npm tools (emulators, CDK CLI) pinned by _tools/package-lock.json.
$(TOOLS)/node_modules/.installed: $(TOOLS)/package.json $(TOOLS)/package-lock.json
	cd $(TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@
tools: $(TOOLS)/node_modules/.installed

vet:
	$(GO) vet ./...

test: tools vet
	$(GO) test -count=1 -timeout 30m ./...

# Built first and exec'd so that Ctrl-C reaches reportctl alone and ends the run cleanly.
run: tools
	@mkdir -p build && $(GO) build -o build/reportctl ./cmd/reportctl
	@exec ./build/reportctl dev $(RUN_ARGS)

build:
	@for fn in $(FUNCTIONS); do \
	  mkdir -p build/$$fn && \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o build/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done

# Each area adds its own targets in <folder>/*.mk (bench figures append to BENCH_TARGETS).
BENCH_TARGETS :=
include $(wildcard */*.mk)

bench: tools $(BENCH_TARGETS)
.PHONY: bench
