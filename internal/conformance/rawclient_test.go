package conformance

// A tiny WebSocket client that speaks raw frames over a TCP socket, built on
// the standard library only. It encodes exactly the frames a case asks for,
// valid or not, writes them whole, in chops or frame by frame, and checks
// every frame the server sends against RFC 6455 as it reads it.
//
// Masking is done here rather than with gobwas/ws, so that a bug in the
// library the server uses cannot hide itself by being on both sides.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// Opcodes (RFC 6455, section 5.2).
const (
	opCont   byte = 0x0
	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	opPing   byte = 0x9
	opPong   byte = 0xA
)

// RSV bits as the 3-bit value of bits 4..6 of the first byte, numbered as
// Autobahn numbers them: 4 is RSV1, 2 is RSV2, 1 is RSV3.
const (
	rsv1 byte = 4
	rsv2 byte = 2
	rsv3 byte = 1
)

// Timeouts: a misbehaving server fails a case, it never hangs the run.
const (
	dialTimeout  = 5 * time.Second
	frameTimeout = 5 * time.Second  // waiting for one expected frame
	eofTimeout   = 2 * time.Second  // waiting for the TCP close after a close frame
	writeTimeout = 10 * time.Second // one write of the client
	quietPeriod  = 300 * time.Millisecond
)

// noCode stands for "an empty close payload" among the close codes a case accepts.
const noCode = -1

const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// frame is a client frame to encode, or a server frame that was read.
type frame struct {
	fin      bool
	rsv      byte
	op       byte
	payload  []byte
	unmasked bool // client frames: send without a mask (a protocol violation)
	masked   bool // server frames: the mask bit was set (a protocol violation)
}

func fr(fin bool, op byte, p []byte) frame { return frame{fin: fin, op: op, payload: p} }
func txt(s string) frame                   { return frame{fin: true, op: opText, payload: []byte(s)} }
func bin(b []byte) frame                   { return frame{fin: true, op: opBinary, payload: b} }
func ping(p string) frame                  { return frame{fin: true, op: opPing, payload: []byte(p)} }
func pong(p string) frame                  { return frame{fin: true, op: opPong, payload: []byte(p)} }

// closeF is a close frame with code and reason; code noCode sends an empty payload.
func closeF(code int, reason string) frame {
	if code == noCode {
		return frame{fin: true, op: opClose}
	}
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return frame{fin: true, op: opClose, payload: append(p, reason...)}
}

func (f frame) withRSV(rsv byte) frame { f.rsv = rsv; return f }
func (f frame) noMask() frame          { f.unmasked = true; return f }

func opName(op byte) string {
	switch op {
	case opCont:
		return "continuation"
	case opText:
		return "text"
	case opBinary:
		return "binary"
	case opClose:
		return "close"
	case opPing:
		return "ping"
	case opPong:
		return "pong"
	}
	return fmt.Sprintf("opcode-%d", op)
}

