# Offline report figures (importfile + rating + reportcsv through `reportctl report`):
# events/s end to end vs. decoding only, their ratio, and peak RSS, for 1M and 4M
# seeded usage events (generated once into build/bench-data), plus the speed of
# the decoder and of the seed generator on their own.
BENCH_TARGETS += bench-report
.PHONY: bench-report

bench-report:
	@mkdir -p build
	$(GO) test -run '^$$' -bench '^BenchmarkReport$$' -benchtime 3x -timeout 60m ./cmd/reportctl | tee build/bench-report.txt
	$(GO) test -run '^$$' -bench . -benchmem ./importfile ./seed | tee -a build/bench-report.txt
	@awk '/^BenchmarkReport\// { \
	    for (i = 3; i < NF; i++) m[$$(i+1)] = $$i; \
	    split($$1, name, "="); sub(/-[0-9]+$$/, "", name[2]); \
	    printf "reportctl report, %s events: %d events/s end to end (target >= 300000); decode only %d events/s; ratio %.2f (target <= 1.5); peak RSS %.1f MB (target < 100, flat)\n", \
	      name[2], m["report-events/s"], m["parse-events/s"], m["ratio"], m["peak-RSS-MB"] }' build/bench-report.txt
