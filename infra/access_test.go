//go:build integration

package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/evovoice/billing/httpapi"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/schedules"
	"github.com/evovoice/billing/worker"
)

// This file derives, from the code, what each function's role must allow on
// DynamoDB, S3, SQS and SES, and checks that the role allows exactly that: a
// missing grant is an outage in production that no local test would catch,
// and an extra one is privilege nobody uses.
//
// The derivation has three steps, each failing loudly when the code grows
// something it does not know:
//  1. the interfaces a function's handler depends on (the interface-typed
//     fields of httpapi.SubmitDeps, httpapi.StatusDeps, worker.Deps and
//     schedules.TickDeps, the run function's tick) and the
//     adapter the wiring packages plug into each field (functionAdapters);
//  2. the SDK calls each adapter method makes, found by reading the adapters'
//     source: every call through the adapter's client fields, followed through
//     the adapter's own helper methods, with the DynamoDB index a Query names;
//  3. the IAM action each SDK call needs (iamActionOf).

// adapter is a type in one of the AWS adapter packages.
type adapter struct {
	dir, typ string
	service  string // IAM service prefix
}

var (
	reportStore   = adapter{"ddbstore", "ReportStore", "dynamodb"}
	billingStore  = adapter{"ddbstore", "BillingStore", "dynamodb"}
	scheduleStore = adapter{"ddbstore", "ScheduleStore", "dynamodb"}
	reportFiles   = adapter{"s3files", "Files", "s3"}
	partials      = adapter{"s3files", "Partials", "s3"}
	jobQueue      = adapter{"sqsqueue", "Queue", "sqs"}
	mailer        = adapter{"sesmail", "Mailer", "ses"}
)

// functionAdapters mirrors httpapi/wiring (Submit, Status) and worker/wire
// (Worker, Ticker): which adapter each interface field of a function's Deps
// structs gets (the fields of one function share names and adapters). A nil
// adapter is a dependency that is not an AWS call.
var functionAdapters = map[string]struct {
	deps   []any
	fields map[string]*adapter
}{
	fnSubmit: {[]any{httpapi.SubmitDeps{}}, map[string]*adapter{
		"Reports": &reportStore, "Idempotency": &reportStore, "Accounts": &billingStore, "Jobs": &jobQueue, "Schedules": &scheduleStore,
	}},
	fnStatus: {[]any{httpapi.StatusDeps{}}, map[string]*adapter{
		"Reports": &reportStore, "Files": &reportFiles, "Schedules": &scheduleStore,
	}},
	fnRun: {[]any{worker.Deps{}, schedules.TickDeps{}}, map[string]*adapter{
		"Reports": &reportStore, "Data": &billingStore, "Files": &reportFiles, "Mailer": &mailer, "Queue": &jobQueue,
		"Retries":  &jobQueue, // ChangeMessageVisibility: the retry backoff
		"Partials": &partials, // the exact partials of sharded reports
		"Webhooks": nil,       // plain HTTPS to the caller's URL, no AWS
		// The tick: schedules, and a firing's submit.
		"Schedules": &scheduleStore, "Idempotency": &reportStore, "Accounts": &billingStore, "Jobs": &jobQueue,
	}},
}

// adapterClientFields are the fields through which the adapters reach AWS.
var adapterClientFields = map[string]bool{"client": true, "transfer": true, "presign": true}

