# Usage write/read throughput against the dynalite emulator (a floor for DynamoDB),
# and the client-side CPU and stored bytes per usage event: a canned 1,000-event
# Query page through the real SDK client, on one core as the worker function has
# (again with GOGC=400: the worker's heap is small, and GC is a fifth of that CPU).
BENCH_TARGETS += bench-dynamodb
.PHONY: bench-dynamodb
bench-dynamodb:
	$(GO) test -tags integration -run '^$$' -bench 'Usage$$' -benchtime 2x -benchmem ./ddbstore
	$(GO) test -run '^$$' -bench UsageDecode -benchtime 2000x -count 3 -cpu 1 -benchmem ./ddbstore
	GOGC=400 $(GO) test -run '^$$' -bench UsageDecode -benchtime 2000x -count 3 -cpu 1 ./ddbstore
