package conformance

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// Group 9: limits and performance. Large messages are echoed intact, whole
// or in 64 KiB fragments; a message over the read limit (32 MiB here) fails
// the connection with 1009 as soon as a frame header shows it is too big,
// without the server reading (or waiting for) the payload.
func groupLimits() *group {
	g := &group{id: "9", title: "limits and performance", serial: true}
	sizes := []int{1 << 20, 8 << 20, 16 << 20}
	kinds := []struct {
		sub  int
		op   byte
		frag int // fragment size; 0: one frame
		chop int // write chop size; 0: one write
	}{
		{1, opText, 0, 0},
		{2, opBinary, 0, 0},
		{3, opText, 64 << 10, 0},
		{4, opBinary, 64 << 10, 0},
	}
	for _, k := range kinds {
		for i, size := range sizes {
			how := "one_frame"
			if k.frag > 0 {
				how = "64KiB_fragments"
			}
			g.cases = append(g.cases, testCase{
				id:   fmt.Sprintf("9.%d.%d", k.sub, i+1),
				name: fmt.Sprintf("%s_%dMiB_%s", opName(k.op), size>>20, how),
				slow: size > 1<<20,
				run:  func(t *testing.T) { bigEcho(t, k.op, size, k.frag, k.chop) },
			})
		}
	}
	g.cases = append(g.cases,
		testCase{id: "9.5.1", name: "text_1MiB_written_in_chops_of_4096", run: func(t *testing.T) { bigEcho(t, opText, 1<<20, 0, 4096) }},
		testCase{id: "9.5.2", name: "text_1MiB_written_in_chops_of_64", slow: true, run: func(t *testing.T) { bigEcho(t, opText, 1<<20, 0, 64) }},
		testCase{id: "9.6.1", name: "binary_1MiB_written_in_chops_of_4096", run: func(t *testing.T) { bigEcho(t, opBinary, 1<<20, 0, 4096) }},
		testCase{id: "9.7.1", name: "1000_text_messages_pipelined", run: func(t *testing.T) { manyEcho(t, opText, 1000, 16) }},
		testCase{id: "9.7.2", name: "100_text_messages_round_trips", run: func(t *testing.T) {
			c := dial(t)
			start := time.Now()
			for i := range 100 {
				s := fmt.Sprintf("message %d", i)
				c.send(txt(s))
				c.expectText(s)
			}
			t.Logf("100 round trips in %v", time.Since(start))
			c.closeNormally()
		}},
		testCase{id: "9.8.1", name: "1000_binary_messages_pipelined", run: func(t *testing.T) { manyEcho(t, opBinary, 1000, 64) }},
		testCase{id: "9.8.2", name: "extra_1000_binary_messages_with_pings", run: func(t *testing.T) {
			c := dial(t)
			var b []byte
			for i := range 1000 {
				b = append(b, bin(binaryOf(i%200)).encode()...)
				if i%100 == 0 {
					b = append(b, ping(fmt.Sprint(i)).encode()...)
				}
			}
			c.logf("→ 1000 binary messages and 10 pings in one write")
			c.sendBytes(b)
			for i := range 1000 {
				c.expectBinary(binaryOf(i % 200))
				if i%100 == 0 {
					c.expectPong(fmt.Sprint(i))
				}
			}
			c.closeNormally()
		}},

		// 9.9.x (extra): the read limit.
		testCase{id: "9.9.1", name: "text_header_over_limit_fails_1009", run: func(t *testing.T) {
			overLimitHeader(t, nil, headerOnly(true, opText, readLimit+1))
		}},
		testCase{id: "9.9.2", name: "binary_header_announcing_1TiB_fails_1009", run: func(t *testing.T) {
			overLimitHeader(t, nil, headerOnly(true, opBinary, 1<<40))
		}},
		testCase{id: "9.9.3", name: "binary_header_announcing_2^63-1_fails_1009", run: func(t *testing.T) {
			overLimitHeader(t, nil, headerOnly(true, opBinary, 1<<63-1))
		}},
		testCase{id: "9.9.4", name: "continuation_header_over_limit_fails_1009", run: func(t *testing.T) {
			overLimitHeader(t, fr(false, opText, nil).encode(), headerOnly(true, opCont, readLimit+1))
		}},
		testCase{id: "9.9.5", name: "continuation_header_pushing_sum_over_limit_fails_1009", run: func(t *testing.T) {
			// 1 MiB received, then a fragment announcing the rest of the
			// limit plus one byte.
			first := fr(false, opBinary, binaryOf(1<<20)).encode()
			overLimitHeader(t, first, headerOnly(false, opCont, readLimit-(1<<20)+1))
		}},
		testCase{id: "9.9.6", name: "32_fragments_of_1MiB_then_one_more_fails_1009", slow: true, run: func(t *testing.T) {
			// The message reaches the limit exactly; the header of the 33rd
			// fragment pushes it over.
			fs := fragments(opBinary, binaryOf(readLimit), 1<<20)
			fs[len(fs)-1].fin = false
			overLimitHeader(t, encodeAll(fs...), headerOnly(true, opCont, 1<<20))
		}},
		testCase{id: "9.9.7", name: "message_of_exactly_the_limit_is_echoed", slow: true, run: func(t *testing.T) {
			bigEcho(t, opBinary, readLimit, 1<<20, 0)
		}},
		testCase{id: "9.9.8", name: "continuation_header_announcing_2^63-1_after_1_byte_fails_1009", run: func(t *testing.T) {
			// The sum of the message so far and the announced length does
			// not fit in an int64: the limit check must not wrap around.
			overLimitHeader(t, fr(false, opBinary, []byte{1}).encode(), headerOnly(true, opCont, 1<<63-1))
		}},
		testCase{id: "9.9.9", name: "continuation_header_announcing_2^63-1_after_1MiB_fails_1009", run: func(t *testing.T) {
			overLimitHeader(t, fr(false, opText, textOf(1<<20)).encode(), headerOnly(true, opCont, 1<<63-1))
		}},
		testCase{id: "9.10.1", name: "slow_reader_8MiB_echo_unread_while_ping_and_text_arrive", slow: true, run: func(t *testing.T) {
			// The client leaves the echo of a big message unread for a
			// while, so the server's handler sits in SendBytes and stops
			// reading; the ping and text sent meanwhile must still be
			// answered, in an order that keeps every frame whole.
			c := slowReader(t)
			p := binaryOf(8 << 20)
			c.send(bin(p))
			time.Sleep(1500 * time.Millisecond)
			c.send(ping("still there?"), txt("after the big one"))
			time.Sleep(300 * time.Millisecond)
			c.expectBinary(p)
			c.expectPong("still there?")
			c.expectText("after the big one")
			c.closeNormally()
		}},
		testCase{id: "9.10.2", name: "slow_reader_protocol_error_while_echo_unread", slow: true, run: func(t *testing.T) {
			// As 9.10.1, but the frame sent meanwhile is invalid: the
			// server must still finish the echo it was writing, then send
			// its 1002 close after it.
			c := slowReader(t)
			p := binaryOf(8 << 20)
			c.send(bin(p))
			time.Sleep(1500 * time.Millisecond)
			c.send(fr(true, 3, nil), ping("must not be answered"))
			time.Sleep(300 * time.Millisecond)
			c.expectBinary(p)
			c.expectFail(1002)
		}},
		testCase{id: "9.10.3", name: "slow_reader_close_while_echo_unread", slow: true, run: func(t *testing.T) {
			c := slowReader(t)
			p := binaryOf(8 << 20)
			c.send(bin(p))
			time.Sleep(1500 * time.Millisecond)
			c.send(closeF(1000, "bye"), txt("must not be echoed"))
			time.Sleep(300 * time.Millisecond)
			c.expectBinary(p)
			c.expectClose(1000)
		}},
	)
	return g
}

