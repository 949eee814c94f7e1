# demo-offline: seed demo data, then rate an offline report from it (no AWS, no
# emulators). Until the local stack is up, `make run` can use this.
DEMO_DIR ?= build/demo
.PHONY: demo-offline

demo-offline:
	@mkdir -p $(DEMO_DIR)
	$(GO) build -o $(DEMO_DIR)/reportctl ./cmd/reportctl
	$(DEMO_DIR)/reportctl seed --accounts 3 --customers 40 --events 100000 --seed 1 -o $(DEMO_DIR)/demo.jsonl
	$(DEMO_DIR)/reportctl report --data $(DEMO_DIR)/demo.jsonl --account acct-001 --start 2026-10-01 --end 2026-10-31 --ids -o $(DEMO_DIR)/acct-001-2026-10.csv
	@echo "Demo data:  $(DEMO_DIR)/demo.jsonl (3 accounts, 40 customers, 100000 usage events)"
	@echo "Report CSV: $(DEMO_DIR)/acct-001-2026-10.csv (acct-001, October 2026, America/New_York days)"
