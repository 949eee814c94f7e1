package s3files

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkPutReport streams bodies of unknown length (50 and 200 MB) through
// the transfer manager to an S3 API that discards what it receives (the
// in-process emulator would keep the object in this heap and hide the
// client's figure). "peak-heap-MB" is the largest growth of live heap during
// an upload: it stays at a few parts whatever the report's size.
func BenchmarkPutReport(b *testing.B) {
	for _, mb := range []int64{50, 200} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) { benchmarkPutReport(b, mb<<20) })
	}
}

func benchmarkPutReport(b *testing.B, size int64) {
	files := New(&discardAPI{}, nil, "bucket", func(o *Options) { o.ChecksumWhenRequired = true })
	b.SetBytes(size)
	var peak int64
	for i := 0; b.Loop(); i++ {
		runtime.GC()
		stop := sampleHeap(&peak)
		n, err := files.PutReport(context.Background(), "bench/big.csv", randomStream(uint64(i), size), "big.csv")
		stop()
		if err != nil || n != size {
			b.Fatalf("PutReport = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// sampleHeap records into peak the largest rise of live heap objects above
// the level when it was called, until the returned stop is called.
func sampleHeap(peak *int64) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 { metrics.Read(sample); return int64(sample[0].Value.Uint64()) }
	base := read()
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			if d := read() - base; d > *peak {
				*peak = d
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return func() { done.Store(true); wg.Wait() }
}

// discardAPI accepts uploads and throws the bytes away; the calls an upload
// never makes are left to the nil embedded API.
type discardAPI struct{ API }

func (discardAPI) PutObject(_ context.Context, in *awss3.PutObjectInput, _ ...func(*awss3.Options)) (*awss3.PutObjectOutput, error) {
	_, err := io.Copy(io.Discard, in.Body)
	return &awss3.PutObjectOutput{}, err
}

func (discardAPI) CreateMultipartUpload(context.Context, *awss3.CreateMultipartUploadInput, ...func(*awss3.Options)) (*awss3.CreateMultipartUploadOutput, error) {
	return &awss3.CreateMultipartUploadOutput{UploadId: aws.String("u")}, nil
}

func (discardAPI) UploadPart(_ context.Context, in *awss3.UploadPartInput, _ ...func(*awss3.Options)) (*awss3.UploadPartOutput, error) {
	_, err := io.Copy(io.Discard, in.Body)
	return &awss3.UploadPartOutput{ETag: aws.String(`"etag"`)}, err
}

func (discardAPI) CompleteMultipartUpload(context.Context, *awss3.CompleteMultipartUploadInput, ...func(*awss3.Options)) (*awss3.CompleteMultipartUploadOutput, error) {
	return &awss3.CompleteMultipartUploadOutput{}, nil
}

func (discardAPI) AbortMultipartUpload(context.Context, *awss3.AbortMultipartUploadInput, ...func(*awss3.Options)) (*awss3.AbortMultipartUploadOutput, error) {
	return &awss3.AbortMultipartUploadOutput{}, nil
}
