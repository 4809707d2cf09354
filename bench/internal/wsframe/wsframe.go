// Package wsframe holds the few pieces of RFC 6455 the harness writes by
// hand: the handshake key, frame headers and masking. The raw-epoll server
// (the "ceiling") and the load generator use it, so neither depends on a
// WebSocket library.
package wsframe

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// Opcodes.
const (
	OpCont   = 0x0
	OpText   = 0x1
	OpBinary = 0x2
	OpClose  = 0x8
	OpPing   = 0x9
	OpPong   = 0xA
)

const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(guid))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Header is a decoded frame header.
type Header struct {
	Fin    bool
	Op     byte
	Masked bool
	Mask   [4]byte
	Len    int64
}

// ErrProtocol reports a frame header this package refuses (reserved bits,
// a 64-bit length with its top bit set).
var ErrProtocol = errors.New("wsframe: protocol error")

// ParseHeader decodes the frame header at the start of b. It returns the
// header and its size, or ok=false when b does not hold a whole header yet.
func ParseHeader(b []byte) (h Header, n int, ok bool, err error) {
	if len(b) < 2 {
		return h, 0, false, nil
	}
	if b[0]&0x70 != 0 {
		return h, 0, false, ErrProtocol
	}
	h.Fin = b[0]&0x80 != 0
	h.Op = b[0] & 0x0f
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, false, nil
		}
		h.Len = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, false, nil
		}
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return h, 0, false, ErrProtocol
		}
		h.Len = int64(u)
		n = 10
	default:
		h.Len = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, false, nil
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, true, nil
}

// AppendHeader appends a frame header to dst. A nil mask makes an unmasked
// (server) frame.
func AppendHeader(dst []byte, fin bool, op byte, length int, mask *[4]byte) []byte {
	b0 := op & 0x0f
	if fin {
		b0 |= 0x80
	}
	var mbit byte
	if mask != nil {
		mbit = 0x80
	}
	switch {
	case length < 126:
		dst = append(dst, b0, mbit|byte(length))
	case length <= 0xffff:
		dst = append(dst, b0, mbit|126, byte(length>>8), byte(length))
	default:
		dst = append(dst, b0, mbit|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if mask != nil {
		dst = append(dst, mask[:]...)
	}
	return dst
}

// AppendFrame appends a whole single-frame message to dst, masking the
// payload when mask is not nil.
func AppendFrame(dst []byte, op byte, payload []byte, mask *[4]byte) []byte {
	dst = AppendHeader(dst, true, op, len(payload), mask)
	start := len(dst)
	dst = append(dst, payload...)
	if mask != nil {
		Mask(dst[start:], *mask, 0)
	}
	return dst
}

// Mask XORs b with the mask key, starting at offset pos of the key
// stream, eight bytes at a time. It returns the offset for the next call.
func Mask(b []byte, key [4]byte, pos int) int {
	k := [4]byte{key[pos&3], key[(pos+1)&3], key[(pos+2)&3], key[(pos+3)&3]}
	k32 := binary.LittleEndian.Uint32(k[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		binary.LittleEndian.PutUint64(b[i:], v^k64)
	}
	for j := 0; i < len(b); i, j = i+1, j+1 {
		b[i] ^= k[j&3]
	}
	return (pos + len(b)) & 3
}

// Request is a parsed handshake request: just what the harness needs.
type Request struct {
	Method, Path string
	Key          string // Sec-WebSocket-Key
	Upgrade      bool   // Upgrade: websocket
}

// ParseRequest parses an HTTP/1.1 request head (through the blank line).
func ParseRequest(head []byte) (Request, error) {
	var r Request
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	parts := bytes.Fields(line)
	if len(parts) != 3 {
		return r, errors.New("wsframe: bad request line")
	}
	r.Method, r.Path = string(parts[0]), string(parts[1])
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Sec-WebSocket-Key")):
			r.Key = string(v)
		case bytes.EqualFold(k, []byte("Upgrade")):
			r.Upgrade = bytes.EqualFold(v, []byte("websocket"))
		}
	}
	return r, nil
}

// HeadEnd returns the index just past the "\r\n\r\n" ending an HTTP head
// in b, or -1.
func HeadEnd(b []byte) int {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return -1
	}
	return i + 4
}
