package conformance

import (
	"bytes"
	"testing"
	"time"
)

// Group 5: fragmentation (RFC 6455, section 5.4). A fragmented message is
// echoed as one message; control frames may be interleaved between
// fragments and are answered at once; control frames cannot be fragmented;
// a continuation needs a message to continue; a new message cannot start
// inside an unfinished one.
func groupFragments() *group {
	g := &group{id: "5", title: "fragmentation"}
	const octet = 100 * time.Microsecond
	const frameWise = 5 * time.Millisecond
	two := func() []frame {
		return []frame{fr(false, opText, []byte("fragment1")), fr(true, opCont, []byte("fragment2"))}
	}
	withPing := func() []frame {
		return []frame{fr(false, opText, []byte("fragment1")), ping("ping payload"), fr(true, opCont, []byte("fragment2"))}
	}
	strayThenTwo := func(fin bool) []frame {
		return []frame{fr(fin, opCont, []byte("non-continuation payload")), fr(false, opText, []byte("Hello, world!")), fr(true, opCont, []byte("Hello, world!"))}
	}
	g.cases = []testCase{
		{id: "5.1", name: "ping_fragmented_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opPing, []byte("fragment1")), fr(true, opCont, []byte("fragment2")))
			c.expectFail(1002)
		}},
		{id: "5.2", name: "pong_fragmented_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opPong, []byte("fragment1")), fr(true, opCont, []byte("fragment2")))
			c.expectFail(1002)
		}},
		{id: "5.3", name: "text_2_fragments", run: func(t *testing.T) {
			c := dial(t)
			c.send(two()...)
			c.expectText("fragment1fragment2")
			c.closeNormally()
		}},
		{id: "5.4", name: "text_2_fragments_octet_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendChopped(1, octet, two()...)
			c.expectText("fragment1fragment2")
			c.closeNormally()
		}},
		{id: "5.5", name: "text_2_fragments_frame_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendEach(frameWise, two()...)
			c.expectText("fragment1fragment2")
			c.closeNormally()
		}},
		{id: "5.6", name: "text_2_fragments_ping_between", run: func(t *testing.T) {
			c := dial(t)
			c.send(withPing()...)
			c.expectPong("ping payload")
			c.expectText("fragment1fragment2")
			c.closeNormally()
		}},
		{id: "5.7", name: "text_2_fragments_ping_between_octet_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendChopped(1, octet, withPing()...)
			c.expectPong("ping payload")
			c.expectText("fragment1fragment2")
			c.closeNormally()
		}},
		{id: "5.8", name: "text_2_fragments_ping_between_frame_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendEach(frameWise, withPing()...)
			c.expectPong("ping payload")
			c.expectText("fragment1fragment2")
			c.closeNormally()
		}},
		{id: "5.9", name: "continuation_fin1_without_message_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(strayThenTwo(true)...)
			c.expectFail(1002)
		}},
		{id: "5.10", name: "continuation_fin1_without_message_octet_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendChopped(1, octet, strayThenTwo(true)...)
			c.expectFail(1002)
		}},
		{id: "5.11", name: "continuation_fin1_without_message_frame_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendEach(frameWise, strayThenTwo(true)...)
			c.expectFail(1002)
		}},
		{id: "5.12", name: "continuation_fin0_without_message_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(strayThenTwo(false)...)
			c.expectFail(1002)
		}},
		{id: "5.13", name: "continuation_fin0_without_message_octet_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendChopped(1, octet, strayThenTwo(false)...)
			c.expectFail(1002)
		}},
		{id: "5.14", name: "continuation_fin0_without_message_frame_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendEach(frameWise, strayThenTwo(false)...)
			c.expectFail(1002)
		}},
		{id: "5.15", name: "message_then_stray_continuations_fails_1002", run: func(t *testing.T) {
			// fragment1 + fragment2(fin) is a whole message, echoed; then a
			// continuation with nothing to continue fails the connection.
			c := dial(t)
			c.send(fr(false, opText, []byte("fragment1")), fr(true, opCont, []byte("fragment2")),
				fr(false, opCont, []byte("fragment3")), fr(true, opText, []byte("fragment4")))
			c.expectText("fragment1fragment2")
			c.expectFail(1002)
		}},
		{id: "5.16", name: "stray_continuation_fin0_repeated_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			fs := append(strayThenTwo(false), strayThenTwo(false)...)
			c.send(fs...)
			c.expectFail(1002)
		}},
		{id: "5.17", name: "stray_continuation_fin1_repeated_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			fs := append(strayThenTwo(true), strayThenTwo(true)...)
			c.send(fs...)
			c.expectFail(1002)
		}},
		{id: "5.18", name: "text_start_inside_unfinished_text_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("fragment1")), fr(true, opText, []byte("fragment2")))
			c.expectFail(1002)
		}},
		{id: "5.19", name: "text_5_fragments_2_pings_between", run: func(t *testing.T) {
			// As Autobahn 5.19, with shorter waits: each pong must come back
			// while the message is still unfinished.
			c := dial(t)
			c.send(fr(false, opText, []byte("fragment1")), fr(false, opCont, []byte("fragment2")), ping("pongme 1!"))
			c.expectPong("pongme 1!")
			c.send(fr(false, opCont, []byte("fragment3")))
			time.Sleep(50 * time.Millisecond)
			c.send(fr(false, opCont, []byte("fragment4")), ping("pongme 2!"))
			c.expectPong("pongme 2!")
			c.send(fr(true, opCont, []byte("fragment5")))
			c.expectText("fragment1fragment2fragment3fragment4fragment5")
			c.closeNormally()
		}},
		{id: "5.20", name: "text_5_fragments_2_pings_between_octet_wise", run: func(t *testing.T) {
			c := dial(t)
			c.sendChopped(1, octet, fr(false, opText, []byte("fragment1")), fr(false, opCont, []byte("fragment2")), ping("pongme 1!"))
			c.expectPong("pongme 1!")
			c.sendChopped(1, octet, fr(false, opCont, []byte("fragment3")))
			c.sendChopped(1, octet, fr(false, opCont, []byte("fragment4")), ping("pongme 2!"))
			c.expectPong("pongme 2!")
			c.sendChopped(1, octet, fr(true, opCont, []byte("fragment5")))
			c.expectText("fragment1fragment2fragment3fragment4fragment5")
			c.closeNormally()
		}},
		// Extra cases.
		{id: "5.21", name: "extra_binary_2_fragments", run: func(t *testing.T) {
			c := dial(t)
			p := binaryOf(300)
			c.send(fr(false, opBinary, p[:100]), fr(true, opCont, p[100:]))
			c.expectBinary(p)
			c.closeNormally()
		}},
		{id: "5.22", name: "extra_text_100_fragments", run: func(t *testing.T) {
			c := dial(t)
			p := utf8Of(1000) // fragment boundaries fall inside multi-byte sequences
			c.send(fragments(opText, p, 10)...)
			c.expectMessage(opText, p)
			c.closeNormally()
		}},
		{id: "5.23", name: "extra_binary_1000_fragments", run: func(t *testing.T) {
			c := dial(t)
			p := binaryOf(7000)
			c.send(fragments(opBinary, p, 7)...)
			c.expectBinary(p)
			c.closeNormally()
		}},
		{id: "5.24", name: "extra_binary_300_fragments_octet_chops", run: func(t *testing.T) {
			c := dial(t)
			p := binaryOf(900)
			c.sendChopped(7, 0, fragments(opBinary, p, 3)...)
			c.expectBinary(p)
			c.closeNormally()
		}},
		{id: "5.25", name: "extra_text_all_fragments_empty", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, nil), fr(false, opCont, nil), fr(true, opCont, nil))
			c.expectText("")
			c.closeNormally()
		}},
		{id: "5.26", name: "extra_binary_all_fragments_empty", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opBinary, nil), fr(true, opCont, nil))
			c.expectBinary(nil)
			c.closeNormally()
		}},
		{id: "5.27", name: "extra_empty_first_and_last_fragments", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, nil), fr(false, opCont, []byte("middle")), fr(true, opCont, nil))
			c.expectText("middle")
			c.send(fr(false, opBinary, nil), fr(true, opCont, []byte{0xff, 0x00}))
			c.expectBinary([]byte{0xff, 0x00})
			c.closeNormally()
		}},
		{id: "5.28", name: "extra_pong_between_fragments_ignored", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("fragment1")), pong("unsolicited"), fr(true, opCont, []byte("fragment2")))
			c.expectText("fragment1fragment2")
			c.closeNormally()
		}},
		{id: "5.29", name: "extra_binary_start_inside_unfinished_text_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("fragment1")), fr(true, opBinary, []byte("fragment2")))
			c.expectFail(1002)
		}},
		{id: "5.30", name: "extra_text_start_inside_unfinished_binary_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opBinary, []byte("fragment1")), fr(false, opText, []byte("fragment2")), fr(true, opCont, nil))
			c.expectFail(1002)
		}},
		{id: "5.31", name: "extra_10_pings_between_fragments", run: func(t *testing.T) {
			c := dial(t)
			fs := []frame{fr(false, opBinary, []byte{1})}
			for range 10 {
				fs = append(fs, ping("x"), fr(false, opCont, []byte{2}))
			}
			fs = append(fs, fr(true, opCont, []byte{3}))
			c.send(fs...)
			for range 10 {
				c.expectPong("x")
			}
			c.expectBinary(append(append([]byte{1}, bytes.Repeat([]byte{2}, 10)...), 3))
			c.closeNormally()
		}},
		{id: "5.32", name: "extra_fragmented_messages_back_to_back", run: func(t *testing.T) {
			c := dial(t)
			var fs []frame
			for i := range 5 {
				fs = append(fs, fragments(opText, textOf(10+i), 3)...)
				fs = append(fs, fragments(opBinary, binaryOf(10+i), 4)...)
			}
			c.send(fs...)
			for i := range 5 {
				c.expectMessage(opText, textOf(10+i))
				c.expectBinary(binaryOf(10 + i))
			}
			c.closeNormally()
		}},
		{id: "5.33", name: "extra_fragmented_pong_inside_message_fails_1002", run: func(t *testing.T) {
			// Unlike 5.2, no stray continuation follows to fail the
			// connection anyway: only the FIN=0 pong is wrong here.
			c := dial(t)
			c.send(fr(false, opText, []byte("fragment1")), fr(false, opPong, []byte("pong")), fr(true, opCont, []byte("fragment2")))
			c.expectFail(1002)
		}},
		{id: "5.34", name: "extra_fragmented_ping_inside_message_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("fragment1")), fr(false, opPing, []byte("ping")), fr(true, opCont, []byte("fragment2")))
			c.expectFail(1002)
		}},
	}
	return g
}
