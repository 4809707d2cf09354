package wsapi

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
)

// CompressionMode says whether and how an app compresses messages with the
// permessage-deflate extension (RFC 7692). Compression only happens when the
// client offers the extension, as every browser does.
type CompressionMode int

// Compression modes.
const (
	// CompressionDisabled never negotiates compression. The default:
	// compression costs CPU on both ends, and mixing secrets with
	// attacker-chosen text in one compressed message can leak the secrets
	// through the messages' sizes (as CRIME and BREACH did for HTTPS).
	CompressionDisabled CompressionMode = iota
	// CompressionNoContextTakeover compresses each message on its own, with
	// both ends dropping the compression window between messages, so a
	// connection holds no compression memory while idle and a broadcast is
	// compressed once for every receiver.
	CompressionNoContextTakeover
	// CompressionContextTakeover keeps the 32 KiB sliding window between
	// messages when the client agrees: better ratios for streams of similar
	// messages, at the cost of a compressor (hundreds of KiB) and a window
	// held by every connection for its lifetime.
	CompressionContextTakeover
)

// compressMin is the smallest payload worth compressing; smaller messages go
// out uncompressed, which the extension allows.
const compressMin = 128

// flateTail ends every compressed message on the wire (RFC 7692, section
// 7.2.1); flateEnd also closes the stream so a reader ends with io.EOF.
var (
	flateTail = []byte{0x00, 0x00, 0xff, 0xff}
	flateEnd  = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}
)

// deflate is one connection's negotiated compression state.
type deflate struct {
	serverContext bool // we keep our compression window between messages
	clientContext bool // the client keeps its window: we must keep ours for inflating

	mu     sync.Mutex    // with serverContext: held from compressing a message until it is written
	writer *flate.Writer // with serverContext: the connection's own compressor, writing to sink
	sink   bytes.Buffer
	dict   []byte // with clientContext: the last 32 KiB we inflated
}

// negotiateDeflate picks the first acceptable permessage-deflate offer and
// returns the response option and the connection's state, or a zero option
// when compression is off or no offer is acceptable. Malformed offers are
// declined, not fatal.
func negotiateDeflate(mode CompressionMode, offers []httphead.Option) (httphead.Option, *deflate) {
	if mode == CompressionDisabled {
		return httphead.Option{}, nil
	}
	for _, opt := range offers {
		if !bytes.Equal(opt.Name, wsflate.ExtensionNameBytes) {
			continue
		}
		var offer wsflate.Parameters
		if repeatsParameter(opt) || offer.Parse(opt) != nil {
			continue // RFC 7692, section 7: a malformed offer is declined
		}
		// compress/flate always uses a 32 KiB window: a client that asks for a
		// smaller one cannot read our messages.
		if offer.ServerMaxWindowBits.Defined() && offer.ServerMaxWindowBits < 15 {
			continue
		}
		resp := wsflate.Parameters{
			ServerNoContextTakeover: offer.ServerNoContextTakeover || mode == CompressionNoContextTakeover,
			ClientNoContextTakeover: offer.ClientNoContextTakeover || mode == CompressionNoContextTakeover,
			ServerMaxWindowBits:     offer.ServerMaxWindowBits,
		}
		d := &deflate{serverContext: !resp.ServerNoContextTakeover, clientContext: !resp.ClientNoContextTakeover}
		return resp.Option(), d
	}
	return httphead.Option{}, nil
}

// repeatsParameter reports whether an offer names a parameter twice, which
// wsflate's parser lets through for client_max_window_bits without a value.
func repeatsParameter(opt httphead.Option) bool {
	seen := map[string]bool{}
	repeated := false
	opt.Parameters.ForEach(func(k, _ []byte) bool {
		name := strings.ToLower(string(k))
		repeated = seen[name]
		seen[name] = true
		return !repeated
	})
	return repeated
}

var (
	flateWriters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed)
		return w
	}}
	flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
)

// compressMessage deflates p on its own into a new payload, without the
// trailing 0x00 0x00 0xff 0xff, with a pooled compressor.
func compressMessage(p []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(p)/2 + 16)
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(&buf)
	w.Write(p)
	w.Flush()
	flateWriters.Put(w)
	return bytes.TrimSuffix(buf.Bytes(), flateTail)
}

// compress deflates one outgoing message. With context takeover, every
// message goes through the connection's one compressor, flushed after each
// message so the window carries over; the caller holds d.mu until the frame
// is written, so messages reach the wire in the order they were compressed.
func (d *deflate) compress(p []byte) []byte {
	if !d.serverContext {
		return compressMessage(p)
	}
	if d.writer == nil {
		d.writer, _ = flate.NewWriter(&d.sink, flate.BestSpeed)
	}
	d.sink.Reset()
	d.writer.Write(p)
	d.writer.Flush()
	return bytes.Clone(bytes.TrimSuffix(d.sink.Bytes(), flateTail))
}

// inflate decompresses a message payload, failing with errTooBig when the
// result would pass limit (a decompression bomb).
func (d *deflate) inflate(p []byte, limit int64) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(p), bytes.NewReader(flateEnd))
	r := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(r)
	r.(flate.Resetter).Reset(src, d.dict)
	out := make([]byte, 0, min(max(2*len(p), 512), int(limit)+1))
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if limit > 0 && int64(len(out)) > limit {
			return nil, errTooBig
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, protoErr(CloseInvalidFramePayloadData, "invalid compressed data")
		}
	}
	if d.clientContext {
		d.keepWindow(out)
	}
	return out, nil
}

// keepWindow remembers the last 32 KiB of inflated data, the dictionary for
// the client's next message.
func (d *deflate) keepWindow(out []byte) {
	const window = 32 << 10
	if len(out) >= window {
		d.dict = append(d.dict[:0], out[len(out)-window:]...)
		return
	}
	d.dict = append(d.dict, out...)
	if len(d.dict) > window {
		d.dict = append(d.dict[:0], d.dict[len(d.dict)-window:]...)
	}
}

var errTooBig = protoErr(CloseMessageTooBig, "message exceeds the read limit once decompressed")
