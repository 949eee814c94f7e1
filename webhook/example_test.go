package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/evovoice/billing/webhook"
)

// A receiver checks the signature over the raw body before parsing it.
func ExampleVerify() {
	key := []byte("the webhook key shared out of band")
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(key, r.Header.Get(webhook.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Println("verified", string(body))
	})

	body := `{"report":{"id":"r-1","status":"Completed"},"rows":[]}`
	req := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(key, time.Now(), []byte(body)))
	receiver.ServeHTTP(httptest.NewRecorder(), req)

	forged := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
	forged.Header.Set(webhook.SignatureHeader, webhook.Sign([]byte("another key"), time.Now(), []byte(body)))
	rec := httptest.NewRecorder()
	receiver.ServeHTTP(rec, forged)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// verified {"report":{"id":"r-1","status":"Completed"},"rows":[]}
	// 401 webhook: signature does not match the body
}
