//go:build integration

package s3files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/emulators"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack, emulators.S3) }

// countingAPI is the real client with UploadPart calls counted, to prove the
// upload really went multipart.
type countingAPI struct {
	*awss3.Client
	parts atomic.Int64
}

func (c *countingAPI) UploadPart(ctx context.Context, in *awss3.UploadPartInput, optFns ...func(*awss3.Options)) (*awss3.UploadPartOutput, error) {
	c.parts.Add(1)
	return c.Client.UploadPart(ctx, in, optFns...)
}

func download(t *testing.T, key string) (*awss3.GetObjectOutput, []byte) {
	t.Helper()
	out, err := awss3.NewFromConfig(stack.AWS).GetObject(context.Background(), &awss3.GetObjectInput{
		Bucket: aws.String(stack.Names.ReportsBucket), Key: aws.String(key),
	})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("reading the object: %v", err)
	}
	return out, b
}

func TestPutReportStreams50MBInParts(t *testing.T) {
	const size = 50 << 20
	api := &countingAPI{Client: awss3.NewFromConfig(stack.AWS)}
	files := New(api, awss3.NewPresignClient(api.Client), stack.Names.ReportsBucket, func(o *Options) { o.ChecksumWhenRequired = true })
	key := "reports/acct/big.csv"

	n, err := files.PutReport(context.Background(), key, randomStream(1, size), "big.csv")
	if err != nil {
		t.Fatalf("PutReport: %v", err)
	}
	if n != size {
		t.Fatalf("PutReport stored %d bytes, want %d", n, size)
	}
	if parts := api.parts.Load(); parts != (size+minPartSize-1)/minPartSize {
		t.Errorf("%d parts uploaded, want %d of 5 MiB", parts, (size+minPartSize-1)/minPartSize)
	}
	out, got := download(t, key)
	want := sha256.New()
	_, _ = io.Copy(want, randomStream(1, size))
	if len(got) != size || !bytes.Equal(sha256Sum(got), want.Sum(nil)) {
		t.Fatalf("downloaded %d bytes that differ from the %d uploaded", len(got), size)
	}
	if ct := aws.ToString(out.ContentType); ct != ContentType {
		t.Errorf("Content-Type = %q, want %q", ct, ContentType)
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func TestPutReportOverwritesOnRetry(t *testing.T) {
	files := NewFromConfig(stack.AWS, stack.Names.ReportsBucket)
	ctx, key := context.Background(), "reports/acct/retry.csv"
	for _, body := range []string{"first attempt,with more bytes\r\n", "Customer,Total\r\nTotal,0.00\r\n"} {
		if _, err := files.PutReport(ctx, key, strings.NewReader(body), "r.csv"); err != nil {
			t.Fatalf("PutReport: %v", err)
		}
	}
	out, got := download(t, key)
	if string(got) != "Customer,Total\r\nTotal,0.00\r\n" {
		t.Fatalf("object = %q, want the second upload only", got)
	}
	if cd := aws.ToString(out.ContentDisposition); cd != `attachment; filename=r.csv` {
		t.Errorf("stored Content-Disposition = %q", cd)
	}
}

func TestPresignedURLWorksWithPlainHTTP(t *testing.T) {
	files := NewFromConfig(stack.AWS, stack.Names.ReportsBucket)
	ctx, key := context.Background(), "reports/acct/link.csv"
	body := "Customer,Total\r\n\"Acme, Inc\",12.50\r\nTotal,12.50\r\n"
	if _, err := files.PutReport(ctx, key, strings.NewReader(body), "ignored.csv"); err != nil {
		t.Fatalf("PutReport: %v", err)
	}
	name := `billing-report-2026-10-01-to-2026-10-31 "Ünïcode".csv`
	link, err := files.PresignGet(ctx, key, name, 15*time.Minute)
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	if !strings.Contains(link, "X-Amz-Signature=") || !strings.Contains(link, "X-Amz-Expires=900") {
		t.Fatalf("link %q is not a presigned URL valid for 15 minutes", link)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatalf("GET presigned URL: %v", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(got) != body {
		t.Fatalf("GET = %s %q, want 200 and the report", resp.Status, got)
	}
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || params["filename"] != name {
		t.Fatalf("Content-Disposition %q names %q (%v), want %q", resp.Header.Get("Content-Disposition"), params["filename"], err, name)
	}

	_, err = files.PresignGet(ctx, key, name, 0)
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("zero lifetime: %v, want EINVALID", err)
	}
}

func TestPutReportReturnsTheBodysOwnError(t *testing.T) {
	files := NewFromConfig(stack.AWS, stack.Names.ReportsBucket)
	boom := billing.Errorf(billing.ENOTFOUND, "Account 'x' not found.")
	// Fails after more than one part, mid multipart upload.
	body := io.MultiReader(randomStream(2, 6<<20), &failingReader{err: boom})
	_, err := files.PutReport(context.Background(), "reports/acct/broken.csv", body, "b.csv")
	if !errors.Is(err, boom) || billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("PutReport = %v, want the body's own error", err)
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestS3DownIsUnavailable(t *testing.T) {
	down := New(awss3.NewFromConfig(stack.AWS, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	}), nil, stack.Names.ReportsBucket)
	_, err := down.PutReport(context.Background(), "k", strings.NewReader("x"), "x.csv")
	if billing.ErrorCode(err) != billing.EUNAVAILABLE {
		t.Fatalf("PutReport with S3 down = %v, want EUNAVAILABLE", err)
	}
	missing := NewFromConfig(stack.AWS, "no-such-bucket")
	_, err = missing.PutReport(context.Background(), "k", strings.NewReader("x"), "x.csv")
	if billing.ErrorCode(err) != billing.EUNAVAILABLE {
		t.Fatalf("PutReport to a missing bucket = %v, want EUNAVAILABLE", err)
	}
}