func preview(p []byte) string {
	if len(p) <= 40 {
		return fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("%q...(%d bytes)", p[:24], len(p))
}

func (f frame) String() string {
	var b strings.Builder
	b.WriteString(opName(f.op))
	if !f.fin {
		b.WriteString(" fin=0")
	}
	if f.rsv != 0 {
		fmt.Fprintf(&b, " rsv=%d", f.rsv)
	}
	if f.unmasked || f.masked {
		b.WriteString(" (mask bit wrong)")
	}
	if f.op == opClose && len(f.payload) >= 2 {
		fmt.Fprintf(&b, " code=%d reason=%s", binary.BigEndian.Uint16(f.payload), preview(f.payload[2:]))
	} else {
		fmt.Fprintf(&b, " len=%d %s", len(f.payload), preview(f.payload))
	}
	return b.String()
}

// encode returns the frame's wire bytes, masked with a fresh random key
// unless the frame is marked unmasked.
func (f frame) encode() []byte { return f.appendTo(nil) }

func (f frame) appendTo(dst []byte) []byte {
	return appendFrame(dst, f.fin, f.rsv, f.op, uint64(len(f.payload)), f.payload, !f.unmasked)
}

// encodeFrame encodes a frame header announcing length bytes, followed by
// payload (which may be shorter than length, or absent, to send a header
// alone). The length is encoded in the minimal form, except that lengths
// with the most significant bit set are written as given.
func encodeFrame(fin bool, rsv, op byte, length uint64, payload []byte, masked bool) []byte {
	return appendFrame(nil, fin, rsv, op, length, payload, masked)
}

// appendFrame is encodeFrame appending to dst.
func appendFrame(dst []byte, fin bool, rsv, op byte, length uint64, payload []byte, masked bool) []byte {
	b := slices.Grow(dst, 14+len(payload))
	b0 := op&0x0f | (rsv&7)<<4
	if fin {
		b0 |= 0x80
	}
	var mbit byte
	if masked {
		mbit = 0x80
	}
	b = append(b, b0)
	switch {
	case length <= 125:
		b = append(b, mbit|byte(length))
	case length <= 0xffff:
		b = append(b, mbit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(length))
	default:
		b = append(b, mbit|127)
		b = binary.BigEndian.AppendUint64(b, length)
	}
	if !masked {
		return append(b, payload...)
	}
	var key [4]byte
	if _, err := rand.Read(key[:]); err != nil {
		panic(err)
	}
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	maskBytes(b[start:], key)
	return b
}

// headerOnly returns a masked frame header announcing length payload bytes,
// without the payload.
func headerOnly(fin bool, op byte, length uint64) []byte {
	return encodeFrame(fin, 0, op, length, nil, true)
}

// maskBytes XORs p with the masking key (RFC 6455, section 5.3). It works
// through a 4 KiB key stream with crypto/subtle, which keeps multi-megabyte
// frames cheap under -race.
func maskBytes(p []byte, key [4]byte) {
	var stream [4096]byte
	for i := 0; i < len(stream); i += 4 {
		copy(stream[i:], key[:])
	}
	for len(p) > 0 {
		n := subtle.XORBytes(p, p, stream[:])
		p = p[n:]
	}
}

// encodeAll encodes the frames back to back, in one allocation.
func encodeAll(fs ...frame) []byte {
	n := 0
	for _, f := range fs {
		n += 14 + len(f.payload)
	}
	b := make([]byte, 0, n)
	for _, f := range fs {
		b = f.appendTo(b)
	}
	return b
}

// serverViolation is an RFC 6455 violation in what the server sent.
type serverViolation struct{ msg string }

func (e *serverViolation) Error() string { return "server violated RFC 6455: " + e.msg }

// rawConn is one raw client connection.
type rawConn struct {
	t       testing.TB
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration // per expected frame; frameTimeout unless a case raises it

	pending *frame // a frame given back with unread

	closeSent bool   // this client sent a close frame
	noReply   string // when set, why the client does not answer the server's close
	writeErr  error  // the first failed write, reported with later failures

	resp    http.Header    // the headers of the server's 101 answer
	deflate *clientDeflate // permessage-deflate state, once a case has negotiated it

	mu  sync.Mutex
	log []string // transcript, printed when the case fails
}

func (c *rawConn) logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.log) < 400 {
		c.log = append(c.log, fmt.Sprintf(format, args...))
	}
}

func (c *rawConn) transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "  " + strings.Join(c.log, "\n  ")
}

// fatalf fails the case, adding the first write error, which often explains
// what followed.
func (c *rawConn) fatalf(format string, args ...any) {
	c.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if c.writeErr != nil {
		msg += fmt.Sprintf(" (an earlier write failed: %v)", c.writeErr)
	}
	c.t.Fatal(msg)
}

func (c *rawConn) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf(format, args...)
}

// newKey returns a fresh Sec-WebSocket-Key.
func newKey() string {
	var k [16]byte
	rand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}

