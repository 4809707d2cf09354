package asyncapi_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wsapi-go/wsapi"
	"github.com/wsapi-go/wsapi/asyncapi"
	"github.com/wsapi-go/wsapi/asyncapi/asyncapitest"
	"github.com/wsapi-go/wsapi/wsapitest"
)

func get(t *testing.T, c *wsapitest.Client, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", c.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func expect(t *testing.T, resp *http.Response, status int, ctype string) {
	t.Helper()
	if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
		t.Fatalf("GET %s = %d %q, want %d %s", resp.Request.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"), status, ctype)
	}
}

func TestMountServesTheDocument(t *testing.T) {
	app := newTestApp()
	docs := asyncapi.Mount(app, asyncapi.Info{Title: "Games <& chat>"})
	app.WS("/late", loop) // registered after Mount: still documented
	c := wsapitest.New(t, app, nil)

	resp, j := get(t, c, "/asyncapi.json")
	expect(t, resp, 200, "application/json")
	if err := asyncapitest.Validate(j); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(j, []byte(`"address": "/late"`)) || !bytes.Contains(j, []byte(`"title": "Games <& chat>"`)) {
		t.Fatalf("document:\n%s", j)
	}
	resp, y := get(t, c, "/asyncapi.yaml")
	expect(t, resp, 200, "application/yaml")
	if err := asyncapitest.SameDocument(j, y); err != nil {
		t.Fatal(err)
	}
	if want, _ := docs.JSON(); !bytes.Equal(j, want) {
		t.Error("Docs.JSON differs from what is served")
	}
	if want, _ := docs.YAML(); !bytes.Equal(y, want) {
		t.Error("Docs.YAML differs from what is served")
	}
	if spec, err := docs.Spec(); err != nil || spec.Channels.Len() != 5 {
		t.Errorf("Docs.Spec: %v", err)
	}

	// Conditional requests.
	tag := resp.Header.Get("ETag")
	if resp, _ := get(t, c, "/asyncapi.yaml", "If-None-Match", tag); tag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s = %d", tag, resp.StatusCode)
	}
	// The WebSocket routes still answer as before.
	ws := c.Connect("/late", nil)
	ws.SendText("hi")
	if got := ws.ReceiveText(); got != "hi" {
		t.Fatalf("got %q", got)
	}
	ws.Close()
}

func TestMountServesThePage(t *testing.T) {
	app := newTestApp()
	asyncapi.Mount(app, asyncapi.Info{Title: "Games <& chat>"})
	c := wsapitest.New(t, app, nil)

	resp, page := get(t, c, "/asyncapi")
	expect(t, resp, 200, "text/html")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{
		`<title>Games &lt;&amp; chat&gt; · AsyncAPI</title>`,
		`<link rel="stylesheet" href="asyncapi/assets/asyncapi.min.css">`,
		`<script src="asyncapi/assets/asyncapi-standalone.js"></script>`,
		`<script src="asyncapi/assets/page.js"></script>`,
		`<div id="asyncapi" data-spec="asyncapi.json" data-state="loading">`,
	} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %s:\n%s", want, page)
		}
	}
	// Every URL of the page is relative to it: nothing comes from elsewhere.
	ctypes := map[string]string{".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".yaml": "application/yaml"}
	loaded := 0
	for _, m := range regexp.MustCompile(`(?:src|href|data-spec)="([^"]*)"`).FindAllSubmatch(page, -1) {
		u := string(m[1])
		if u == "data:," { // the empty favicon
			continue
		}
		if strings.Contains(u, ":") || strings.HasPrefix(u, "/") {
			t.Errorf("the page loads %s", u)
			continue
		}
		resp, _ := get(t, c, "/"+u, "Accept-Encoding", "identity")
		expect(t, resp, 200, ctypes[filepath.Ext(u)])
		loaded++
	}
	if loaded < 5 {
		t.Errorf("the page loads %d files", loaded)
	}
	if resp, _ := get(t, c, "/asyncapi/assets/LICENSE"); resp.StatusCode != 404 {
		t.Errorf("GET an unknown asset = %d", resp.StatusCode)
	}
}

