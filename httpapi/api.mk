# HTTP API figures (httpapi/README.md, "Figures"): submit latency in-process
# with fakes and against the local stack, the Lambda binaries' size and their
# cold start under the AWS Lambda Runtime Interface Emulator.
BENCH_TARGETS += bench-api
.PHONY: bench-api fuzz-api

bench-api:
	$(GO) test -run '^$$' -bench . -benchtime 5000x ./lambdaedge
	$(GO) test -tags integration -run '^$$' -bench . -benchtime 300x ./httpapi/wiring
	$(GO) test -run '^$$' -bench . -benchtime 10x ./httpapi/lambdabench

# Longer fuzzing than `make test` (which replays the seed corpus only).
FUZZTIME ?= 60s
fuzz-api:
	$(GO) test -run '^$$' -fuzz FuzzSubmit -fuzztime $(FUZZTIME) ./httpapi
	$(GO) test -run '^$$' -fuzz FuzzStatus -fuzztime $(FUZZTIME) ./httpapi
