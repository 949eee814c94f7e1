package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/devauth"
	"github.com/evovoice/billing/devstack/local"
)

func init() {
	register("token", "print a bearer token for the local stack", func(ctx context.Context, args []string) error {
		return runToken(args, os.Stdout, os.Stderr, time.Now())
	})
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// runToken prints a token and nothing else on stdout, so that
// TOKEN=$(reportctl token ...) works. It signs only with the local stack's dev
// key, with the local issuer and audience: there is deliberately no way to
// choose another key, issuer or audience, so it cannot mint anything a
// deployed stack (whose authorizer trusts only Cognito) would accept.
func runToken(args []string, stdout, stderr io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var roles, accounts listFlag
	fs.Var(&roles, "role", "role (Cognito group): SystemAdministrator, Manager or Customer; repeatable")
	fs.Var(&accounts, "account", "account id the token grants (custom:accountIds); repeatable")
	customer := fs.String("customer", "", "customer id (custom:customerId), required for the Customer role")
	ttl := fs.Duration("ttl", time.Hour, fmt.Sprintf("lifetime, at most %v", devauth.MaxTTL))
	subject := fs.String("sub", "", "subject (default: dev-<role>)")
	dataDir := fs.String("data-dir", "", "local stack data folder holding the dev key (default: .local at the repository root)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: reportctl token --role ROLE [--account ID]... [--customer ID] [--ttl 1h]\n\nPrints a bearer token for the local stack only (signed with the dev key in its data folder).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	claims, err := tokenClaims(roles, accounts, *customer, *subject, *ttl)
	if err != nil {
		return err
	}
	dir := *dataDir
	if dir == "" {
		if dir, err = local.DefaultDataDir(); err != nil {
			return err
		}
	}
	key, err := devauth.LoadOrCreateKey(dir)
	if err != nil {
		return err
	}
	tok, err := key.Mint(claims, now)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// tokenClaims checks that the flags make a token the service would accept for
// something, so that a typo fails here rather than as a puzzling 403.
func tokenClaims(roles, accounts []string, customer, subject string, ttl time.Duration) (devauth.Claims, error) {
	if len(roles) == 0 {
		return devauth.Claims{}, errors.New("--role is required (SystemAdministrator, Manager or Customer)")
	}
	known := []billing.Role{billing.RoleSystemAdministrator, billing.RoleManager, billing.RoleCustomer}
	for _, r := range roles {
		if !slices.Contains(known, billing.Role(r)) {
			return devauth.Claims{}, fmt.Errorf("unknown role %q: use SystemAdministrator, Manager or Customer", r)
		}
	}
	caller := billing.Caller{AccountIDs: accounts, CustomerID: customer}
	for _, r := range roles {
		caller.Roles = append(caller.Roles, billing.Role(r))
	}
	switch caller.EffectiveRole() {
	case billing.RoleManager:
		if len(accounts) == 0 {
			return devauth.Claims{}, errors.New("a Manager token needs at least one --account")
		}
	case billing.RoleCustomer:
		if len(accounts) != 1 || customer == "" {
			return devauth.Claims{}, errors.New("a Customer token needs exactly one --account and a --customer")
		}
	}
	if subject == "" {
		subject = "dev-" + strings.ToLower(roles[0])
	}
	return devauth.Claims{Subject: subject, Roles: roles, AccountIDs: accounts, CustomerID: customer, TTL: ttl}, nil
}
