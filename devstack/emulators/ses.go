package emulators

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// SentEmail is a message as the SES emulator stored it.
type SentEmail struct {
	MessageID   string   `json:"messageId"`
	From        string   `json:"from"`
	ReplyTo     []string `json:"replyTo"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
	At int64 `json:"at"` // epoch seconds
}

// SentEmails returns every message the SES emulator received, oldest first,
// from its store API (GET /store; the same data its web page shows).
func (s *Stack) SentEmails(ctx context.Context) ([]SentEmail, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.SESURL+"/store", nil)
	if err != nil {
		return nil, fmt.Errorf("reading the SES emulator's store: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the SES emulator's store: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the SES emulator's store: %s", resp.Status)
	}
	var store struct {
		Emails []SentEmail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("decoding the SES emulator's store: %w", err)
	}
	return store.Emails, nil
}
