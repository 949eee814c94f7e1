// Package emulators runs the local stand-ins for the service's AWS dependencies
// as real processes on 127.0.0.1: DynamoDB (npm dynalite), SQS (npm fauxqs),
// SES v2 (npm aws-ses-v2-local) and S3 (github.com/johannesboyne/gofakes3,
// in-process). Every integration test of every package and `reportctl dev`
// start their stack through here, so that tests and a running local stack use
// the same emulators, the same provisioning (resources.For names, GSIs, the DLQ
// redrive policy) and the same SDK settings the functions use on AWS, only with
// other endpoints.
//
// Ports default to random free ones so that concurrent test packages and a
// running `make run` never collide. Children run in their own process group,
// are killed as a group by Close, and also exit on their own when the parent
// dies (Pdeathsig on Linux, and the launcher exits when its stdin closes).
package emulators
