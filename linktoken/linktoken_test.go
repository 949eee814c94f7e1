package linktoken

import (
	"errors"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	key := []byte("k1")
	now := time.Unix(1_800_000_000, 0)
	tok := Sign(key, "r-1", now.Add(time.Hour))
	cases := []struct {
		name      string
		key       []byte
		id, token string
		at        time.Time
		want      error
	}{
		{"valid", key, "r-1", tok, now, nil},
		{"missing", key, "r-1", "", now, ErrMissing},
		{"other report", key, "r-2", tok, now, ErrInvalid},
		{"other key", []byte("k2"), "r-1", tok, now, ErrInvalid},
		{"expired", key, "r-1", tok, now.Add(time.Hour), ErrExpired},
		{"garbage", key, "r-1", "abc", now, ErrInvalid},
		{"tampered expiry", key, "r-1", "9" + tok, now, ErrInvalid},
	}
	for _, c := range cases {
		if err := Verify(c.key, c.id, c.token, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}