// iamActionOf maps an SDK (or transfer manager / presigner) call to the IAM
// actions it needs. A call missing here fails the test: add it with the
// actions of the AWS service authorization reference.
var iamActionOf = map[string][]string{
	"dynamodb.GetItem":        {"dynamodb:GetItem"},
	"dynamodb.PutItem":        {"dynamodb:PutItem"},
	"dynamodb.UpdateItem":     {"dynamodb:UpdateItem"},
	"dynamodb.DeleteItem":     {"dynamodb:DeleteItem"},
	"dynamodb.Query":          {"dynamodb:Query"},
	"dynamodb.Scan":           {"dynamodb:Scan"},
	"dynamodb.BatchWriteItem": {"dynamodb:BatchWriteItem"},
	"dynamodb.BatchGetItem":   {"dynamodb:BatchGetItem"},
	// UploadObject is PutObject for small bodies and CreateMultipartUpload,
	// UploadPart, CompleteMultipartUpload (all authorized as s3:PutObject) and,
	// on failure, AbortMultipartUpload for large ones.
	"s3.UploadObject":             {"s3:PutObject", "s3:AbortMultipartUpload"},
	"s3.PresignGetObject":         {"s3:GetObject"}, // the URL works only if the signer may GetObject
	"s3.PutObject":                {"s3:PutObject"},
	"s3.GetObject":                {"s3:GetObject"},
	"s3.DeleteObject":             {"s3:DeleteObject"},
	"sqs.SendMessage":             {"sqs:SendMessage"},
	"sqs.ReceiveMessage":          {"sqs:ReceiveMessage"},
	"sqs.DeleteMessage":           {"sqs:DeleteMessage"},
	"sqs.ChangeMessageVisibility": {"sqs:ChangeMessageVisibility"},
	"sqs.GetQueueAttributes":      {"sqs:GetQueueAttributes"},
	"ses.SendEmail":               {"ses:SendEmail"},
}

// indexNames are the resources constants a Query may name as IndexName.
var indexNames = map[string]string{
	"ReportsByAccount":   resources.ReportsByAccount,
	"ReportsByStatus":    resources.ReportsByStatus,
	"SchedulesByAccount": resources.SchedulesByAccount,
	"SchedulesDue":       resources.SchedulesDue,
}

// sdkCall is one call an adapter method may make; index is the DynamoDB index
// of a Query ("" for the table itself).
type sdkCall struct{ op, index string }

// adapterCalls reads the adapter package's source and returns, per method of
// a.typ, every SDK call it may make, directly or through other methods of the
// same type.
func adapterCalls(t *testing.T, a adapter) map[string][]sdkCall {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", a.dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("reading the %s adapter: %v (%d files)", a.dir, err, len(files))
	}
	direct := map[string][]sdkCall{}
	calls := map[string][]string{} // method -> methods of the same type it calls
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("parsing %s: %v", path, err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 || fn.Body == nil {
				continue
			}
			star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
			if !ok || fmt.Sprint(star.X) != a.typ || len(fn.Recv.List[0].Names) != 1 {
				continue
			}
			recv, method := fn.Recv.List[0].Names[0].Name, fn.Name.Name
			index := queryIndex(t, path, fn)
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch x := sel.X.(type) {
				case *ast.Ident: // recv.otherMethod(...)
					if x.Name == recv {
						calls[method] = append(calls[method], sel.Sel.Name)
					}
				case *ast.SelectorExpr: // recv.client.Op(...)
					if id, ok := x.X.(*ast.Ident); ok && id.Name == recv && adapterClientFields[x.Sel.Name] {
						c := sdkCall{op: sel.Sel.Name}
						if c.op == "Query" {
							c.index = index
						}
						direct[method] = append(direct[method], c)
					}
				}
				return true
			})
		}
	}
	out := map[string][]sdkCall{}
	for method := range direct {
		out[method] = nil
	}
	for method := range calls {
		out[method] = nil
	}
	for method := range out {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(m string) {
			if seen[m] {
				return
			}
			seen[m] = true
			out[method] = append(out[method], direct[m]...)
			for _, next := range calls[m] {
				visit(next)
			}
		}
		visit(method)
	}
	return out
}

