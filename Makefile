# Billing-reports service. `make run` brings the local stack up; `make test` runs every test;
# `make test-unit` runs the tests that need no emulator, no Node.js and no browser.
SHELL := /bin/bash
GO ?= go
TOOLS := _tools
NODE_BIN := $(TOOLS)/node_modules/.bin
FUNCTIONS := submit run status
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='
# cfn-lint 1.51 lives here when _tools/setup.sh had to install it (gitignored).
export PATH := $(CURDIR)/.local-tools/venv/bin:$(PATH)

.PHONY: tools test test-unit run bench build vet setup setup-test

# npm tools (emulators, CDK CLI) pinned by _tools/package-lock.json.
$(TOOLS)/node_modules/.installed: $(TOOLS)/package.json $(TOOLS)/package-lock.json
	@echo "installing the pinned npm tools into $(TOOLS)/node_modules (first time only, about 1 min)"
	cd $(TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@
tools: $(TOOLS)/node_modules/.installed

# What the tests need beyond Go and Node (cfn-lint, Chromium): installed where
# that is possible, else named with the command, before anything is compiled.
setup:
	@$(TOOLS)/setup.sh
setup-test:
	@$(TOOLS)/setup_test.sh

# Tests that start emulators, run Node.js (CDK synth, the ServiceStack client) or a
# browser carry the build tag `integration`; vet and `make test` include them.
vet:
	$(GO) vet -tags integration ./...

# Sequential on purpose: setup first, so a missing tool stops the run in
# seconds rather than after the first (slow) compile.
test: setup setup-test
	@$(MAKE) --no-print-directory tools
	@echo "go vet -tags integration ./... (the first run compiles the AWS CDK bindings of infra/: several minutes, about 1 GB of memory; later runs are cached)"
	@$(GO) vet -tags integration ./...
	@# The unit tier (no tag) must compile on its own too: a test file that needs
	@# the emulators' helpers but lacks the tag breaks `make test-unit`.
	@$(GO) vet ./...
	@echo "go test -tags integration ./... (about 1-3 min with a warm build cache; the first run builds infra/'s tests too, up to 10 min on 2 cores)"
	$(GO) test -count=1 -timeout 30m -tags integration ./...

# The fast tier: no tag, so the integration files are not even compiled, and infra/
# (every test synthesizes the stack through jsii, i.e. Node.js) is left out so the
# CDK bindings are not built either.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v '/infra$$')
test-unit:
	$(GO) test -count=1 -timeout 5m $(UNIT_PKGS)

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