// bigEcho sends one message of size bytes, in fragments of frag bytes (0:
// one frame), written in chops of chop bytes (0: one write), and checks the
// echo.
func bigEcho(t *testing.T, op byte, size, frag, chop int) {
	c := dial(t)
	c.timeout = 60 * time.Second
	var p []byte
	switch {
	case op == opText && size <= 1<<20:
		p = utf8Of(size) // multi-byte sequences straddle frames and reads
	case op == opText:
		p = textOf(size) // ASCII, as Autobahn's, to keep -race runs fast
	default:
		p = binaryOf(size)
	}
	fs := []frame{{fin: true, op: op, payload: p}}
	if frag > 0 {
		fs = fragments(op, p, frag)
	}
	start := time.Now()
	c.logf("→ %s message of %d bytes in %d frame(s), chops of %d", opName(op), size, len(fs), chop)
	if chop > 0 {
		c.sendChoppedBytes(encodeAll(fs...), chop, 0)
	} else {
		c.sendBytes(encodeAll(fs...))
	}
	c.expectMessage(op, p)
	t.Logf("%d-byte %s message echoed in %v", size, opName(op), time.Since(start))
	c.closeNormally()
}

// manyEcho sends n messages of size bytes in one write and checks the echoes.
func manyEcho(t *testing.T, op byte, n, size int) {
	c := dial(t)
	var b []byte
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf("%0*d", size, i))
		b = append(b, frame{fin: true, op: op, payload: msgs[i]}.encode()...)
	}
	start := time.Now()
	c.logf("→ %d %s messages of %d bytes in one write", n, opName(op), size)
	c.sendBytes(b)
	for _, m := range msgs {
		c.expectMessage(op, m)
	}
	t.Logf("%d messages echoed in %v", n, time.Since(start))
	c.closeNormally()
}

// overLimitHeader writes before (in the background, as it may be large),
// then a header announcing a payload that takes the message over the read
// limit, and nothing more: the server must answer 1009 on the header alone.
func overLimitHeader(t *testing.T, before, header []byte) {
	c := dial(t)
	c.timeout = 30 * time.Second
	c.logf("→ %d bytes of frames, then a header pushing the message over the %d-byte limit, no payload", len(before), readLimit)
	done := make(chan error, 1)
	go func() {
		c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err := c.nc.Write(before)
		if err == nil {
			_, err = c.nc.Write(header)
		}
		done <- err
	}()
	// The header was the last thing written: a close frame written now would
	// be taken for its payload, so do not answer the server's close.
	c.noReply = "a close frame sent now would be read as the announced payload"
	start := time.Now()
	c.expectFail(1009)
	t.Logf("close checks done %v after the first byte was written", time.Since(start))
	select {
	case err := <-done:
		if err != nil && !isReset(err) {
			t.Logf("write ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the write of the frames did not end within 5s of the close")
	}
}

// slowReader dials a connection whose client side has a small receive
// buffer, so that an 8 MiB echo cannot fit in the socket buffers and the
// server's handler stays blocked in its send until the client reads: after
// about a second of that, wsapi's housekeeper starts a background reader.
func slowReader(t *testing.T) *rawConn {
	c := dial(t)
	c.timeout = 30 * time.Second
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.SetReadBuffer(32 << 10)
	}
	return c
}