func TestAssetsAreCompressedAndCached(t *testing.T) {
	app := wsapi.New(nil)
	asyncapi.Mount(app, asyncapi.Info{})
	c := wsapitest.New(t, app, nil)
	want, err := os.ReadFile("assets/asyncapi-standalone.js")
	if err != nil {
		t.Fatal(err)
	}
	resp, plain := get(t, c, "/asyncapi/assets/asyncapi-standalone.js", "Accept-Encoding", "identity")
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(plain, want) {
		t.Fatalf("plain: encoding %q, %d bytes", resp.Header.Get("Content-Encoding"), len(plain))
	}
	resp, gz := get(t, c, "/asyncapi/assets/asyncapi-standalone.js", "Accept-Encoding", "br, gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(gz) > len(want)/3 {
		t.Fatalf("gzip: encoding %q, %d bytes", resp.Header.Get("Content-Encoding"), len(gz))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, want) {
		t.Fatal("the gzipped bundle differs")
	}
	if resp.Header.Get("Vary") != "Accept-Encoding" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Errorf("headers %v", resp.Header)
	}
	if resp, _ := get(t, c, "/asyncapi/assets/asyncapi-standalone.js", "Accept-Encoding", "gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
	tag := resp.Header.Get("ETag")
	if resp, _ := get(t, c, "/asyncapi/assets/asyncapi-standalone.js", "Accept-Encoding", "gzip", "If-None-Match", tag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match = %d", resp.StatusCode)
	}
}

func TestMountAtInAGroup(t *testing.T) {
	app := newTestApp()
	// docs:start mount-at
	admin := app.Group("/admin")
	admin.Use(requireAdmin) // the group's middleware guards the documentation
	asyncapi.MountAt(admin, app, "/docs/api", asyncapi.Info{Title: "Games"})
	// GET /admin/docs/api.json, /admin/docs/api.yaml, /admin/docs/api
	// docs:end mount-at
	c := wsapitest.New(t, app, nil)
	if resp, _ := get(t, c, "/admin/docs/api.json"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without the header: %d", resp.StatusCode)
	}
	resp, _ := get(t, c, "/admin/docs/api.json", "X-Admin", "yes")
	expect(t, resp, 200, "application/json")
	resp, _ = get(t, c, "/admin/docs/api.yaml", "X-Admin", "yes")
	expect(t, resp, 200, "application/yaml")
	resp, page := get(t, c, "/admin/docs/api", "X-Admin", "yes")
	expect(t, resp, 200, "text/html")
	if !bytes.Contains(page, []byte(`data-spec="api.json"`)) || !bytes.Contains(page, []byte(`src="api/assets/asyncapi-standalone.js"`)) {
		t.Fatalf("page:\n%s", page)
	}
	resp, _ = get(t, c, "/admin/docs/api/assets/page.js", "X-Admin", "yes")
	expect(t, resp, 200, "text/javascript")
	if resp, _ := get(t, c, "/asyncapi.json"); resp.StatusCode != 404 {
		t.Errorf("/asyncapi.json = %d", resp.StatusCode)
	}
}

func requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Admin") != "yes" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestMountReportsDocumentErrors(t *testing.T) {
	app := wsapi.New(nil)
	ep := app.WS("/ws", serve)
	wsapi.On(ep, "bad", nop[struct {
		F func() `json:"f"`
	}])
	asyncapi.Mount(app, asyncapi.Info{})
	c := wsapitest.New(t, app, nil)
	for _, path := range []string{"/asyncapi.json", "/asyncapi.yaml", "/asyncapi"} {
		if resp, body := get(t, c, path); resp.StatusCode != 500 || !bytes.Contains(body, []byte(`message "bad"`)) {
			t.Errorf("GET %s = %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestMountAtRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"asyncapi", "/asyncapi/", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MountAt %q did not panic", p)
				}
			}()
			app := wsapi.New(nil)
			asyncapi.MountAt(app, app, p, asyncapi.Info{})
		}()
	}
}

// TestNoRemoteResources checks the embedded files for the hosts of CDNs and
// web fonts: the page must work offline.
func TestNoRemoteResources(t *testing.T) {
	files, _ := filepath.Glob("assets/*")
	more, _ := filepath.Glob("page/*")
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"unpkg.com", "jsdelivr", "cdnjs", "fonts.googleapis", "fonts.gstatic", "googletagmanager", "@import"} {
			if strings.Contains(string(data), host) {
				t.Errorf("%s mentions %s", f, host)
			}
		}
		if strings.HasSuffix(f, ".css") && regexp.MustCompile(`url\(\s*['"]?(https?:)?//`).Match(data) {
			t.Errorf("%s loads a remote url()", f)
		}
	}
	info, err := os.Stat("assets/asyncapi-standalone.js")
	if err != nil || info.Size() > 4<<20 {
		t.Errorf("bundle size: %v", err)
	}
}