func acceptFor(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// dial opens a connection to the echo route.
func dial(t testing.TB) *rawConn { return dialWith(t, "/echo", nil) }

// dialWith opens a connection to path; early bytes, if any, are written in
// the same write as the handshake request, before its answer arrives.
func dialWith(t testing.TB, path string, early []byte) *rawConn {
	t.Helper()
	return dialTo(t, dialOptions{path: path, early: early})
}

// dialOptions says where and how dialTo connects.
type dialOptions struct {
	addr       string   // host:port; serverAddr when empty
	path       string   // "/echo" when empty
	early      []byte   // bytes written right behind the request
	extensions []string // Sec-WebSocket-Extensions lines offered, one header each
}

// dialTo opens a connection as o says and checks the 101 answer; the
// answer's headers are kept in c.resp.
func dialTo(t testing.TB, o dialOptions) *rawConn {
	t.Helper()
	if o.addr == "" {
		o.addr = serverAddr
	}
	if o.path == "" {
		o.path = "/echo"
	}
	nc, err := net.DialTimeout("tcp", o.addr, dialTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", o.addr, err)
	}
	c := &rawConn{t: t, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), timeout: frameTimeout}
	t.Cleanup(func() {
		nc.Close()
		if t.Failed() {
			t.Logf("transcript (→ client to server, ← server to client):\n%s", c.transcript())
		}
	})
	key := newKey()
	req := "GET " + o.path + " HTTP/1.1\r\n" +
		"Host: " + o.addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n"
	for _, x := range o.extensions {
		req += "Sec-WebSocket-Extensions: " + x + "\r\n"
		c.logf("→ offer Sec-WebSocket-Extensions: %s", x)
	}
	req += "\r\n"
	nc.SetDeadline(time.Now().Add(dialTimeout))
	if _, err := nc.Write(append([]byte(req), o.early...)); err != nil {
		t.Fatalf("writing the handshake: %v", err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading the handshake response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("handshake: got status %d, want 101 (body %q)", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptFor(key); got != want {
		t.Fatalf("handshake: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	nc.SetDeadline(time.Time{})
	c.resp = resp.Header
	c.logf("handshake ok (101)")
	if x := resp.Header.Values("Sec-WebSocket-Extensions"); len(x) > 0 {
		c.logf("← answer Sec-WebSocket-Extensions: %s", strings.Join(x, ", "))
	}
	return c
}

// sendBytes writes b in one write. A failed write is recorded, not fatal:
// the server may rightly have closed the connection, and what the case reads
// next tells whether that was right.
func (c *rawConn) sendBytes(b []byte) {
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout + c.timeout))
	if _, err := c.nc.Write(b); err != nil {
		c.logf("→ write of %d bytes failed: %v", len(b), err)
		if c.writeErr == nil {
			c.writeErr = err
		}
	}
}

// send writes the frames in one write.
func (c *rawConn) send(fs ...frame) {
	for _, f := range fs {
		c.logf("→ %s", f)
		if f.op == opClose {
			c.closeSent = true
		}
	}
	c.sendBytes(encodeAll(fs...))
}

// sendEach writes the frames one write each, pausing between them.
func (c *rawConn) sendEach(pause time.Duration, fs ...frame) {
	for i, f := range fs {
		if i > 0 {
			time.Sleep(pause)
		}
		c.send(f)
	}
}

// sendChopped writes the frames' bytes in pieces of chop bytes, pausing
// after each piece, so that the server sees frames arrive piecemeal.
func (c *rawConn) sendChopped(chop int, pause time.Duration, fs ...frame) {
	for _, f := range fs {
		c.logf("→ %s (in chops of %d bytes)", f, chop)
		if f.op == opClose {
			c.closeSent = true
		}
	}
	c.sendChoppedBytes(encodeAll(fs...), chop, pause)
}

func (c *rawConn) sendChoppedBytes(b []byte, chop int, pause time.Duration) {
	for len(b) > 0 {
		n := min(chop, len(b))
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.nc.Write(b[:n]); err != nil {
			c.logf("→ chopped write failed: %v", err)
			if c.writeErr == nil {
				c.writeErr = err
			}
			return
		}
		b = b[n:]
		if pause > 0 {
			time.Sleep(pause)
		}
	}
}

// readFrame reads one server frame, checking it against RFC 6455 section 5:
// no mask, no RSV bit (but RSV1 on the first frame of a data message once
// permessage-deflate is negotiated, RFC 7692 section 6), a known opcode,
// control frames final and at most 125 bytes, close payloads well formed.
func (c *rawConn) readFrame(timeout time.Duration) (frame, error) {
	if f := c.pending; f != nil {
		c.pending = nil
		return *f, nil
	}
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	var f frame
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return f, err
	}
	f.fin = h[0]&0x80 != 0
	f.rsv = (h[0] >> 4) & 7
	f.op = h[0] & 0x0f
	f.masked = h[1]&0x80 != 0
	length := uint64(h[1] & 0x7f)
	switch length {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return f, err
		}
		length = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return f, err
		}
		length = binary.BigEndian.Uint64(ext[:])
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(c.br, key[:]); err != nil {
			return f, err
		}
	}
	switch {
	case length > 64<<20:
		return f, &serverViolation{fmt.Sprintf("%s frame announces %d bytes", opName(f.op), length)}
	case f.masked:
		return f, &serverViolation{"server frame is masked (section 5.1)"}
	case f.rsv == rsv1 && c.deflate != nil && (f.op == opText || f.op == opBinary):
		// A compressed message (RFC 7692, section 6).
	case f.rsv != 0 && c.deflate != nil:
		return f, &serverViolation{fmt.Sprintf("server %s frame has RSV bits %d set: with permessage-deflate "+
			"only RSV1, and only on the first frame of a data message, may be set (RFC 7692, section 6)", opName(f.op), f.rsv)}
	case f.rsv != 0:
		return f, &serverViolation{fmt.Sprintf("server frame has RSV bits %d set without an extension", f.rsv)}
	case f.op >= 3 && f.op <= 7 || f.op >= 0xB:
		return f, &serverViolation{fmt.Sprintf("server frame with reserved opcode %d", f.op)}
	case f.op >= 8 && (!f.fin || length > 125):
		return f, &serverViolation{fmt.Sprintf("server %s frame fragmented or over 125 bytes (len %d)", opName(f.op), length)}
	}
	f.payload = make([]byte, length)
	if _, err := io.ReadFull(c.br, f.payload); err != nil {
		return f, fmt.Errorf("reading a %d-byte %s payload: %w", length, opName(f.op), err)
	}
	c.logf("← %s", f)
	return f, nil
}

