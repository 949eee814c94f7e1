// Package lambdaedge is the one place where API Gateway and Lambda meet the
// plain net/http handlers of package httpapi: it turns the JWT authorizer's
// claims into a billing.Caller (strictly, spec 2.6), puts it and the request
// id into the request's context (Authenticate), and adapts a handler to API
// Gateway v2 events through aws-lambda-go-api-proxy (HTTPHandler). The
// submit and status functions and the local stack's gateway install it, so
// httpapi imports nothing of Lambda and its tests need no API Gateway event.
//
// It is also the run function's edge (lambdaedge.go): SQS batches become
// plain worker.Delivery values and the retry list becomes batch item
// failures (Deliveries, Response, HandleSQS), and Handler tells an SQS event
// from the sweep schedule's input, so package worker imports nothing of
// aws-lambda-go either.
package lambdaedge