// queryIndex is the index named by IndexName in fn (a composite literal field
// or an assignment), "" if none; two different ones are ambiguous and fail.
func queryIndex(t *testing.T, path string, fn *ast.FuncDecl) string {
	t.Helper()
	found := map[string]bool{}
	note := func(v ast.Expr) {
		var name string
		ast.Inspect(v, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && fmt.Sprint(sel.X) == "resources" {
				name = sel.Sel.Name
			}
			return true
		})
		idx, ok := indexNames[name]
		if !ok {
			t.Fatalf("%s: %s names IndexName %q, which this test does not know; add it to indexNames", path, fn.Name.Name, name)
		}
		found[idx] = true
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.KeyValueExpr:
			if id, ok := x.Key.(*ast.Ident); ok && id.Name == "IndexName" {
				note(x.Value)
			}
		case *ast.AssignStmt:
			for i, lhs := range x.Lhs {
				if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "IndexName" && i < len(x.Rhs) {
					note(x.Rhs[i])
				}
			}
		}
		return true
	})
	if len(found) > 1 {
		t.Fatalf("%s: %s queries several indexes; this test cannot tell which Query uses which", path, fn.Name.Name)
	}
	for idx := range found {
		return idx
	}
	return ""
}

// neededAccess is the set of "action resource" a function's code may request.
func neededAccess(t *testing.T, fn string, a arns) map[string]bool {
	t.Helper()
	spec := functionAdapters[fn]
	need := map[string]bool{}
	parsed := map[adapter]map[string][]sdkCall{}
	for _, d := range spec.deps {
		addNeeded(t, fn, reflect.TypeOf(d), spec.fields, parsed, a, need)
	}
	return need
}

// addNeeded adds to need what the interface fields of one Deps struct may
// request.
func addNeeded(t *testing.T, fn string, deps reflect.Type, fields map[string]*adapter, parsed map[adapter]map[string][]sdkCall, a arns, need map[string]bool) {
	t.Helper()
	for i := range deps.NumField() {
		field := deps.Field(i)
		if field.Type.Kind() != reflect.Interface {
			continue
		}
		ad, known := fields[field.Name]
		if !known {
			t.Errorf("%s: dependency %s (%s) has no adapter in functionAdapters; which AWS calls does it make?", fn, field.Name, field.Type)
			continue
		}
		if ad == nil {
			continue
		}
		if parsed[*ad] == nil {
			parsed[*ad] = adapterCalls(t, *ad)
		}
		for m := range field.Type.NumMethod() {
			method := field.Type.Method(m).Name
			calls, ok := parsed[*ad][method]
			if !ok {
				t.Errorf("%s: %s.%s is not a method of %s.%s with AWS calls", fn, field.Name, method, ad.dir, ad.typ)
				continue
			}
			for _, c := range calls {
				actions, ok := iamActionOf[ad.service+"."+c.op]
				if !ok {
					t.Errorf("%s.%s.%s calls %s.%s, which iamActionOf does not map to IAM actions", ad.dir, ad.typ, method, ad.service, c.op)
					continue
				}
				for _, act := range actions {
					for _, res := range resourcesOfCall(*ad, c, a) {
						need[act+" "+res] = true
					}
				}
			}
		}
	}
}

// resourcesOfCall is where an adapter's call lands in this stack.
func resourcesOfCall(ad adapter, c sdkCall, a arns) []string {
	switch ad {
	case reportStore, billingStore, scheduleStore:
		table := a.reports
		switch ad {
		case billingStore:
			table = a.billing
		case scheduleStore:
			table = a.schedules
		}
		if c.index != "" {
			return []string{table + "/index/" + c.index}
		}
		return []string{table}
	case reportFiles:
		// Every key the worker writes or signs is resources.ReportObjectKey;
		// TestReportKeysFallUnderTheGrant ties it to this pattern.
		return []string{a.reportObjects}
	case partials:
		// Every partial key is resources.PartialObjectKey;
		// TestReportKeysFallUnderTheGrant ties it to this pattern.
		return []string{a.partialObjects}
	case jobQueue:
		return []string{a.jobs}
	case mailer:
		// SES authorizes a send against the sender's identity (domain or
		// address) and the configuration set the mailer names.
		return []string{a.sesIdentity, a.senderIdentity, a.configSet}
	}
	return nil
}

