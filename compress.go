package wsapi

import (
	"bytes"
	"strings"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
	"github.com/wsapi-go/wsapi/internal/frame"
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

// deflate is one connection's negotiated compression state.
type deflate struct {
	serverContext bool // we keep our compression window between messages
	clientContext bool // the client keeps its window: we must keep ours for inflating

	mu     sync.Mutex       // with serverContext: held from compressing a message until it is written
	comp   frame.Compressor // with serverContext: the connection's own compressor
	window frame.Window     // with clientContext: the last 32 KiB we inflated
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

// compress deflates one outgoing message. With context takeover, every
// message goes through the connection's one compressor; the caller holds
// d.mu until the frame is written, so messages reach the wire in the order
// they were compressed.
func (d *deflate) compress(p []byte) []byte {
	if !d.serverContext {
		return frame.Compress(p)
	}
	return d.comp.Compress(p)
}

// inflate decompresses a message payload, failing with frame.ErrTooBig when
// the result would pass limit (a decompression bomb).
func (d *deflate) inflate(p []byte, limit int64) ([]byte, error) {
	var dict []byte
	if d.clientContext {
		dict = d.window.Dict()
	}
	out, err := frame.Inflate(p, dict, limit)
	if err == nil && d.clientContext {
		d.window.Keep(out)
	}
	return out, err
}
