package conformance

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Group 1: framing. Text (1.1.x) and binary (1.2.x) messages of the sizes
// around the 7-bit, 16-bit and 64-bit length encodings must be echoed with
// the same opcode and payload, whether the frame arrives whole or in chops.
func groupFraming() *group {
	g := &group{id: "1", title: "framing: payload lengths, whole and chopped"}
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for sub, op := range []byte{opText, opBinary} {
		n := 0
		add := func(name string, run func(t *testing.T)) {
			n++
			g.cases = append(g.cases, testCase{id: fmt.Sprintf("1.%d.%d", sub+1, n), name: name, run: run})
		}
		for _, size := range sizes {
			add(fmt.Sprintf("%s_%d_bytes", opName(op), size), func(t *testing.T) {
				c := dial(t)
				p := payloadOf(op, size)
				c.send(frame{fin: true, op: op, payload: p})
				c.expectMessage(op, p)
				c.closeNormally()
			})
		}
		// As Autobahn 1.x.8: 65536 bytes written in chops of 997 bytes.
		add(fmt.Sprintf("%s_65536_bytes_chops_of_997", opName(op)), func(t *testing.T) {
			c := dial(t)
			p := payloadOf(op, 65536)
			c.sendChopped(997, time.Millisecond, frame{fin: true, op: op, payload: p})
			c.expectMessage(op, p)
			c.closeNormally()
		})
		// Extra: every other size, chopped (small frames octet by octet).
		for _, size := range sizes {
			if size == 65536 {
				continue
			}
			chop, pause := 1, 100*time.Microsecond
			if size > 128 {
				chop, pause = 997, time.Millisecond
			}
			add(fmt.Sprintf("extra_%s_%d_bytes_chops_of_%d", opName(op), size, chop), func(t *testing.T) {
				c := dial(t)
				p := payloadOf(op, size)
				c.sendChopped(chop, pause, frame{fin: true, op: op, payload: p})
				c.expectMessage(op, p)
				c.closeNormally()
			})
		}
		// Extra: the extended length field arrives octet by octet, then the
		// payload in one write.
		for _, size := range []int{126, 65536} {
			add(fmt.Sprintf("extra_%s_%d_bytes_header_octet_wise", opName(op), size), func(t *testing.T) {
				c := dial(t)
				p := payloadOf(op, size)
				b := frame{fin: true, op: op, payload: p}.encode()
				hdr := len(b) - size
				c.logf("→ %s len=%d: header octet by octet, then the payload", opName(op), size)
				c.sendChoppedBytes(b[:hdr], 1, time.Millisecond)
				c.sendBytes(b[hdr:])
				c.expectMessage(op, p)
				c.closeNormally()
			})
		}
	}
	return g
}

// Group 2: pings and pongs (RFC 6455, sections 5.5.2 and 5.5.3).
func groupPings() *group {
	binPayload := string([]byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff})
	p125 := strings.Repeat("\xfe", 125)
	g := &group{id: "2", title: "pings and pongs"}
	g.cases = []testCase{
		{id: "2.1", name: "ping_empty", run: func(t *testing.T) {
			c := dial(t)
			c.send(ping(""))
			c.expectPong("")
			c.closeNormally()
		}},
		{id: "2.2", name: "ping_text_payload", run: func(t *testing.T) {
			c := dial(t)
			c.send(ping("Hello, world!"))
			c.expectPong("Hello, world!")
			c.closeNormally()
		}},
		{id: "2.3", name: "ping_binary_payload", run: func(t *testing.T) {
			c := dial(t)
			c.send(ping(binPayload))
			c.expectPong(binPayload)
			c.closeNormally()
		}},
		{id: "2.4", name: "ping_125_bytes", run: func(t *testing.T) {
			c := dial(t)
			c.send(ping(p125))
			c.expectPong(p125)
			c.closeNormally()
		}},
		{id: "2.5", name: "ping_126_bytes_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(ping(strings.Repeat("\xfe", 126)))
			c.expectFail(1002)
		}},
		{id: "2.6", name: "ping_125_bytes_octet_chops", run: func(t *testing.T) {
			c := dial(t)
			c.sendChopped(1, 200*time.Microsecond, ping(p125))
			c.expectPong(p125)
			c.closeNormally()
		}},
		{id: "2.7", name: "unsolicited_pong_empty_ignored", run: func(t *testing.T) {
			c := dial(t)
			c.send(pong(""), txt("after pong"))
			c.expectText("after pong")
			c.closeNormally()
		}},
		{id: "2.8", name: "unsolicited_pong_payload_ignored", run: func(t *testing.T) {
			c := dial(t)
			c.send(pong("unsolicited pong payload"), txt("after pong"))
			c.expectText("after pong")
			c.closeNormally()
		}},
		{id: "2.9", name: "unsolicited_pong_then_ping", run: func(t *testing.T) {
			c := dial(t)
			c.send(pong("unsolicited pong payload"), ping("ping payload"))
			c.expectPong("ping payload")
			c.closeNormally()
		}},
		{id: "2.10", name: "10_pings_in_a_row", run: func(t *testing.T) {
			c := dial(t)
			var fs []frame
			for i := range 10 {
				fs = append(fs, ping(fmt.Sprintf("payload-%d", i)))
			}
			c.send(fs...)
			for i := range 10 {
				c.expectPong(fmt.Sprintf("payload-%d", i))
			}
			c.closeNormally()
		}},
		{id: "2.11", name: "10_pings_in_a_row_chopped", run: func(t *testing.T) {
			c := dial(t)
			var fs []frame
			for i := range 10 {
				fs = append(fs, ping(fmt.Sprintf("payload-%d", i)))
			}
			c.sendChopped(1, 100*time.Microsecond, fs...)
			for i := range 10 {
				c.expectPong(fmt.Sprintf("payload-%d", i))
			}
			c.closeNormally()
		}},
		{id: "2.12", name: "extra_ping_between_messages_order", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt("one"), ping("p"), bin([]byte{1, 2, 3}))
			c.expectText("one")
			c.expectPong("p")
			c.expectBinary([]byte{1, 2, 3})
			c.closeNormally()
		}},
		{id: "2.13", name: "extra_ping_header_announcing_65536_bytes_fails_1002", run: func(t *testing.T) {
			// Only the header is sent: the server must fail on it without
			// waiting for the payload.
			c := dial(t)
			c.logf("→ ping header announcing 65536 bytes, no payload")
			c.sendBytes(headerOnly(true, opPing, 65536))
			c.expectFail(1002)
		}},
	}
	return g
}
