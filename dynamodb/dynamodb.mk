# Usage write/read throughput against the dynalite emulator (a floor for DynamoDB).
BENCH_TARGETS += bench-dynamodb
.PHONY: bench-dynamodb
bench-dynamodb:
	$(GO) test -run '^$$' -bench Usage -benchtime 2x -benchmem ./dynamodb