// platformGrants are grants the code does not use but AWS does on the
// function's behalf: Lambda's SQS event source mapping polls with the run
// function's role.
var platformGrants = map[string][]string{
	fnRun: {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
}

// TestRolesGrantExactlyWhatTheCodeCalls: every DynamoDB, S3, SQS and SES call
// the function's code may make is allowed on its resource, and the role allows
// nothing else on those services.
func TestRolesGrantExactlyWhatTheCodeCalls(t *testing.T) {
	a := stackARNs(t)
	for _, fn := range functionNames {
		need := neededAccess(t, fn, a)
		if len(need) == 0 {
			t.Fatalf("%s: derived no AWS calls at all; the derivation is broken", fn)
		}
		sts := roleStatements(t, roleOf(t, fn))
		var missing []string
		for req := range need {
			action, res, _ := strings.Cut(req, " ")
			if len(grants(sts, action, res)) == 0 {
				missing = append(missing, req)
			}
		}
		sort.Strings(missing)
		for _, m := range missing {
			t.Errorf("%s: the code may call %s but the role does not allow it", fn, m)
		}
		platform := map[string]bool{}
		for _, act := range platformGrants[fn] {
			platform[strings.ToLower(act)] = true
		}
		for _, st := range sts {
			for _, act := range st.Actions {
				service, _, _ := strings.Cut(act, ":")
				switch service {
				case "dynamodb", "s3", "sqs", "ses":
				default:
					continue
				}
				if platform[strings.ToLower(act)] {
					continue
				}
				for _, res := range st.Resources {
					if !need[act+" "+res] {
						t.Errorf("%s: statement %q allows %s on %s, which the code never calls", fn, st.Sid, act, res)
					}
				}
			}
		}
	}
}

// TestDerivedAccessIsPlausible guards the derivation itself against reading
// nothing: a few calls the code is known to make must be found.
func TestDerivedAccessIsPlausible(t *testing.T) {
	a := stackARNs(t)
	for fn, reqs := range map[string][]string{
		fnSubmit: {"dynamodb:PutItem " + a.reports, "dynamodb:UpdateItem " + a.reports, "dynamodb:GetItem " + a.billing, "sqs:SendMessage " + a.jobs},
		fnStatus: {"dynamodb:Query " + a.reportsByAccount, "s3:GetObject " + a.reportObjects, "dynamodb:Query " + a.schedulesByAccount},
		fnRun: {
			"dynamodb:Query " + a.schedulesDue, "dynamodb:UpdateItem " + a.schedules, "dynamodb:PutItem " + a.reports,
			"dynamodb:Query " + a.reportsByStatus, "dynamodb:Query " + a.reportsByAccount, "dynamodb:Query " + a.billing,
			"s3:PutObject " + a.reportObjects, "s3:AbortMultipartUpload " + a.reportObjects, "ses:SendEmail " + a.configSet,
			"s3:PutObject " + a.partialObjects, "s3:GetObject " + a.partialObjects, "s3:DeleteObject " + a.partialObjects,
		},
	} {
		need := neededAccess(t, fn, a)
		for _, req := range reqs {
			if !need[req] {
				t.Errorf("%s: derivation did not find %s; found %v", fn, req, keys(need))
			}
		}
	}
}

// TestReportKeysFallUnderTheGrant: the S3 grants name the reports/ prefix, so
// a report key outside it would be AccessDenied on AWS only.
func TestReportKeysFallUnderTheGrant(t *testing.T) {
	a := stackARNs(t)
	bucket := strings.TrimSuffix(a.reportObjects, "/reports/*")
	for _, fn := range []string{fnStatus, fnRun} {
		sts := roleStatements(t, roleOf(t, fn))
		key := resources.ReportObjectKey("acct-acme", "r-1")
		if len(grants(sts, "s3:GetObject", bucket+"/"+key)) == 0 {
			t.Errorf("%s may not GetObject %s, the key of a report", fn, key)
		}
	}
	// The run function alone reads and deletes partials, and only those.
	run := roleStatements(t, roleOf(t, fnRun))
	key := resources.PartialObjectKey("r-1", "2026-10-01_2026-10-07")
	for _, act := range []string{"s3:PutObject", "s3:GetObject", "s3:DeleteObject"} {
		if len(grants(run, act, bucket+"/"+key)) == 0 {
			t.Errorf("run may not %s %s, the key of a partial", act, key)
		}
	}
	if len(grants(run, "s3:DeleteObject", bucket+"/"+resources.ReportObjectKey("acct-acme", "r-1"))) != 0 {
		t.Error("run may delete report files; it may delete only partials")
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wiringOf is where each function's main builds its handler; the Require call
// there lists the variables without which the function refuses to start.
var wiringOf = map[string][]struct{ file, fn string }{
	fnSubmit: {{"../httpapi/wiring/wiring.go", "Submit"}},
	fnStatus: {{"../httpapi/wiring/wiring.go", "Status"}},
	fnRun:    {{"../worker/wire/wire.go", "WorkerWith"}, {"../worker/wire/run.go", "Ticker"}},
}

// requiredEnv returns the variables fn's wiring passes to cfg.Require, read
// from the source so that a new requirement cannot be forgotten here.
func requiredEnv(t *testing.T, fn string) []string {
	t.Helper()
	var out []string
	for _, w := range wiringOf[fn] {
		out = append(out, requiredBy(t, w.file, w.fn)...)
	}
	return out
}

// requiredBy returns the variables that function fnName of file passes to
// cfg.Require.
func requiredBy(t *testing.T, file, fnName string) []string {
	t.Helper()
	w := struct{ file, fn string }{file, fnName}
	f, err := parser.ParseFile(token.NewFileSet(), w.file, nil, 0)
	if err != nil {
		t.Fatalf("parsing %s: %v", w.file, err)
	}
	var names []string
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != w.fn {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Require" {
				for _, arg := range call.Args {
					if s, ok := arg.(*ast.SelectorExpr); ok && fmt.Sprint(s.X) == "resources" {
						names = append(names, s.Sel.Name)
					} else {
						t.Errorf("%s: %s requires %s, which is not a resources constant", w.file, w.fn, fmt.Sprint(arg))
					}
				}
			}
			return true
		})
	}
	if len(names) == 0 {
		t.Fatalf("%s: found no Require call in %s", w.file, w.fn)
	}
	consts := resourceConstants(t)
	var out []string
	for _, n := range names {
		v, ok := consts[n]
		if !ok {
			t.Fatalf("resources.%s is not a string constant of package resources", n)
		}
		out = append(out, v)
	}
	return out
}

// resourceConstants are the string constants of package resources by name.
func resourceConstants(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("../resources/*.go")
	out := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatalf("parsing %s: %v", path, err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							out[name.Name] = strings.Trim(lit.Value, "\"`")
						}
					}
				}
			}
		}
	}
	return out
}

// TestFunctionsGetTheVariablesTheyRequire: a variable the wiring requires and
// the function lacks makes every cold start fail, which synthesis and
// cdk-nag cannot see.
func TestFunctionsGetTheVariablesTheyRequire(t *testing.T) {
	for _, fn := range functionNames {
		vars := functionRes(t, fn).prop("Environment", "Variables").(map[string]any)
		for _, name := range requiredEnv(t, fn) {
			if v, ok := vars[name]; !ok || render(v) == "" {
				t.Errorf("%s requires %s at cold start but the function does not set it", fn, name)
			}
		}
	}
}