// unread gives f back: the next readFrame returns it.
func (c *rawConn) unread(f frame) { c.pending = &f }

// describe explains a read error for a failure message.
func describe(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "nothing arrived before the timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the TCP connection (EOF) without sending it"
	case errors.Is(err, syscall.ECONNRESET):
		return "the server reset the TCP connection without sending it"
	}
	return err.Error()
}

// next reads the next frame, failing the case on any error.
func (c *rawConn) next(what string) frame {
	c.t.Helper()
	f, err := c.readFrame(c.timeout)
	if err != nil {
		c.fatalf("waiting for %s: %s", what, describe(err))
	}
	return f
}

// expectMessage reads the next data message, assembling fragments and
// inflating it if it came compressed, and checks its type and payload.
func (c *rawConn) expectMessage(op byte, want []byte) {
	c.t.Helper()
	c.expectMessageZ(op, want)
}

// expectMessageZ is expectMessage, also reporting whether the message came
// compressed (RSV1 set on its first frame).
func (c *rawConn) expectMessageZ(op byte, want []byte) (compressed bool) {
	c.t.Helper()
	what := fmt.Sprintf("the echo of a %d-byte %s message", len(want), opName(op))
	f := c.next(what)
	if f.op != opText && f.op != opBinary {
		c.fatalf("waiting for %s: got a %s frame instead", what, f)
	}
	gotOp, got := f.op, f.payload
	compressed = f.rsv&rsv1 != 0
	for !f.fin {
		f = c.next(what + " (continuation)")
		if f.op != opCont {
			c.fatalf("waiting for the continuation of %s: got %s", what, f)
		}
		got = append(got, f.payload...)
	}
	if compressed {
		wire := len(got)
		var err error
		if got, err = c.deflate.inflate(got); err != nil {
			c.fatalf("%s: the server's compressed payload (%d bytes) does not inflate: %v", what, wire, err)
		}
		c.logf("  (inflated %d bytes to %d)", wire, len(got))
	}
	if gotOp != op {
		c.fatalf("echo has opcode %s, want %s", opName(gotOp), opName(op))
	}
	if gotOp == opText && !utf8.Valid(got) {
		c.fatalf("server sent a text message that is not valid UTF-8")
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		c.fatalf("echo differs from what was sent: got %d bytes, want %d; first difference at offset %d", len(got), len(want), i)
	}
	return compressed
}

func (c *rawConn) expectText(s string)   { c.t.Helper(); c.expectMessage(opText, []byte(s)) }
func (c *rawConn) expectBinary(b []byte) { c.t.Helper(); c.expectMessage(opBinary, b) }

// expectPong reads the next frame, which must be a pong carrying payload.
func (c *rawConn) expectPong(payload string) {
	c.t.Helper()
	f := c.next(fmt.Sprintf("a pong with payload %s", preview([]byte(payload))))
	if f.op != opPong {
		c.fatalf("want a pong with payload %s, got %s", preview([]byte(payload)), f)
	}
	if string(f.payload) != payload {
		c.fatalf("pong payload %s, want %s", preview(f.payload), preview([]byte(payload)))
	}
}

