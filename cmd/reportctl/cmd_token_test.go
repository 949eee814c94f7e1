package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/devstack/devauth"
)

func TestTokenPrintsOnlyAValidLocalToken(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	var out, errOut bytes.Buffer
	err := runToken([]string{"--role", "Manager", "--account", "acct-acme", "--account", "acct-beta", "--ttl", "2h", "--data-dir", dir}, &out, &errOut, now)
	if err != nil {
		t.Fatal(err, errOut.String())
	}
	tok := strings.TrimSuffix(out.String(), "\n")
	if strings.ContainsAny(tok, " \n") || strings.Count(tok, ".") != 2 {
		t.Fatalf("stdout is not one token: %q", out.String())
	}
	key, err := devauth.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	claims, _, err := devauth.NewValidator(key.Public(), devauth.Issuer, devauth.Audience).Validate(tok, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if claims["cognito:groups"] != "[Manager]" || claims["custom:accountIds"] != "acct-acme,acct-beta" || claims["sub"] != "dev-manager" {
		t.Errorf("claims = %v", claims)
	}
	if _, _, err := devauth.NewValidator(key.Public(), devauth.Issuer, devauth.Audience).Validate(tok, now.Add(2*time.Hour+time.Second)); err == nil {
		t.Error("token outlived its --ttl")
	}
}

func TestTokenRefusesNonsense(t *testing.T) {
	for name, args := range map[string][]string{
		"no role":              {},
		"unknown role":         {"--role", "Admin"},
		"manager no account":   {"--role", "Manager"},
		"customer no customer": {"--role", "Customer", "--account", "a"},
		"too long":             {"--role", "SystemAdministrator", "--ttl", "25h"},
		"stray argument":       {"--role", "SystemAdministrator", "extra"},
		"issuer flag":          {"--role", "SystemAdministrator", "--issuer", "https://cognito-idp.us-east-1.amazonaws.com/x"},
	} {
		var out, errOut bytes.Buffer
		if err := runToken(append(args, "--data-dir", t.TempDir()), &out, &errOut, time.Now()); err == nil {
			t.Errorf("%s: no error", name)
		}
		if out.Len() != 0 {
			t.Errorf("%s: printed %q", name, out.String())
		}
	}
}
