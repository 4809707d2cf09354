package asyncapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// TestVendoredFilesMatchTheirREADMEs checks the files taken from npm
// against the SHA-256 sums their READMEs record (update-vendored.sh
// reproduces them).
func TestVendoredFilesMatchTheirREADMEs(t *testing.T) {
	for file, readme := range map[string]string{
		"assets/asyncapi-standalone.js":           "assets/README.md",
		"assets/asyncapi.min.css":                 "assets/README.md",
		"asyncapitest/schema/asyncapi-3.0.0.json": "asyncapitest/schema/README.md",
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		doc, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), hex.EncodeToString(sum[:])) {
			t.Errorf("%s: its SHA-256 %x is not in %s", file, sum, readme)
		}
	}
	for _, f := range []string{"assets/LICENSE", "assets/asyncapi-standalone.js.LICENSE.txt", "asyncapitest/schema/LICENSE", "asyncapitest/schema/NOTICE"} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}