// expectQuiet checks that the server sends nothing, and keeps the
// connection open, for d.
func (c *rawConn) expectQuiet(d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	_, err := c.br.Peek(1)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return
	}
	if err != nil {
		c.fatalf("expected the connection to stay open and quiet for %v: %s", d, describe(err))
	}
	f, err := c.readFrame(c.timeout)
	if err != nil {
		c.fatalf("expected nothing for %v, but bytes arrived and then: %v", d, err)
	}
	c.fatalf("expected nothing for %v, got %s", d, f)
}

// closeResult is what expectClose saw.
type closeResult struct {
	code   int // noCode for an empty payload
	reason string
	reset  bool // the TCP connection ended with a reset rather than a FIN
}

// expectClose reads the server's close frame, which must come next and carry
// one of codes (noCode: an empty payload), then answers it with a close
// frame of the same code unless the client already sent one, then checks
// that the server closes the TCP connection within eofTimeout and that the
// close frame was the last thing it sent.
func (c *rawConn) expectClose(codes ...int) closeResult {
	c.t.Helper()
	var res closeResult
	wantS := fmt.Sprint(codes)
	if slices.Equal(codes, []int{noCode}) {
		wantS = "[empty]"
	}
	what := "a close frame with code " + wantS
	f := c.next(what)
	if f.op != opClose {
		c.fatalf("waiting for %s: got %s", what, f)
	}
	switch len(f.payload) {
	case 0:
		res.code = noCode
	case 1:
		c.fatalf("server close frame has a 1-byte payload (section 5.5.1)")
	default:
		res.code = int(binary.BigEndian.Uint16(f.payload))
		res.reason = string(f.payload[2:])
		if !utf8.ValidString(res.reason) {
			c.errorf("server close reason is not valid UTF-8: %q", res.reason)
		}
		if len(res.reason) > 123 {
			c.errorf("server close reason is %d bytes, over 123", len(res.reason))
		}
		if !sendableCode(res.code) {
			c.errorf("server sent close code %d, which may not be sent on the wire (section 7.4)", res.code)
		}
	}
	if !slices.Contains(codes, res.code) {
		got := fmt.Sprint(res.code)
		if res.code == noCode {
			got = "empty (no code)"
		}
		c.errorf("server closed with code %s (reason %q), want %s", got, res.reason, wantS)
	}
	if !c.closeSent && c.noReply == "" {
		// Answer the server's close as a client should (section 5.5.1).
		reply := closeF(res.code, "")
		if res.code == noCode {
			reply = closeF(noCode, "")
		}
		c.send(reply)
	}
	res.reset = c.expectEOF()
	if res.reset {
		note(c.t, "%s: the server ended the TCP connection with a reset (RST) after its close frame, not a FIN", c.t.Name())
	}
	return res
}

// expectEOF checks that nothing follows and the server closes the TCP
// connection within eofTimeout; it reports whether that was a reset.
func (c *rawConn) expectEOF() (reset bool) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(eofTimeout))
	buf := make([]byte, 512)
	n, err := c.br.Read(buf)
	if n > 0 {
		extra := buf[:n]
		c.logf("← %d bytes after the close frame: %q", n, extra)
		c.errorf("server sent %d bytes after its close frame (section 5.5.1: nothing may follow it): %q", n, extra)
		return false
	}
	var ne net.Error
	switch {
	case err == nil:
		c.errorf("server neither sent bytes nor closed the connection")
	case errors.Is(err, io.EOF):
		c.logf("← EOF")
	case errors.Is(err, syscall.ECONNRESET):
		c.logf("← connection reset")
		return true
	case errors.As(err, &ne) && ne.Timeout() && c.noReply != "":
		c.errorf("server did not close the TCP connection within %v after its close frame; "+
			"this client did not answer that close frame (%s), so a server waiting for the answer would explain it", eofTimeout, c.noReply)
	case errors.As(err, &ne) && ne.Timeout():
		c.errorf("server did not close the TCP connection within %v after the close frame (section 7.1.1: the server should close it first)", eofTimeout)
	default:
		c.errorf("after the close frame: %v", err)
	}
	return false
}

// closeNormally runs a client-initiated close handshake with code 1000 and
// checks the server echoes 1000 and closes the TCP connection.
func (c *rawConn) closeNormally() {
	c.t.Helper()
	c.send(closeF(1000, ""))
	c.expectClose(1000)
}

// expectFail checks that the server fails the connection with code.
func (c *rawConn) expectFail(code int) closeResult {
	c.t.Helper()
	return c.expectClose(code)
}

// sendableCode reports whether a close code may appear on the wire.
func sendableCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// isReset reports a connection reset, for writes after the server left.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}
