// Package devauth is the local stack's stand-in for Cognito and the HTTP API's
// JWT authorizer: it keeps a development signing key in the local data folder,
// mints bearer tokens with the claims of spec 2.6, and validates them the way
// the authorizer does (signature, issuer, audience, expiry), handing the
// function the claims as API Gateway does: a map of strings in which array
// claims read "[Manager Customer]".
//
// Tokens are signed with ES256 by a key that exists only in the local data
// folder and carry the fixed local issuer, so no token minted here is accepted by
// a deployed stack, whose authorizer trusts only the Cognito user pool's keys
// and issuer.
package devauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/evovoice/billing/lambdaedge"
)

// The local stack's issuer and audience. The issuer deliberately uses a
// reserved, unresolvable domain so that it can never be mistaken for, or
// configured as, a real identity provider.
const (
	Issuer   = "https://auth.billing-reports.local.invalid/dev"
	Audience = "billing-reports-local"
)

// KeyFile is the name of the signing key inside the data folder.
const KeyFile = "dev-jwt-key.pem"

// MaxTTL bounds minted tokens: a development token that lives longer than a
// working day is more likely to leak than to help.
const MaxTTL = 24 * time.Hour

// Key is the local development signing key.
type Key struct {
	private *ecdsa.PrivateKey
	id      string
}

// LoadOrCreateKey returns the key in dataDir, creating the folder and the key
// (mode 0600) on first use. Two processes racing to create it end up with the
// same key: the file is created exclusively and the loser reads the winner's.
func LoadOrCreateKey(dataDir string) (*Key, error) {
	path := filepath.Join(dataDir, KeyFile)
	if k, err := loadKey(path); err == nil {
		return k, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the local data folder: %w", err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the dev signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding the dev signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("creating the dev signing key file: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("writing the dev signing key: %w", werr)
	}
	return newKey(priv), nil
}

func loadKey(path string) (*Key, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the dev signing key %s is readable by others (mode %v); chmod 600 it", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the dev signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("the dev signing key %s is not PEM; delete it to make a new one", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the dev signing key %s: %w", path, err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("the dev signing key %s is not a P-256 key; delete it to make a new one", path)
	}
	return newKey(priv), nil
}

func newKey(priv *ecdsa.PrivateKey) *Key {
	pub, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	sum := sha256.Sum256(pub)
	return &Key{private: priv, id: base64.RawURLEncoding.EncodeToString(sum[:8])}
}

// Public is the verification key.
func (k *Key) Public() *ecdsa.PublicKey { return &k.private.PublicKey }

// Claims are what a minted token says about its holder (spec 2.6).
type Claims struct {
	Subject    string
	Roles      []string // cognito:groups
	AccountIDs []string // custom:accountIds, joined with commas
	CustomerID string   // custom:customerId
	TTL        time.Duration
}

// Mint signs a token for c with the local issuer and audience, valid from now
// for c.TTL (at most MaxTTL).
func (k *Key) Mint(c Claims, now time.Time) (string, error) {
	if c.Subject == "" {
		return "", errors.New("a token needs a subject")
	}
	if len(c.Roles) == 0 {
		return "", errors.New("a token needs at least one role")
	}
	if c.TTL <= 0 || c.TTL > MaxTTL {
		return "", fmt.Errorf("token lifetime %v is outside (0, %v]", c.TTL, MaxTTL)
	}
	for _, a := range c.AccountIDs {
		if a == "" || strings.Contains(a, ",") {
			return "", fmt.Errorf("account id %q is empty or contains a comma", a)
		}
	}
	// The claim names are the ones the edge reads (lambdaedge.Claim*).
	claims := jwt.MapClaims{
		lambdaedge.ClaimSubject: c.Subject,
		"iss":                   Issuer,
		"aud":                   Audience,
		"iat":                   now.Unix(),
		"exp":                   now.Add(c.TTL).Unix(),
		"token_use":             "id",
		lambdaedge.ClaimGroups:  c.Roles,
	}
	if len(c.AccountIDs) > 0 {
		claims[lambdaedge.ClaimAccountIDs] = strings.Join(c.AccountIDs, ",")
	}
	if c.CustomerID != "" {
		claims[lambdaedge.ClaimCustomerID] = c.CustomerID
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = k.id
	s, err := tok.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("signing the dev token: %w", err)
	}
	return s, nil
}

// ErrUnauthorized is returned by Validate for every rejected token; the
// wrapped detail is for logs, the caller only ever sees "Not Authenticated".
var ErrUnauthorized = errors.New("not authenticated")

// Validator checks bearer tokens like the HTTP API JWT authorizer.
type Validator struct {
	key      *ecdsa.PublicKey
	issuer   string
	audience string
}

// NewValidator accepts tokens signed by key with issuer and audience (matched
// against "aud" or, as the authorizer does for Cognito access tokens,
// "client_id").
func NewValidator(key *ecdsa.PublicKey, issuer, audience string) *Validator {
	return &Validator{key: key, issuer: issuer, audience: audience}
}

// Validate verifies token at now and returns its claims and scopes in the form
// API Gateway puts them into requestContext.authorizer.jwt.
func (v *Validator) Validate(token string, now time.Time) (claims map[string]string, scopes []string, err error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(v.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithJSONNumber(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var mc jwt.MapClaims
	_, err = parser.ParseWithClaims(token, &mc, func(*jwt.Token) (any, error) { return v.key, nil })
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	if !v.audienceMatches(mc) {
		return nil, nil, fmt.Errorf("%w: audience is not %q", ErrUnauthorized, v.audience)
	}
	claims = make(map[string]string, len(mc))
	for name, value := range mc {
		claims[name] = renderClaim(value)
	}
	if s, ok := mc["scope"].(string); ok && s != "" {
		scopes = strings.Fields(s)
	}
	return claims, scopes, nil
}

func (v *Validator) audienceMatches(mc jwt.MapClaims) bool {
	if aud, err := mc.GetAudience(); err == nil {
		for _, a := range aud {
			if a == v.audience {
				return true
			}
		}
	}
	clientID, _ := mc["client_id"].(string)
	return clientID != "" && clientID == v.audience
}

// renderClaim turns a decoded JSON claim into the string API Gateway hands to
// the function: strings as they are, numbers in their JSON spelling, arrays as
// "[a b]" (Go's fmt rendering, which is what API Gateway shows), objects as JSON.
func renderClaim(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderClaim(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default: // objects: JSON, whose encoder sorts keys

		b, _ := json.Marshal(x)
		return string(b)
	}
}
