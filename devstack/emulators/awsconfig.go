package emulators

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region the local stack pretends to be in.
const Region = "us-east-1"

// Dummy credentials: the emulators accept any signature, but the SDK refuses to
// sign without some.
const (
	accessKeyID     = "local"
	secretAccessKey = "local"
)

// serviceEndpoints is an SDK config source that gives each service its own
// base endpoint, the in-process equivalent of AWS_ENDPOINT_URL_<SERVICE>, so a
// Stack's aws.Config never depends on (or changes) the process environment.
type serviceEndpoints map[string]string

// GetServiceBaseEndpoint is looked up by every SDK client as it is built.
func (e serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	url, ok := e[endpointEnvSuffix(sdkID)]
	return url, ok, nil
}

// endpointEnvSuffix turns an SDK service id ("DynamoDB", "SESv2") into the
// suffix of its AWS_ENDPOINT_URL_ variable ("DYNAMODB", "SESV2").
func endpointEnvSuffix(sdkID string) string {
	return strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_"))
}

// LocalConfig is an aws.Config for emulators at the given endpoints, keyed by
// AWS_ENDPOINT_URL_ suffix ("DYNAMODB", "SQS", "S3", "SESV2"). Checksums are
// only computed when an operation requires them: the S3 emulators otherwise
// store aws-chunked bodies verbatim.
func LocalConfig(endpoints map[string]string) aws.Config {
	cfg := aws.NewConfig()
	cfg.Region = Region
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""))
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	eps := serviceEndpoints{}
	for k, v := range endpoints {
		eps[k] = v
	}
	cfg.ConfigSources = []any{eps}
	return *cfg
}
