# CDK app of infra/: synth, diff, deploy, destroy, and the build+test time of infra/.
# Settings are CDK context (infra/cdk.json); override per call, e.g.
#   make deploy STAGE=prod CDK_ARGS='-c senderAddress=reports@acme.example -c alarmEmail=ops@acme.example'
CDK := $(abspath $(NODE_BIN))/cdk
STAGE ?=
CDK_ARGS ?=
# Telemetry and the npm version check are off; telemetry also in cdk.json.
CDK_RUN = cd infra && CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true $(CDK)
CDK_CONTEXT = $(if $(STAGE),-c stage=$(STAGE))

.PHONY: synth diff deploy destroy infra-times infra-times-cold

# Builds the three Lambda binaries and writes the cloud assembly to cdk.out/;
# fails on any unsuppressed cdk-nag finding.
synth: build tools
	$(CDK_RUN) synth --quiet $(CDK_CONTEXT) $(CDK_ARGS)
	@echo "template: cdk.out/BillingReports-$(or $(STAGE),dev).template.json"

diff: build tools
	$(CDK_RUN) diff $(CDK_CONTEXT) $(CDK_ARGS)

# Asks before widening IAM permissions or security groups (CDK's default).
deploy: build tools
	$(CDK_RUN) deploy --require-approval broadening --outputs-file ../cdk.out/outputs-$(or $(STAGE),dev).json $(CDK_CONTEXT) $(CDK_ARGS)

# Tables, user pool, buckets and secrets are retained (see infra/README.md).
destroy: tools
	$(CDK_RUN) destroy $(CDK_CONTEXT) $(CDK_ARGS)

# Build and test time of infra/, the slowest package: with the current build
# cache, and with an empty one (what CI pays on a fresh machine).
INFRA_TIME = TIMEFORMAT='%R s wall, %U s user, %S s sys'; \
	echo "build infra/:"; time $(GO) build -o /dev/null ./infra/ && \
	echo "test infra/ (-count=1):"; time $(GO) test -count=1 ./infra/ >/dev/null
infra-times:
	@$(INFRA_TIME)
infra-times-cold:
	@cache=$$(mktemp -d); trap 'rm -rf $$cache' EXIT; export GOCACHE=$$cache; $(INFRA_TIME)
