package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	billing "github.com/evovoice/billing"
)

// API is the part of the SQS client Queue uses; *sqs.Client satisfies it.
type API interface {
	SendMessage(ctx context.Context, in *awssqs.SendMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *awssqs.ReceiveMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *awssqs.DeleteMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *awssqs.ChangeMessageVisibilityInput, optFns ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *awssqs.GetQueueAttributesInput, optFns ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error)
}

// Queue is one SQS queue. It implements billing.JobQueue.
type Queue struct {
	client API
	url    string
}

var _ billing.JobQueue = (*Queue)(nil)

// New returns the queue at queueURL (resources.EnvJobsQueueURL).
func New(client API, queueURL string) *Queue {
	return &Queue{client: client, url: queueURL}
}

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// Enqueue sends job and returns the message id.
func (q *Queue) Enqueue(ctx context.Context, job billing.Job) (string, error) {
	if job.ReportID == "" {
		return "", billing.Errorf(billing.EINVALID, "A job needs a report id.")
	}
	body, err := json.Marshal(job)
	if err != nil {
		return "", fmt.Errorf("encoding job: %w", err)
	}
	out, err := q.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))})
	if err != nil {
		return "", translate(err, "sending the job of report "+job.ReportID)
	}
	return aws.ToString(out.MessageId), nil
}

// Message is one received message with the system attributes an SQS event
// carries to Lambda.
type Message struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	MD5OfBody     string
	// Attributes are SQS's system attributes by name (ApproximateReceiveCount,
	// SentTimestamp, ApproximateFirstReceiveTimestamp, SenderId, ...), as the
	// strings Lambda's SQS event has.
	Attributes map[string]string
	// Parsed copies of the attributes the worker and the event source use.
	ReceiveCount    int
	SentAt          time.Time
	FirstReceivedAt time.Time
}

// Receive long-polls for up to maxMessages messages (1 to 10), waiting at
// most wait (up to 20 s) for the first one. An empty result is not an error.
func (q *Queue) Receive(ctx context.Context, maxMessages int, wait time.Duration) ([]Message, error) {
	maxMessages = min(10, max(1, maxMessages))
	waitSeconds := int32(min(20, max(0, int(wait/time.Second))))
	out, err := q.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         int32(maxMessages),
		WaitTimeSeconds:             waitSeconds,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return nil, translate(err, "receiving messages")
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msg := Message{
			MessageID:     aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			MD5OfBody:     aws.ToString(m.MD5OfBody),
			Attributes:    m.Attributes,
		}
		if msg.Attributes == nil {
			msg.Attributes = map[string]string{}
		}
		msg.ReceiveCount, _ = strconv.Atoi(msg.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		msg.SentAt = epochMillis(msg.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)])
		msg.FirstReceivedAt = epochMillis(msg.Attributes[string(types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp)])
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

func epochMillis(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Delete removes a handled message.
func (q *Queue) Delete(ctx context.Context, receiptHandle string) error {
	_, err := q.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receiptHandle)})
	return translate(err, "deleting a message")
}

// ChangeVisibility hides a received message for timeout from now (0 makes it
// visible again at once: a failed message to retry).
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, timeout time.Duration) error {
	_, err := q.client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receiptHandle), VisibilityTimeout: int32(timeout / time.Second),
	})
	return translate(err, "changing the visibility of a message")
}

// Attributes are the queue settings the local event source needs.
type Attributes struct {
	QueueARN          string
	VisibilityTimeout time.Duration
	// DeadLetterTargetARN and MaxReceiveCount come from the redrive policy;
	// empty and 0 when the queue has none.
	DeadLetterTargetARN string
	MaxReceiveCount     int
	// ApproximateMessages counts visible messages; ApproximateInFlight those
	// received and not yet deleted.
	ApproximateMessages, ApproximateInFlight int
}

// Attributes reads the queue's attributes.
func (q *Queue) Attributes(ctx context.Context) (Attributes, error) {
	out, err := q.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q.url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		return Attributes{}, translate(err, "reading the queue's attributes")
	}
	a := Attributes{QueueARN: out.Attributes[string(types.QueueAttributeNameQueueArn)]}
	atoi := func(name types.QueueAttributeName) int {
		n, _ := strconv.Atoi(out.Attributes[string(name)])
		return n
	}
	a.VisibilityTimeout = time.Duration(atoi(types.QueueAttributeNameVisibilityTimeout)) * time.Second
	a.ApproximateMessages = atoi(types.QueueAttributeNameApproximateNumberOfMessages)
	a.ApproximateInFlight = atoi(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	if rp := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]; rp != "" {
		// maxReceiveCount is a string on AWS and a number in some emulators.
		var policy struct {
			DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
			MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(rp), &policy); err != nil {
			return Attributes{}, fmt.Errorf("decoding the redrive policy %q: %w", rp, err)
		}
		a.DeadLetterTargetARN = policy.DeadLetterTargetArn
		var n string
		if json.Unmarshal(policy.MaxReceiveCount, &n) != nil {
			n = string(policy.MaxReceiveCount)
		}
		a.MaxReceiveCount, _ = strconv.Atoi(n)
	}
	return a, nil
}

// unavailableCodes are SQS errors that pass or need a fixed deployment, not
// a changed request.
var unavailableCodes = map[string]bool{
	"AWS.SimpleQueueService.NonExistentQueue": true, "QueueDoesNotExist": true,
	"RequestThrottled": true, "ThrottlingException": true, "ServiceUnavailable": true,
	"InternalFailure": true, "InternalError": true, "KmsThrottled": true,
}

// translate turns an SDK error from doing into the domain's error codes. It is
// the one place that knows SQS's error types.
func translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	cause := fmt.Errorf("%s: %w", doing, err)
	var apiErr smithy.APIError
	var respErr interface{ HTTPStatusCode() int }
	var receipt *types.ReceiptHandleIsInvalid
	switch {
	case errors.Is(err, context.Canceled):
		return cause
	case errors.As(err, &receipt):
		// The message was deleted or its handle expired: the work is someone
		// else's now.
		return billing.WrapError(billing.ECONFLICT, cause, "The message is no longer held by this receiver.")
	case errors.As(err, &apiErr) && unavailableCodes[apiErr.ErrorCode()],
		errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500:
		return billing.WrapError(billing.EUNAVAILABLE, cause, "The job queue is unavailable; try again later.")
	case errors.As(err, &apiErr):
		return billing.PermanentError(cause)
	default:
		return billing.WrapError(billing.EUNAVAILABLE, cause, "The job queue is unavailable; try again later.")
	}
}
