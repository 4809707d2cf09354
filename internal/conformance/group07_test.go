package conformance

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Group 7: the closing handshake (RFC 6455, sections 5.5.1, 7 and 7.4).
// Every close check reads the server's close frame, checks its code and
// reason, and then requires the server to close the TCP connection with
// nothing after the close frame.
func groupClose() *group {
	g := &group{id: "7", title: "close handling"}
	g.cases = []testCase{
		{id: "7.1.1", name: "message_then_close", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt("Hello World!"))
			c.expectText("Hello World!")
			c.send(closeF(1000, ""))
			c.expectClose(1000)
		}},
		{id: "7.1.2", name: "close_twice", run: func(t *testing.T) {
			c := dial(t)
			c.send(closeF(1000, ""), closeF(1000, ""))
			c.expectClose(1000) // one close frame, then EOF
		}},
		{id: "7.1.3", name: "close_then_ping_not_answered", run: func(t *testing.T) {
			c := dial(t)
			c.send(closeF(1000, ""), ping("Hello World!"))
			c.expectClose(1000)
		}},
		{id: "7.1.4", name: "close_then_text_not_echoed", run: func(t *testing.T) {
			c := dial(t)
			c.send(closeF(1000, ""), txt("Hello World!"))
			c.expectClose(1000)
		}},
		{id: "7.1.5", name: "fragment_close_fragment", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("fragment1")), closeF(1000, ""), fr(true, opCont, []byte("fragment2")))
			c.expectClose(1000)
		}},
		{id: "7.1.6", name: "256KiB_message_then_close_then_ping", run: func(t *testing.T) {
			// Autobahn calls this informational: the echo may or may not
			// come before the close. A pong must not come after it.
			c := dial(t)
			p := textOf(256 << 10)
			c.send(frame{fin: true, op: opText, payload: p}, closeF(1000, ""), ping("Hello World!"))
			f := c.next("the echo or the close frame")
			if f.op == opText {
				if string(f.payload) != string(p) || !f.fin {
					c.fatalf("echo of the 256 KiB message is wrong: %s", f)
				}
				note(t, "7.1.6: the 256 KiB message was echoed before the close frame")
			} else {
				c.unread(f) // expectClose reads it again
			}
			c.expectClose(1000)
		}},
		{id: "7.1.7", name: "extra_close_then_everything", run: func(t *testing.T) {
			// After the client's close the server sends its close and
			// nothing else, whatever follows.
			c := dial(t)
			c.send(closeF(1000, ""), ping("p"), txt("t"), bin([]byte{1}), fr(true, 3, nil), closeF(1002, ""))
			c.expectClose(1000)
		}},
		{id: "7.1.8", name: "extra_close_octet_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendChopped(1, 200*time.Microsecond, closeF(1000, "bye"))
			c.expectClose(1000)
		}},
		{id: "7.3.1", name: "close_empty_payload", run: func(t *testing.T) {
			// Autobahn accepts either an empty close or code 1000 back.
			c := dial(t)
			c.send(closeF(noCode, ""))
			res := c.expectClose(noCode, 1000)
			if res.code == noCode {
				note(t, "7.3.1: the server answers an empty close frame with an empty close frame")
			} else {
				note(t, "7.3.1: the server answers an empty close frame with code %d", res.code)
			}
		}},
		{id: "7.3.2", name: "close_1_byte_payload_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.sendBytes(frame{fin: true, op: opClose, payload: []byte{0x03}}.encode())
			c.logf("→ close with 1-byte payload 0x03")
			c.expectFail(1002)
		}},
		{id: "7.3.3", name: "close_1000_no_reason", run: func(t *testing.T) {
			c := dial(t)
			c.send(closeF(1000, ""))
			c.expectClose(1000)
		}},
		{id: "7.3.4", name: "close_1000_with_reason", run: func(t *testing.T) {
			c := dial(t)
			c.send(closeF(1000, "Hello World!"))
			c.expectClose(1000)
		}},
		{id: "7.3.5", name: "close_1000_reason_123_bytes", run: func(t *testing.T) {
			c := dial(t)
			c.send(closeF(1000, strings.Repeat("*", 123)))
			c.expectClose(1000)
		}},
		{id: "7.3.6", name: "close_1000_reason_124_bytes_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.sendBytes(closeF(1000, strings.Repeat("*", 124)).encode())
			c.logf("→ close code=1000 with a 124-byte reason (payload 126 bytes)")
			c.expectFail(1002)
		}},
		{id: "7.3.7", name: "extra_close_123_byte_multibyte_reason", run: func(t *testing.T) {
			c := dial(t)
			c.send(closeF(1000, strings.Repeat("é", 61)+"!")) // 123 bytes
			c.expectClose(1000)
		}},
		{id: "7.5.1", name: "close_reason_invalid_utf8_fails_1007", run: func(t *testing.T) {
			c := dial(t)
			c.sendBytes(closeF(1000, "κόσμε\xed\xa0\x80edited").encode())
			c.logf("→ close code=1000 with an invalid UTF-8 reason")
			c.expectFail(1007)
		}},
		{id: "7.5.2", name: "extra_close_reason_truncated_utf8_fails_1007", run: func(t *testing.T) {
			c := dial(t)
			c.sendBytes(closeF(1000, "bye\xe2\x82").encode())
			c.logf("→ close code=1000 with a reason ending inside a UTF-8 sequence")
			c.expectFail(1007)
		}},
	}
	// 7.7.x: valid codes are answered with the same code.
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		g.cases = append(g.cases, testCase{id: fmt.Sprintf("7.7.%d", i+1), name: fmt.Sprintf("valid_code_%d_echoed", code), run: func(t *testing.T) {
			c := dial(t)
			c.send(closeF(code, ""))
			c.expectClose(code)
		}})
	}
	// 7.9.x: codes that may not appear on the wire fail with 1002.
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999} {
		g.cases = append(g.cases, testCase{id: fmt.Sprintf("7.9.%d", i+1), name: fmt.Sprintf("invalid_code_%d_fails_1002", code), run: func(t *testing.T) {
			c := dial(t)
			c.sendBytes(closeF(code, "").encode())
			c.logf("→ close code=%d", code)
			c.expectFail(1002)
		}})
	}
	for i, code := range []int{5000, 65535} {
		g.cases = append(g.cases, testCase{id: fmt.Sprintf("7.13.%d", i+1), name: fmt.Sprintf("invalid_code_%d_fails_1002", code), run: func(t *testing.T) {
			c := dial(t)
			c.sendBytes(closeF(code, "").encode())
			c.logf("→ close code=%d", code)
			c.expectFail(1002)
		}})
	}
	return g
}
