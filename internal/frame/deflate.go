package frame

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"
)

// flateTail ends every compressed message on the wire (RFC 7692, section
// 7.2.1); flateEnd also closes the stream so a reader ends with io.EOF.
var (
	flateTail = []byte{0x00, 0x00, 0xff, 0xff}
	flateEnd  = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
)

var (
	flateWriters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed)
		return w
	}}
	flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
)

// Compress deflates p on its own, as a message of a connection without
// server context takeover: a new payload, without the trailing 0x00 0x00
// 0xff 0xff, made with a pooled compressor.
func Compress(p []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(p)/2 + 16)
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(&buf)
	w.Write(p)
	w.Flush()
	flateWriters.Put(w)
	return bytes.TrimSuffix(buf.Bytes(), flateTail)
}

// Compressor deflates the messages of one connection with server context
// takeover: every message goes through one compressor, flushed after each,
// so that the window carries over. Messages must reach the wire in the
// order they were compressed. The zero value is ready to use.
type Compressor struct {
	w    *flate.Writer // made on first use
	sink bytes.Buffer
}

// Compress deflates the next message into a new payload, without the
// trailing 0x00 0x00 0xff 0xff.
func (c *Compressor) Compress(p []byte) []byte {
	if c.w == nil {
		c.w, _ = flate.NewWriter(&c.sink, flate.BestSpeed)
	}
	c.sink.Reset()
	c.w.Write(p)
	c.w.Flush()
	return bytes.Clone(bytes.TrimSuffix(c.sink.Bytes(), flateTail))
}

// ErrTooBig reports a compressed message that inflates past its limit: a
// decompression bomb, or an honest message over the read limit.
var ErrTooBig = &Error{CodeMessageTooBig, "message exceeds the read limit once decompressed"}

// Inflate decompresses a message payload with the dictionary dict (the
// window the client kept, or nil), into a new slice. It stops with
// ErrTooBig as soon as the output passes limit (limit <= 0: no limit), so
// a small payload cannot expand without bound, and with an *Error for
// corrupt data.
func Inflate(p, dict []byte, limit int64) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(p), bytes.NewReader(flateEnd))
	r := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(r)
	r.(flate.Resetter).Reset(src, dict)
	size := max(2*len(p), 512)
	if limit > 0 {
		size = min(size, int(limit)+1)
	}
	out := make([]byte, 0, size)
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if limit > 0 && int64(len(out)) > limit {
			return nil, ErrTooBig
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, &Error{CodeInvalidFramePayloadData, "invalid compressed data"}
		}
	}
}

// WindowSize is the deflate window: the dictionary the next message of a
// client with context takeover may refer to.
const WindowSize = 32 << 10

// Window keeps the last WindowSize bytes a connection inflated, the
// dictionary for the client's next message when it keeps its context. The
// zero value is empty.
type Window struct {
	b []byte
}

// Keep appends a message's inflated bytes to the window.
func (w *Window) Keep(out []byte) {
	if len(out) >= WindowSize {
		w.b = append(w.b[:0], out[len(out)-WindowSize:]...)
		return
	}
	w.b = append(w.b, out...)
	if len(w.b) > WindowSize {
		w.b = append(w.b[:0], w.b[len(w.b)-WindowSize:]...)
	}
}

// Dict returns the window, for Inflate.
func (w *Window) Dict() []byte { return w.b }
