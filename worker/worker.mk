# Worker figures (spec 4; issue 5 item 6). bench-worker prints:
#  - BenchmarkDayReads: 31 days x 4 pages from a store adding 10 ms per page,
#    sequential vs 8 concurrent days (target >= 4x);
#  - BenchmarkWorkerPeakRSS: peak RSS of a child process running a whole report
#    over 1M and 4M streamed events (target < 128 MB, flat);
#  - BenchmarkGenerate1M: the worker's own throughput without store latency;
#  - BenchmarkScaleOut: one 366-day report as 1, 8 and 64 concurrent shards
#    against a store adding 10 ms per page (measured), and the model of 10M,
#    100M and 1B events from its CPU per event (modelled; issue 11 item 8);
#  - BenchmarkDynaliteGeneration: a 1M-event report against dynalite next to a
#    plain paginated Query of the same items (target <= 1.2x). The dataset is
#    loaded once (about 5 minutes) and cached in build/bench-worker/.
BENCH_TARGETS += bench-worker
.PHONY: bench-worker
bench-worker:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./worker
	$(GO) test -tags integration -count=1 -run '^$$' -bench Dynalite -benchtime 3x -timeout 60m ./worker/e2e
