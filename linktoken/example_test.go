package linktoken_test

import (
	"fmt"
	"time"

	"github.com/evovoice/billing/linktoken"
)

// The worker signs the emailed link; the status function verifies it on
// GET /reports/{id}/download?token=..., with no JWT.
func Example() {
	key := []byte("a signing key of at least 32 bytes!")
	now := time.Date(2026, time.November, 26, 9, 0, 0, 0, time.UTC)
	token := linktoken.Sign(key, "r-123", now.Add(7*24*time.Hour))

	fmt.Println(linktoken.Verify(key, "r-123", token, now))
	fmt.Println(linktoken.Verify(key, "r-456", token, now))
	fmt.Println(linktoken.Verify(key, "r-123", token, now.Add(8*24*time.Hour)))
	// Output:
	// <nil>
	// the download link's token is not valid for this report
	// the download link has expired; ask for a new one with GET /reports/{id}
}
