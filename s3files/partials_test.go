//go:build integration

package s3files

import (
	"context"
	"testing"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

func TestPartialsOverwriteReadAndDelete(t *testing.T) {
	p := NewPartials(awss3.NewFromConfig(stack.AWS), stack.Names.ReportsBucket)
	ctx := context.Background()
	key := resources.PartialObjectKey("r-partials", "2026-10-01_2026-10-07")
	if _, err := p.GetPartial(ctx, key); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("missing partial: %v, want ENOTFOUND", err)
	}
	for _, body := range []string{"billing-partial v1\nfirst\n", "billing-partial v1\nretry\n"} {
		if err := p.PutPartial(ctx, key, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := p.GetPartial(ctx, key)
	if err != nil || string(got) != "billing-partial v1\nretry\n" {
		t.Fatalf("GetPartial = %q, %v; want the retry's bytes", got, err)
	}
	if err := p.DeletePartial(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := p.GetPartial(ctx, key); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("deleted partial: %v, want ENOTFOUND", err)
	}
	if err := p.DeletePartial(ctx, key); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
}
