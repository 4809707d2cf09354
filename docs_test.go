package wsapi_test

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The docs never show Go code that is not compiled and run by the tests.
// Each ```go block in docs/ follows a marker naming where its code lives:
//
//	<!-- code: examples/echo/main.go#handler -->
//
// and the region is delimited in that file by comment lines
//
//	// docs:start handler
//	// docs:end handler
//
// (<!-- docs:start handler --> in HTML files). The file is a program
// under examples/ or a test file, so the code compiles and its tests run.
// TestDocsSnippets fails when a block and its region differ; run
// `go test -run TestDocsSnippets -update-docs` to copy the regions into the
// docs.

var updateDocs = flag.Bool("update-docs", false, "rewrite the code blocks of docs/ from their source regions")

var (
	codeMarker = regexp.MustCompile(`<!-- code: ([^#\s]+)#([\w.-]+) -->`)
	fenceStart = regexp.MustCompile("^```(\\w+)\\s*$")
)

func TestDocsSnippets(t *testing.T) {
	var pages []string
	filepath.WalkDir("docs", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return nil
	})
	pages = append(pages, "README.md")
	blocks := 0
	for _, page := range pages {
		src, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		out, n, errs := syncPage(string(src))
		blocks += n
		for _, e := range errs {
			t.Errorf("%s: %s", page, e)
		}
		if out != string(src) {
			if *updateDocs {
				if err := os.WriteFile(page, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s: a code block differs from its source region; run go test -run TestDocsSnippets -update-docs", page)
		}
	}
	t.Logf("%d code blocks in %d pages checked", blocks, len(pages))
}

// syncPage returns the page with each marked block replaced by its region,
// the number of marked blocks, and the problems found: a go block without a
// marker, a marker naming a missing file or region.
func syncPage(page string) (string, int, []string) {
	lines := strings.Split(page, "\n")
	var out []string
	var errs []string
	n := 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		out = append(out, line)
		m := fenceStart.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		lang := m[1]
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		var marker []string
		for j := len(out) - 2; j >= 0 && j >= len(out)-3; j-- {
			if mm := codeMarker.FindStringSubmatch(out[j]); mm != nil {
				marker = mm
				break
			}
			if strings.TrimSpace(out[j]) != "" {
				break
			}
		}
		if marker == nil {
			if lang == "go" {
				errs = append(errs, fmt.Sprintf("line %d: a go block without a <!-- code: file#region --> marker", i+1))
			}
			out = append(out, lines[i+1:end]...)
			i = end - 1
			continue
		}
		n++
		region, err := readRegion(marker[1], marker[2])
		if err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", i+1, err))
			out = append(out, lines[i+1:end]...)
		} else {
			out = append(out, region...)
		}
		i = end - 1
	}
	return strings.Join(out, "\n"), n, errs
}

// readRegion returns the lines between docs:start and docs:end markers for
// name in file, with their common indentation removed.
func readRegion(file, name string) ([]string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var region []string
	in, found := false, false
	for line := range strings.SplitSeq(string(src), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case isRegionMarker(trimmed, "start", name):
			in, found = true, true
			continue
		case isRegionMarker(trimmed, "end", name):
			in = false
			continue
		case strings.Contains(trimmed, "docs:start ") || strings.Contains(trimmed, "docs:end "):
			continue // nested regions' markers never show
		}
		if in {
			region = append(region, line)
		}
	}
	if !found {
		return nil, fmt.Errorf("no region %q in %s", name, file)
	}
	// gofmt keeps a blank line between a declaration and the end marker,
	// and a marker above a doc comment needs one below it.
	for len(region) > 0 && strings.TrimSpace(region[len(region)-1]) == "" {
		region = region[:len(region)-1]
	}
	for len(region) > 0 && strings.TrimSpace(region[0]) == "" {
		region = region[1:]
	}
	return dedent(region), nil
}

func isRegionMarker(line, kind, name string) bool {
	for _, f := range []string{"// docs:%s %s", "<!-- docs:%s %s -->", "# docs:%s %s"} {
		if line == fmt.Sprintf(f, kind, name) {
			return true
		}
	}
	return false
}

func dedent(lines []string) []string {
	prefix := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ws := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first || !strings.HasPrefix(ws, prefix) {
			if first {
				prefix = ws
			} else {
				for !strings.HasPrefix(ws, prefix) {
					prefix = prefix[:len(prefix)-1]
				}
			}
			first = false
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimPrefix(l, prefix)
		if strings.TrimSpace(l) == "" {
			out[i] = ""
		}
	}
	return out
}

func TestDocsRegionsSurviveChanges(t *testing.T) {
	// A page whose block is stale is rewritten from the region, and a go
	// block without a marker is reported.
	dir := t.TempDir()
	file := filepath.Join(dir, "x.go")
	os.WriteFile(file, []byte("package x\n\nfunc f() {\n\t// docs:start body\n\treturn\n\t// docs:end body\n}\n"), 0o644)
	page := "intro\n\n<!-- code: " + file + "#body -->\n```go\nstale\n```\n\n```go\nloose\n```\n"
	out, n, errs := syncPage(page)
	if n != 1 || !strings.Contains(out, "```go\nreturn\n```") {
		t.Fatalf("n=%d out=%q", n, out)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "without a") {
		t.Fatalf("errs %v", errs)
	}
	if !bytes.Contains([]byte(out), []byte("loose")) {
		t.Fatal("an unmarked block was dropped")
	}
}

// TestExportedNamesHaveDocComments: every exported name of the packages
// users import, and of the codec, carries a doc comment (a method of an
// exported type too), as pkg.go.dev shows them.
func TestExportedNamesHaveDocComments(t *testing.T) {
	for _, dir := range []string{".", "wsapitest", "internal/frame"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := filepath.Join(dir, e.Name())
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				for _, missing := range undocumented(d) {
					t.Errorf("%s: %s has no doc comment", name, missing)
				}
			}
		}
	}
}

// undocumented returns the exported names declared by d without a doc comment.
func undocumented(d ast.Decl) []string {
	var out []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() || d.Doc != nil {
			return nil
		}
		if d.Recv != nil {
			t := d.Recv.List[0].Type
			if s, ok := t.(*ast.StarExpr); ok {
				t = s.X
			}
			if ix, ok := t.(*ast.IndexExpr); ok {
				t = ix.X
			}
			if id, ok := t.(*ast.Ident); ok && !id.IsExported() {
				return nil
			}
		}
		out = append(out, d.Name.Name)
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() && d.Doc == nil && s.Doc == nil {
					out = append(out, s.Name.Name)
				}
			case *ast.ValueSpec:
				for _, id := range s.Names {
					// A name in a documented group (const ( ... )) is documented.
					if id.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
						out = append(out, id.Name)
					}
				}
			}
		}
	}
	return out
}
