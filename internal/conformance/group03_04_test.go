package conformance

import (
	"fmt"
	"testing"
	"time"
)

// Group 3: reserved bits. With no extension negotiated, a frame with any RSV
// bit set fails the connection with 1002 (RFC 6455, section 5.2). Frames
// before the bad one are still processed; frames after it are not (the ping
// that follows the bad frame must not be answered).
func groupReserved() *group {
	g := &group{id: "3", title: "reserved bits"}
	hello := "Hello, world!"
	g.cases = []testCase{
		{id: "3.1", name: "text_rsv3_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt(hello).withRSV(rsv3))
			c.expectFail(1002)
		}},
		{id: "3.2", name: "text_then_text_rsv2_then_ping", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt(hello), txt(hello).withRSV(rsv2), ping(""))
			c.expectText(hello)
			c.expectFail(1002)
		}},
		{id: "3.3", name: "text_then_text_rsv_2and3_then_ping_frame_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendEach(5*time.Millisecond, txt(hello), txt(hello).withRSV(rsv2|rsv3), ping(""))
			c.expectText(hello)
			c.expectFail(1002)
		}},
		{id: "3.4", name: "text_then_text_rsv1_then_ping_octet_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendChopped(1, 100*time.Microsecond, txt(hello), txt(hello).withRSV(rsv1), ping(""))
			c.expectText(hello)
			c.expectFail(1002)
		}},
		{id: "3.5", name: "binary_rsv_1and3_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(bin(binaryOf(8)).withRSV(rsv1 | rsv3))
			c.expectFail(1002)
		}},
		{id: "3.6", name: "ping_rsv_1and2_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(ping(hello).withRSV(rsv1 | rsv2))
			c.expectFail(1002)
		}},
		{id: "3.7", name: "close_rsv_all_fails_1002", run: func(t *testing.T) {
			// The bad close frame must not count as the client's close: the
			// server fails the connection with 1002 instead of echoing 1000.
			c := dial(t)
			c.sendBytes(closeF(1000, "").withRSV(rsv1 | rsv2 | rsv3).encode())
			c.logf("→ close code=1000 rsv=7")
			c.expectFail(1002)
		}},
		{id: "3.8", name: "extra_continuation_rsv1_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("frag1")), fr(true, opCont, []byte("frag2")).withRSV(rsv1))
			c.expectFail(1002)
		}},
		{id: "3.9", name: "extra_pong_rsv2_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(pong("p").withRSV(rsv2))
			c.expectFail(1002)
		}},
	}
	return g
}

// Group 4: opcodes. Reserved data opcodes 3-7 and control opcodes 11-15
// fail the connection with 1002 (section 5.2), also after a valid message,
// which is echoed first; the ping after the bad frame is not answered.
func groupOpcodes() *group {
	g := &group{id: "4", title: "reserved opcodes"}
	payload := []byte("reserved opcode payload")
	for sub, ops := range [][]byte{{3, 4, 5, 6, 7}, {11, 12, 13, 14, 15}} {
		for i, op := range ops {
			id := fmt.Sprintf("4.%d.%d", sub+1, i+1)
			switch i {
			case 0:
				g.cases = append(g.cases, testCase{id: id, name: fmt.Sprintf("opcode_%d_empty_fails_1002", op), run: func(t *testing.T) {
					c := dial(t)
					c.send(fr(true, op, nil))
					c.expectFail(1002)
				}})
			case 1:
				g.cases = append(g.cases, testCase{id: id, name: fmt.Sprintf("opcode_%d_payload_fails_1002", op), run: func(t *testing.T) {
					c := dial(t)
					c.send(fr(true, op, payload))
					c.expectFail(1002)
				}})
			default:
				g.cases = append(g.cases, testCase{id: id, name: fmt.Sprintf("text_then_opcode_%d_then_ping", op), run: func(t *testing.T) {
					c := dial(t)
					var p []byte
					if i > 2 {
						p = payload
					}
					c.send(txt("Hello, world!"), fr(true, op, p), ping(""))
					c.expectText("Hello, world!")
					c.expectFail(1002)
				}})
			}
		}
	}
	g.cases = append(g.cases,
		testCase{id: "4.3.1", name: "extra_opcode_3_between_fragments_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("frag1")), fr(true, 3, nil), fr(true, opCont, []byte("frag2")))
			c.expectFail(1002)
		}},
		testCase{id: "4.3.2", name: "extra_opcode_11_between_fragments_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opBinary, []byte("frag1")), fr(true, 11, nil), fr(true, opCont, []byte("frag2")))
			c.expectFail(1002)
		}},
		testCase{id: "4.3.3", name: "extra_text_then_opcode_7_frame_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendEach(5*time.Millisecond, txt("Hello, world!"), fr(true, 7, payload), ping(""))
			c.expectText("Hello, world!")
			c.expectFail(1002)
		}},
	)
	return g
}
