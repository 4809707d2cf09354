package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFirstProgramFromZero does what the README's "A first program, from
// zero" asks of a user, outside this repository: go mod init, add wsapi,
// save main.go, build. The module is not published from here, so instead
// of go get a replace directive points the requirement at this checkout;
// everything else comes from the module proxy, as for a user.
func TestFirstProgramFromZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module from zero")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("mod", "init", "example.com/myapp")
	run("mod", "edit", "-replace", "github.com/wsapi-go/wsapi="+repo,
		"-require", "github.com/wsapi-go/wsapi@v0.0.0-00010101000000-000000000000")
	run("mod", "tidy")
	run("build", "-o", filepath.Join(dir, "myapp"), ".")
	if _, err := os.Stat(filepath.Join(dir, "myapp")); err != nil {
		t.Fatal(err)
	}
}
