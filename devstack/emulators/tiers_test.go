package emulators

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// integrationTag is the build tag of the tests `make test` runs and `make
// test-unit` does not compile: those that start emulators, run Node.js or a
// browser.
const integrationTag = "integration"

// TestEveryEmulatorTestIsTaggedIntegration keeps the unit tier honest: a test
// file without the tag must not start emulators (this package's Start,
// StartForTest, RunTests, or the package's shared stack from elsewhere) nor run
// Node.js or a browser, since `make test-unit` must pass on a machine with Go
// alone. infra/'s tests all synthesize through jsii (Node.js), so all of them
// are tagged, and the Makefile leaves the package out of the unit tier.
func TestEveryEmulatorTestIsTaggedIntegration(t *testing.T) {
	root := moduleRoot(t)
	const self = "github.com/evovoice/billing/devstack/emulators"
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		checked++
		if tagged(f) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if why := needsIntegration(f, rel, self); why != "" {
			t.Errorf("%s %s but has no //go:build %s line", rel, why, integrationTag)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	if checked < 50 {
		t.Fatalf("only %d test files found under %s: not looking at the module", checked, root)
	}
}

// needsIntegration says why an untagged test file belongs to the integration
// tier, or "" when it does not.
func needsIntegration(f *ast.File, rel, self string) string {
	if strings.HasPrefix(filepath.ToSlash(rel), "infra/") {
		return "is a test of infra/ (jsii, Node.js)"
	}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == self {
			return "imports " + self
		}
	}
	why := ""
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if f.Name.Name == "emulators" && (n.Name == "Start" || n.Name == "StartForTest" || n.Name == "RunTests" || n.Name == "shared") {
				why = "uses the emulators (" + n.Name + ")"
			}
		case *ast.CallExpr:
			if prog := execProgram(n); prog == "node" || prog == "npx" || prog == "chromium" {
				why = "runs " + prog
			}
		}
		return why == ""
	})
	return why
}

// execProgram is the literal program name of an exec.Command or
// exec.CommandContext call, or "".
func execProgram(call *ast.CallExpr) string {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) == 0 {
		return ""
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "exec" {
		return ""
	}
	arg := call.Args[0]
	if sel.Sel.Name == "CommandContext" && len(call.Args) > 1 {
		arg = call.Args[1]
	} else if sel.Sel.Name != "Command" {
		return ""
	}
	if lit, ok := arg.(*ast.BasicLit); ok {
		s, _ := strconv.Unquote(lit.Value)
		return s
	}
	return ""
}

// tagged reports whether f's build constraint requires the integration tag.
func tagged(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		for _, c := range g.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				return false
			}
			// Required: false without the tag, whatever else is set.
			return !expr.Eval(func(tag string) bool { return tag != integrationTag })
		}
	}
	return false
}

// moduleRoot is the repository's root: the folder that holds _tools/ (and go.mod).
func moduleRoot(t *testing.T) string {
	t.Helper()
	tools, err := findToolsDir(".")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(tools)
}
