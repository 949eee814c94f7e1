package s3files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	billing "github.com/evovoice/billing"
)

// API is the S3 client the transfer manager drives: PutObject for small
// reports, the multipart calls for large ones. *s3.Client satisfies it.
type API interface {
	transfermanager.S3APIClient
}

// Presigner signs GET URLs; *s3.PresignClient satisfies it.
type Presigner interface {
	PresignGetObject(ctx context.Context, in *awss3.GetObjectInput, optFns ...func(*awss3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// ContentType is the media type of every report file.
const ContentType = "text/csv; charset=utf-8"

// minPartSize is S3's smallest part of a multipart upload (but the last).
const minPartSize = 5 << 20

// Options tune Files. Zero values mean the defaults.
type Options struct {
	// PartSize is the size of each uploaded part; memory per upload is about
	// PartSize × (Concurrency+1). Default and minimum 5 MiB.
	PartSize int64
	// Concurrency is the number of parts uploaded at once. Default 2.
	Concurrency int
	// ChecksumWhenRequired computes request checksums only when S3 requires
	// them. The S3 emulators need it: with the default (when supported) the SDK
	// sends aws-chunked bodies with trailing checksums, which they store
	// verbatim. NewFromConfig takes it from the aws.Config.
	ChecksumWhenRequired bool
	// UsePathStyle addresses buckets as http://host/bucket/key (emulators)
	// instead of http://bucket.host/key. Only used by NewFromConfig.
	UsePathStyle bool
}

// Files stores report files in one bucket. It implements billing.ReportFiles.
type Files struct {
	bucket   string
	presign  Presigner
	transfer *transfermanager.Client
	opts     Options
}

var _ billing.ReportFiles = (*Files)(nil)

// New returns Files for bucket using client to upload and presigner to sign.
func New(client API, presigner Presigner, bucket string, optFns ...func(*Options)) *Files {
	var opts Options
	for _, fn := range optFns {
		fn(&opts)
	}
	opts.PartSize = max(opts.PartSize, minPartSize)
	if opts.Concurrency < 1 {
		opts.Concurrency = 2
	}
	checksum := aws.RequestChecksumCalculationWhenSupported
	if opts.ChecksumWhenRequired {
		checksum = aws.RequestChecksumCalculationWhenRequired
	}
	transfer := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = opts.PartSize
		// Anything over one part goes multipart, so memory stays at the parts.
		o.MultipartUploadThreshold = opts.PartSize
		o.Concurrency = opts.Concurrency
		o.RequestChecksumCalculation = checksum
		// Abort a failed multipart upload even when ctx is what failed, so no
		// orphaned parts are left to bill.
		o.FailTimeout = 30 * time.Second
	})
	return &Files{bucket: bucket, presign: presigner, transfer: transfer, opts: opts}
}

// NewFromConfig builds the S3 client and presigner from cfg. Checksums follow
// cfg.RequestChecksumCalculation (AWS_REQUEST_CHECKSUM_CALCULATION).
func NewFromConfig(cfg aws.Config, bucket string, optFns ...func(*Options)) *Files {
	var opts Options
	opts.ChecksumWhenRequired = cfg.RequestChecksumCalculation == aws.RequestChecksumCalculationWhenRequired
	for _, fn := range optFns {
		fn(&opts)
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) { o.UsePathStyle = opts.UsePathStyle })
	return New(client, awss3.NewPresignClient(client), bucket, func(o *Options) { *o = opts })
}

// PutReport streams body to key, replacing any object there, and returns the
// number of bytes stored. An error reading body is returned unchanged, so the
// caller sees its own failure, not an S3 one.
func (f *Files) PutReport(ctx context.Context, key string, body io.Reader, fileName string) (int64, error) {
	counter := &countingReader{r: body}
	_, err := f.transfer.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket:             aws.String(f.bucket),
		Key:                aws.String(key),
		Body:               counter,
		ContentType:        aws.String(ContentType),
		ContentDisposition: aws.String(attachment(fileName)),
	})
	if err != nil {
		if readErr := counter.err(); readErr != nil {
			return 0, fmt.Errorf("reading report %s: %w", key, readErr)
		}
		return 0, translate(err, "uploading report "+key)
	}
	return counter.count(), nil
}

// PresignGet signs a GET of key valid for ttl that downloads as fileName.
func (f *Files) PresignGet(ctx context.Context, key, fileName string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > 7*24*time.Hour {
		return "", billing.Errorf(billing.EINVALID, "A download link lives between 1 second and 7 days, not %s.", ttl)
	}
	req, err := f.presign.PresignGetObject(ctx, &awss3.GetObjectInput{
		Bucket:                     aws.String(f.bucket),
		Key:                        aws.String(key),
		ResponseContentDisposition: aws.String(attachment(fileName)),
		ResponseContentType:        aws.String(ContentType),
	}, awss3.WithPresignExpires(ttl))
	if err != nil {
		return "", translate(err, "signing a link to "+key)
	}
	return req.URL, nil
}

// attachment is a Content-Disposition that saves the file as name; non-ASCII
// names get the RFC 2231 form, and quotes or control characters cannot break
// out of the header.
func attachment(name string) string {
	if name == "" {
		return "attachment"
	}
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}

// countingReader counts the bytes read and remembers the body's own error.
type countingReader struct {
	r    io.Reader
	mu   sync.Mutex
	n    int64
	rerr error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		c.rerr = err
	}
	c.mu.Unlock()
	return n, err
}

func (c *countingReader) count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *countingReader) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rerr
}
