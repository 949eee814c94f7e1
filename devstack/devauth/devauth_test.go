package devauth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

func newTestKey(t *testing.T) *Key {
	t.Helper()
	k, err := LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyIsCreatedOnceWithPrivateMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", ".local")
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", info.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Public().Equal(k2.Public()) {
		t.Error("second load made a different key; tokens of the first would stop validating")
	}
}

func TestKeyReadableByOthersIsRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateKey(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("err = %v, want a refusal that says how to fix the mode", err)
	}
}

func TestMintedTokenValidatesWithAPIGatewayClaimShapes(t *testing.T) {
	k := newTestKey(t)
	tok, err := k.Mint(Claims{
		Subject: "dev-manager", Roles: []string{"Manager", "Customer"},
		AccountIDs: []string{"acct-acme", "acct-beta"}, CustomerID: "c-1", TTL: time.Hour,
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	claims, scopes, err := NewValidator(k.Public(), Issuer, Audience).Validate(tok, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"sub":               "dev-manager",
		"iss":               Issuer,
		"aud":               Audience,
		"iat":               "1795676400",
		"exp":               "1795680000",
		"token_use":         "id",
		"cognito:groups":    "[Manager Customer]",
		"custom:accountIds": "acct-acme,acct-beta",
		"custom:customerId": "c-1",
	}
	if len(claims) != len(want) {
		t.Errorf("claims = %v, want %v", claims, want)
	}
	for name, v := range want {
		if claims[name] != v {
			t.Errorf("claim %s = %q, want %q", name, claims[name], v)
		}
	}
	if scopes != nil {
		t.Errorf("scopes = %v, want none for an id token", scopes)
	}
}

func TestValidateRejects(t *testing.T) {
	k := newTestKey(t)
	other := newTestKey(t)
	good := Claims{Subject: "s", Roles: []string{"Manager"}, AccountIDs: []string{"a"}, TTL: time.Hour}
	mint := func(k *Key, c Claims) string {
		tok, err := k.Mint(c, t0)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	signRaw := func(claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(k.private)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	hmacTok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "s", "iss": Issuer, "aud": Audience, "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
	}).SignedString([]byte("guess"))
	valid := mint(k, good)
	tampered := valid[:len(valid)-4] + "AAAA"
	if tampered == valid {
		t.Fatal("tampering did not change the token")
	}

	cases := map[string]struct {
		token string
		at    time.Time
		v     *Validator
	}{
		"bad signature":       {mint(other, good), t0, NewValidator(k.Public(), Issuer, Audience)},
		"tampered signature":  {tampered, t0, NewValidator(k.Public(), Issuer, Audience)},
		"expired":             {valid, t0.Add(time.Hour + time.Second), NewValidator(k.Public(), Issuer, Audience)},
		"issued in future":    {valid, t0.Add(-time.Minute), NewValidator(k.Public(), Issuer, Audience)},
		"wrong issuer":        {valid, t0, NewValidator(k.Public(), "https://cognito-idp.us-east-1.amazonaws.com/pool", Audience)},
		"wrong audience":      {valid, t0, NewValidator(k.Public(), Issuer, "another-client")},
		"no expiry":           {signRaw(jwt.MapClaims{"sub": "s", "iss": Issuer, "aud": Audience}), t0, NewValidator(k.Public(), Issuer, Audience)},
		"hmac algorithm":      {hmacTok, t0, NewValidator(k.Public(), Issuer, Audience)},
		"garbage":             {"not.a.token", t0, NewValidator(k.Public(), Issuer, Audience)},
		"empty":               {"", t0, NewValidator(k.Public(), Issuer, Audience)},
		"no aud nor clientid": {signRaw(jwt.MapClaims{"sub": "s", "iss": Issuer, "exp": t0.Add(time.Hour).Unix()}), t0, NewValidator(k.Public(), Issuer, Audience)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			claims, _, err := c.v.Validate(c.token, c.at)
			if !errors.Is(err, ErrUnauthorized) {
				t.Errorf("err = %v, want ErrUnauthorized", err)
			}
			if claims != nil {
				t.Errorf("claims = %v, want none", claims)
			}
		})
	}
}

func TestAccessTokenWithClientIDAndScopes(t *testing.T) {
	k := newTestKey(t)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"sub": "s", "iss": Issuer, "client_id": Audience, "exp": t0.Add(time.Hour).Unix(),
		"scope": "reports/read reports/write", "token_use": "access", "cognito:groups": []string{"SystemAdministrator"},
	}).SignedString(k.private)
	if err != nil {
		t.Fatal(err)
	}
	claims, scopes, err := NewValidator(k.Public(), Issuer, Audience).Validate(tok, t0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(scopes, ",") != "reports/read,reports/write" {
		t.Errorf("scopes = %v", scopes)
	}
	if claims["cognito:groups"] != "[SystemAdministrator]" || claims["client_id"] != Audience {
		t.Errorf("claims = %v", claims)
	}
}

func TestMintRefusesBadClaims(t *testing.T) {
	k := newTestKey(t)
	for name, c := range map[string]Claims{
		"no subject":         {Roles: []string{"Manager"}, TTL: time.Hour},
		"no role":            {Subject: "s", TTL: time.Hour},
		"too long":           {Subject: "s", Roles: []string{"Manager"}, TTL: MaxTTL + time.Second},
		"no lifetime":        {Subject: "s", Roles: []string{"Manager"}},
		"comma in account":   {Subject: "s", Roles: []string{"Manager"}, AccountIDs: []string{"a,b"}, TTL: time.Hour},
		"empty account name": {Subject: "s", Roles: []string{"Manager"}, AccountIDs: []string{""}, TTL: time.Hour},
	} {
		if _, err := k.Mint(c, t0); err == nil {
			t.Errorf("%s: minted a token", name)
		}
	}
}

func TestCorruptKeyFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Error("a corrupt key file was accepted")
	}
}
