# Memory of a streamed report upload: peak live heap stays at a few 5 MiB parts
# for 50 and 200 MB reports (see s3/bench_test.go).
BENCH_TARGETS += bench-s3
.PHONY: bench-s3
bench-s3:
	$(GO) test -run '^$$' -bench PutReport -benchtime 3x -benchmem ./s3files
