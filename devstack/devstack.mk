# Local stack (devstack/): import figures. `make bench-import` writes the same
# seeded items into fresh dynalite tables through `reportctl import`'s code path
# and as raw BatchWriteItem requests, and reports both rates and their ratio
# (import/raw, target >= 0.8).
BENCH_TARGETS += bench-import

.PHONY: bench-import
bench-import: tools
	$(GO) test -tags integration -run '^$$' -bench '^BenchmarkImport$$' -benchtime 4x -count 1 ./devstack/local/
