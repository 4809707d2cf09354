package asyncapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsapi-go/wsapi"
)

// Docs serves the AsyncAPI document of an app and the page that shows it.
// The document is built on first use, then kept: register every route and
// message before serving.
type Docs struct {
	app  *wsapi.App
	info Info

	once  sync.Once
	spec  *Spec
	json  []byte
	yaml  []byte
	err   error
	page  []byte
	base  string
	etags map[string]string // of the JSON and YAML
}

// New returns the Docs of app, without registering any route; see Mount.
func New(app *wsapi.App, info Info) *Docs {
	return &Docs{app: app, info: info, base: "asyncapi"}
}

// Mount serves app's AsyncAPI document on app:
//
//   - GET /asyncapi.json and GET /asyncapi.yaml, the document;
//   - GET /asyncapi, a page that shows it, rendered in the browser by the
//     AsyncAPI React component (@asyncapi/react-component's standalone
//     bundle), which is embedded in the binary and served under
//     /asyncapi/assets/: the page loads nothing from elsewhere.
//
// The document is built on the first request, so routes registered after
// Mount, but before serving, are in it.
func Mount(app *wsapi.App, info Info) *Docs {
	return MountAt(app, app, "/asyncapi", info)
}

// MountAt is Mount on router r (app, or a group of it, for example one
// whose middleware requires a login) at path p instead of /asyncapi: the
// document is served at p+".json" and p+".yaml", the page at p and its
// assets under p+"/assets/". The page finds them by relative URLs, so it
// also works when the app is mounted under a prefix.
func MountAt(r wsapi.Router, app *wsapi.App, p string, info Info) *Docs {
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		panic(fmt.Sprintf("asyncapi: MountAt path %q must start with / and not end with one", p))
	}
	d := New(app, info)
	d.base = path.Base(p)
	r.HandleFunc("GET "+p+".json", d.serveJSON)
	r.HandleFunc("GET "+p+".yaml", d.serveYAML)
	r.HandleFunc("GET "+p, d.servePage)
	r.HandleFunc("GET "+p+"/assets/{file}", serveAsset)
	return d
}

func (d *Docs) build() {
	d.once.Do(func() {
		d.spec, d.err = Document(d.app, d.info)
		if d.err != nil {
			return
		}
		if d.json, d.err = d.spec.JSON(); d.err != nil {
			return
		}
		if d.yaml, d.err = d.spec.YAML(); d.err != nil {
			return
		}
		d.etags = map[string]string{"json": etag(d.json), "yaml": etag(d.yaml)}
		var b bytes.Buffer
		d.err = pageTemplate.Execute(&b, struct{ Title, Base string }{d.spec.Info.Title, d.base})
		d.page = b.Bytes()
	})
}

// Spec returns the document. Do not change it: it is the one served.
func (d *Docs) Spec() (*Spec, error) {
	d.build()
	return d.spec, d.err
}

// JSON returns the document as JSON, as served.
func (d *Docs) JSON() ([]byte, error) {
	d.build()
	return d.json, d.err
}

// YAML returns the document as YAML, as served.
func (d *Docs) YAML() ([]byte, error) {
	d.build()
	return d.yaml, d.err
}

func (d *Docs) serveJSON(w http.ResponseWriter, r *http.Request) {
	d.serveDoc(w, r, "application/json", "json", func() []byte { return d.json })
}

func (d *Docs) serveYAML(w http.ResponseWriter, r *http.Request) {
	d.serveDoc(w, r, "application/yaml; charset=utf-8", "yaml", func() []byte { return d.yaml })
}

func (d *Docs) serveDoc(w http.ResponseWriter, r *http.Request, ctype, kind string, body func() []byte) {
	d.build()
	if d.err != nil {
		http.Error(w, d.err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("ETag", d.etags[kind])
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", zeroTime, bytes.NewReader(body()))
}

// pageCSP keeps the page to its own origin. The component compiles JSON
// Schemas at run time (unsafe-eval) and styles elements inline.
const pageCSP = "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"

func (d *Docs) servePage(w http.ResponseWriter, r *http.Request) {
	d.build()
	if d.err != nil {
		http.Error(w, d.err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.Write(d.page)
}

//go:embed page/index.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

//go:embed assets/asyncapi-standalone.js assets/asyncapi.min.css page/page.js page/page.css
var assetFS embed.FS

// asset is a file served under assets/, compressed once on first request.
type asset struct {
	name, ctype, etag string
	data              []byte
	once              sync.Once
	gz                []byte
}

var assets = func() map[string]*asset {
	m := map[string]*asset{}
	for _, f := range []struct{ file, ctype string }{
		{"assets/asyncapi-standalone.js", "text/javascript; charset=utf-8"},
		{"assets/asyncapi.min.css", "text/css; charset=utf-8"},
		{"page/page.js", "text/javascript; charset=utf-8"},
		{"page/page.css", "text/css; charset=utf-8"},
	} {
		data, err := fs.ReadFile(assetFS, f.file)
		if err != nil {
			panic(err)
		}
		name := path.Base(f.file)
		m[name] = &asset{name: name, ctype: f.ctype, etag: etag(data), data: data}
	}
	return m
}()

func (a *asset) gzipped() []byte {
	a.once.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
		zw.Write(a.data)
		zw.Close()
		a.gz = b.Bytes()
	})
	return a.gz
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Add("Vary", "Accept-Encoding")
	body, tag := a.data, a.etag
	if acceptsGzip(r) && len(a.data) > 1024 {
		body, tag = a.gzipped(), strings.TrimSuffix(a.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", tag)
	http.ServeContent(w, r, "", zeroTime, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			if !ok {
				return true
			}
			f, err := strconv.ParseFloat(q, 64)
			return err == nil && f > 0
		}
	}
	return false
}

var zeroTime time.Time

func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}
