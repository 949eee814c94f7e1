# Rating engine and report CSV writer (rating/, reportcsv/).
# bench-rating: per-event cost and allocations of Rater.Add, a 1,000,000-event
# rating, and Result+Write for 10,000 customers.
# fuzz-rating: a short coverage-guided run of every fuzz target (seeds are in
# testdata/fuzz and also run in plain `go test`).
BENCH_TARGETS += bench-rating
.PHONY: bench-rating fuzz-rating

bench-rating:
	$(GO) test -run '^$$' -bench . -benchmem ./rating/ ./reportcsv/

FUZZTIME ?= 30s
fuzz-rating:
	$(GO) test -run '^$$' -fuzz '^FuzzRater$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./rating/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFixed$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./rating/
	$(GO) test -run '^$$' -fuzz '^FuzzAppendTextCell$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./reportcsv/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePartial$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./rating/
