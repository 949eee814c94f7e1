package s3files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	billing "github.com/evovoice/billing"
)

// PartialsAPI is what Partials calls; *s3.Client satisfies it. The run
// function's role grants exactly these on the partials prefix.
type PartialsAPI interface {
	PutObject(ctx context.Context, in *awss3.PutObjectInput, optFns ...func(*awss3.Options)) (*awss3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *awss3.GetObjectInput, optFns ...func(*awss3.Options)) (*awss3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *awss3.DeleteObjectInput, optFns ...func(*awss3.Options)) (*awss3.DeleteObjectOutput, error)
}

// Partials stores the small exact partials of sharded reports (kilobytes:
// customers × items × months, not events), each in one PutObject that
// replaces the object, so a retried shard overwrites its own.
type Partials struct {
	client PartialsAPI
	bucket string
}

// NewPartials returns Partials in bucket.
func NewPartials(client PartialsAPI, bucket string) *Partials {
	return &Partials{client: client, bucket: bucket}
}

// NewPartialsFromConfig builds the client from cfg, as NewFromConfig does
// (of Options, only UsePathStyle applies).
func NewPartialsFromConfig(cfg aws.Config, bucket string, optFns ...func(*Options)) *Partials {
	var opts Options
	for _, fn := range optFns {
		fn(&opts)
	}
	return NewPartials(awss3.NewFromConfig(cfg, func(o *awss3.Options) { o.UsePathStyle = opts.UsePathStyle }), bucket)
}

// PutPartial stores data at key, replacing what is there.
func (p *Partials) PutPartial(ctx context.Context, key string, data []byte) error {
	_, err := p.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String(p.bucket), Key: aws.String(key), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String("text/plain; charset=utf-8"),
	})
	if err != nil {
		return translate(err, "storing partial "+key)
	}
	return nil
}

// GetPartial reads the partial at key; ENOTFOUND when there is none.
func (p *Partials) GetPartial(ctx context.Context, key string) ([]byte, error) {
	out, err := p.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(key)})
	var missing *types.NoSuchKey
	if errors.As(err, &missing) {
		return nil, billing.WrapError(billing.ENOTFOUND, err, "The partial %s does not exist.", key)
	} else if err != nil {
		return nil, translate(err, "reading partial "+key)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, billing.WrapError(billing.EUNAVAILABLE, fmt.Errorf("reading partial %s: %w", key, err), "Report storage is unavailable; try again later.")
	}
	return data, nil
}

// DeletePartial removes the partial at key (none there is no error).
func (p *Partials) DeletePartial(ctx context.Context, key string) error {
	if _, err := p.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(key)}); err != nil {
		return translate(err, "deleting partial "+key)
	}
	return nil
}
