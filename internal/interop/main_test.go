package interop

import (
	"os"
	"testing"

	"github.com/wsapi-go/wsapi/internal/exampleproc"
)

func TestMain(m *testing.M) {
	code := m.Run()
	exampleproc.Cleanup()
	os.Exit(code)
}
