// Package frame is wsapi's WebSocket codec: RFC 6455 frame headers and the
// checks a server applies to a client's frames, frame and close-payload
// encoding, the UTF-8 validation of text that arrives in pieces, and
// permessage-deflate (RFC 7692) compression with bounded inflation. Its
// functions work on bytes and know nothing of connections, so they are
// tested, and fuzzed, on their own.
package frame

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Close codes this package reports (RFC 6455, section 7.4.1).
const (
	CodeProtocolError           = 1002
	CodeInvalidFramePayloadData = 1007
	CodeMessageTooBig           = 1009
)

// Error is a violation of the protocol found in what a client sent, with
// the close code the connection must be failed with.
type Error struct {
	Code   uint16
	Reason string
}

// Error returns the reason, as the connection's log and close frame give it.
func (e *Error) Error() string { return "wsapi: " + e.Reason }

func protocolError(reason string) error { return &Error{CodeProtocolError, reason} }

// Header is a parsed frame header.
type Header struct {
	Fin    bool
	Rsv    byte // the three reserved bits, RSV1 as 4
	Op     ws.OpCode
	Masked bool
	Length int64
	Mask   [4]byte
}

// MaxServerHeader is the largest header of a server frame, which is not
// masked.
const MaxServerHeader = 10

// ParseHeader parses the frame header at the start of b. With all of it in
// b, it returns the header and its size, and ok. With fewer bytes, but at
// least two, it returns what the first two bytes say (fin, reserved bits,
// opcode, mask bit, and Length as the 7-bit field: 126 and 127 announce a
// longer length) and the header's full size, with ok false: enough to check
// the frame before the rest of its header arrives. An error reports a
// 64-bit length with its most significant bit set.
func ParseHeader(b []byte) (h Header, n int, ok bool, err error) {
	if len(b) < 2 {
		return h, 2, false, nil
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.Rsv = (b0 >> 4) & 0x7
	h.Op = ws.OpCode(b0 & 0x0f)
	h.Masked = b1&0x80 != 0
	h.Length = int64(b1 & 0x7f)
	ext := 0
	switch h.Length {
	case 126:
		ext = 2
	case 127:
		ext = 8
	}
	n = 2 + ext
	if h.Masked {
		n += 4
	}
	// The length fails as soon as its bytes are there, mask or not.
	if ext == 8 && len(b) >= 10 && b[2]&0x80 != 0 {
		return h, n, false, protocolError("frame length has its most significant bit set")
	}
	if len(b) < n {
		return h, n, false, nil
	}
	switch ext {
	case 2:
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
	case 8:
		h.Length = int64(binary.BigEndian.Uint64(b[2:]))
	}
	if h.Masked {
		copy(h.Mask[:], b[2+ext:])
	}
	return h, n, true, nil
}

// CheckClient applies RFC 6455, section 5, to the header of a frame a
// client sent; Length may still be the 7-bit field. compression says that
// permessage-deflate was negotiated, and inMessage that a fragmented data
// message is unfinished.
func CheckClient(h Header, compression, inMessage bool) error {
	data := h.Op == ws.OpText || h.Op == ws.OpBinary
	switch {
	case h.Rsv == 4 && compression && data:
		// RSV1 marks a compressed message, on its first frame only.
	case h.Rsv == 4 && compression:
		return protocolError("compression bit on a control frame or a continuation")
	case h.Rsv != 0:
		return protocolError("reserved bits set without a negotiated extension")
	case h.Op.IsReserved():
		return protocolError("reserved opcode")
	case !h.Masked:
		return protocolError("client frames must be masked")
	case h.Op.IsControl() && !h.Fin:
		return protocolError("fragmented control frame")
	case h.Op.IsControl() && h.Length > 125:
		return protocolError("control frame payload over 125 bytes")
	case h.Op == ws.OpContinuation && !inMessage:
		return protocolError("continuation frame without a message to continue")
	case data && inMessage:
		return protocolError("new data message inside an unfinished one")
	}
	return nil
}

// PutHeader writes the header of a final, unmasked frame of n payload bytes
// into b, which holds at least MaxServerHeader bytes, and returns its
// length. rsv1 marks a compressed message.
func PutHeader(b []byte, rsv1 bool, op ws.OpCode, n int) int {
	b[0] = 0x80 | byte(op)
	if rsv1 {
		b[0] |= 0x40
	}
	switch {
	case n <= 125:
		b[1] = byte(n)
		return 2
	case n <= 0xffff:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return 4
	}
	b[1] = 127
	binary.BigEndian.PutUint64(b[2:], uint64(n))
	return 10
}

// Encode returns a final, unmasked frame holding payload, as a server sends
// it; rsv1 marks a compressed message.
func Encode(rsv1 bool, op ws.OpCode, payload []byte) []byte {
	var hdr [MaxServerHeader]byte
	n := PutHeader(hdr[:], rsv1, op, len(payload))
	b := make([]byte, n+len(payload))
	copy(b, hdr[:n])
	copy(b[n:], payload)
	return b
}

// NoStatus is the close code a close frame without a payload reports
// (RFC 6455's 1005); ClosePayload encodes it as an empty payload.
const NoStatus = 1005

// ClosePayload encodes a close frame's payload: the code, then the reason.
func ClosePayload(code uint16, reason string) []byte {
	if code == NoStatus {
		return nil
	}
	p := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(p, code)
	copy(p[2:], reason)
	return p
}

// ParseClose reads the payload of a client's close frame: its code
// (NoStatus when the payload is empty) and its reason. It fails when the
// payload is one byte long, the code may not be sent (see Sendable), or the
// reason is not valid UTF-8.
func ParseClose(p []byte) (code uint16, reason string, err error) {
	switch {
	case len(p) == 0:
		return NoStatus, "", nil
	case len(p) == 1:
		return 0, "", protocolError("close frame with a 1-byte payload")
	}
	code = binary.BigEndian.Uint16(p)
	if !Sendable(code) {
		return 0, "", protocolError("close frame with an invalid code")
	}
	if !utf8.Valid(p[2:]) {
		return 0, "", &Error{CodeInvalidFramePayloadData, "close reason is not valid UTF-8"}
	}
	return code, string(p[2:]), nil
}

// Sendable reports whether code may appear in a close frame on the wire
// (RFC 6455, sections 7.4.1 and 7.4.2): not 1004, 1005, 1006 or 1015, nor
// one outside the defined and registrable ranges.
func Sendable(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
