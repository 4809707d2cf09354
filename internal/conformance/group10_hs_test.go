package conformance

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Group 10 (misc, extra): masking and length rules of section 5.
func groupMisc() *group {
	g := &group{id: "10", title: "misc: masking, length encoding"}
	g.cases = []testCase{
		{id: "10.1.1", name: "text_65536_bytes_in_1300_byte_fragments", run: func(t *testing.T) {
			c := dial(t)
			p := textOf(65536)
			c.send(fragments(opText, p, 1300)...)
			c.expectMessage(opText, p)
			c.closeNormally()
		}},
		{id: "10.2.1", name: "unmasked_text_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt("Hello, world!").noMask())
			c.expectFail(1002)
		}},
		{id: "10.2.2", name: "unmasked_binary_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(bin(binaryOf(200)).noMask())
			c.expectFail(1002)
		}},
		{id: "10.2.3", name: "unmasked_ping_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(ping("p").noMask())
			c.expectFail(1002)
		}},
		{id: "10.2.4", name: "unmasked_close_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.sendBytes(closeF(1000, "").noMask().encode())
			c.logf("→ close code=1000 (unmasked)")
			c.expectFail(1002)
		}},
		{id: "10.2.5", name: "text_then_unmasked_text_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt("Hello"), txt("Hello").noMask(), ping(""))
			c.expectText("Hello")
			c.expectFail(1002)
		}},
		{id: "10.2.6", name: "unmasked_continuation_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(fr(false, opText, []byte("frag1")), fr(true, opCont, []byte("frag2")).noMask())
			c.expectFail(1002)
		}},
		{id: "10.2.7", name: "unmasked_empty_text_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.send(txt("").noMask())
			c.expectFail(1002)
		}},
		{id: "10.3.1", name: "zero_mask_key_is_valid", run: func(t *testing.T) {
			c := dial(t)
			b := []byte{0x81, 0x80 | 5, 0, 0, 0, 0}
			c.logf("→ text len=5 \"Hello\" with mask key 00000000")
			c.sendBytes(append(b, "Hello"...))
			c.expectText("Hello")
			c.closeNormally()
		}},
		{id: "10.4.1", name: "64bit_length_with_msb_set_fails_1002", run: func(t *testing.T) {
			c := dial(t)
			c.logf("→ binary header with 64-bit length 0x8000000000000005, then 5 bytes")
			b := headerOnly(true, opBinary, 1<<63|5)
			c.sendBytes(append(b, 1, 2, 3, 4, 5))
			c.expectFail(1002)
		}},
		{id: "10.4.2", name: "informational_non_minimal_length_encoding", run: func(t *testing.T) {
			// Section 5.2 says the minimal length encoding MUST be used, but
			// Autobahn does not test receivers for it: either an echo or a
			// 1002 close is accepted, and the outcome is noted.
			c := dial(t)
			b := []byte{0x81, 0x80 | 126, 0, 5, 0, 0, 0, 0}
			c.logf("→ text len=5 \"Hello\" with its length in the 16-bit form, mask key 00000000")
			c.sendBytes(append(b, "Hello"...))
			f := c.next("the echo or a close frame")
			c.unread(f)
			if f.op == opClose {
				c.expectFail(1002)
				note(t, "10.4.2: the server fails a frame whose length is not minimally encoded (1002)")
				return
			}
			c.expectText("Hello")
			c.closeNormally()
			note(t, "10.4.2: the server accepts a frame whose length is not minimally encoded")
		}},
	}
	return g
}

// handshake sends a raw HTTP request and returns the response and up to
// 4 KiB of its body.
func handshake(t *testing.T, req string) (*http.Response, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", serverAddr, dialTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(frameTimeout))
	t.Logf("request:\n%s", req)
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
	}
	t.Logf("response: %s %v %s", resp.Status, resp.Header, body)
	return resp, string(body)
}

// hsRequest builds an upgrade request; headers are written as given, and a
// header whose value is "-" is left out.
func hsRequest(method, path, proto string, headers ...string) string {
	h := map[string]string{
		"Host":                  serverAddr,
		"Upgrade":               "websocket",
		"Connection":            "Upgrade",
		"Sec-WebSocket-Key":     "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version": "13",
	}
	order := []string{"Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"}
	for i := 0; i+1 < len(headers); i += 2 {
		if _, ok := h[headers[i]]; !ok {
			order = append(order, headers[i])
		}
		h[headers[i]] = headers[i+1]
	}
	var b strings.Builder
	b.WriteString(method + " " + path + " " + proto + "\r\n")
	for _, k := range order {
		if v := h[k]; v != "-" {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func wantStatus(t *testing.T, resp *http.Response, codes ...int) {
	t.Helper()
	for _, c := range codes {
		if resp.StatusCode == c {
			return
		}
	}
	t.Errorf("status %d, want %v", resp.StatusCode, codes)
}

// Handshake checks (RFC 6455, section 4.2), over raw HTTP.
func groupHandshake() *group {
	g := &group{id: "hs", title: "opening handshake"}
	get := func(headers ...string) string { return hsRequest("GET", "/echo", "HTTP/1.1", headers...) }
	keyOf := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	g.cases = []testCase{
		{id: "hs.1", name: "valid_handshake_101", run: func(t *testing.T) {
			resp, _ := handshake(t, get())
			wantStatus(t, resp, 101)
			// The sample nonce of RFC 6455, section 1.3.
			if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
				t.Errorf("Sec-WebSocket-Accept %q, want s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", got)
			}
			if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
				t.Errorf("Upgrade header %q, want websocket", resp.Header.Get("Upgrade"))
			}
			if !strings.Contains(strings.ToLower(resp.Header.Get("Connection")), "upgrade") {
				t.Errorf("Connection header %q, want Upgrade", resp.Header.Get("Connection"))
			}
			if v := resp.Header.Get("Sec-WebSocket-Protocol"); v != "" {
				t.Errorf("Sec-WebSocket-Protocol %q in the answer to a request that offered none", v)
			}
		}},
		{id: "hs.2", name: "missing_key_400", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Sec-WebSocket-Key", "-"))
			wantStatus(t, resp, 400)
		}},
		{id: "hs.3", name: "key_not_base64_400", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Sec-WebSocket-Key", "this is not base64!!"))
			wantStatus(t, resp, 400)
		}},
		{id: "hs.4", name: "key_base64_of_15_bytes_400", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Sec-WebSocket-Key", keyOf(15)))
			wantStatus(t, resp, 400)
		}},
		{id: "hs.5", name: "key_base64_of_17_bytes_400", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Sec-WebSocket-Key", keyOf(17)))
			wantStatus(t, resp, 400)
		}},
		{id: "hs.6", name: "key_empty_400", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Sec-WebSocket-Key", ""))
			wantStatus(t, resp, 400)
		}},
		{id: "hs.7", name: "version_8_426_with_version_13", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Sec-WebSocket-Version", "8"))
			wantStatus(t, resp, 426)
			if v := resp.Header.Values("Sec-WebSocket-Version"); len(v) == 0 || !strings.Contains(strings.Join(v, ","), "13") {
				t.Errorf("Sec-WebSocket-Version in the answer: %q, want 13", v)
			}
		}},
		{id: "hs.8", name: "missing_version_400_or_426", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Sec-WebSocket-Version", "-"))
			wantStatus(t, resp, 400, 426)
		}},
		{id: "hs.9", name: "post_with_upgrade_headers_405", run: func(t *testing.T) {
			resp, _ := handshake(t, hsRequest("POST", "/echo", "HTTP/1.1", "Content-Length", "0"))
			wantStatus(t, resp, 405)
		}},
		{id: "hs.10", name: "missing_connection_upgrade_400", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Connection", "-"))
			wantStatus(t, resp, 400)
		}},
		{id: "hs.11", name: "connection_keep_alive_only_400", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Connection", "keep-alive"))
			wantStatus(t, resp, 400)
		}},
		{id: "hs.12", name: "connection_token_list_101", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Connection", "keep-alive, Upgrade"))
			wantStatus(t, resp, 101)
		}},
		{id: "hs.13", name: "upgrade_header_case_insensitive_101", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Upgrade", "WebSocket", "Connection", "upgrade"))
			wantStatus(t, resp, 101)
		}},
		{id: "hs.14", name: "plain_get_426", run: func(t *testing.T) {
			resp, _ := handshake(t, "GET /echo HTTP/1.1\r\nHost: "+serverAddr+"\r\n\r\n")
			wantStatus(t, resp, 426)
		}},
		{id: "hs.15", name: "upgrade_to_unknown_path_404", run: func(t *testing.T) {
			resp, _ := handshake(t, hsRequest("GET", "/no-such-route", "HTTP/1.1"))
			wantStatus(t, resp, 404)
		}},
		{id: "hs.16", name: "http_1_0_not_upgraded", run: func(t *testing.T) {
			resp, _ := handshake(t, hsRequest("GET", "/echo", "HTTP/1.0"))
			if resp.StatusCode == 101 {
				t.Errorf("an HTTP/1.0 request was upgraded (section 4.1: HTTP/1.1 or higher)")
			}
		}},
		{id: "hs.17", name: "permessage_deflate_offer_not_accepted", run: func(t *testing.T) {
			// This echo app runs without compression (groups 12 and 13
			// use servers that have it): the server must not claim the
			// extension (RFC 7692, section 5).
			resp, _ := handshake(t, get("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"))
			wantStatus(t, resp, 101)
			if v := resp.Header.Get("Sec-WebSocket-Extensions"); v != "" {
				t.Errorf("server answered Sec-WebSocket-Extensions %q without implementing it", v)
			}
		}},
		{id: "hs.18", name: "unrequested_subprotocol_not_selected", run: func(t *testing.T) {
			resp, _ := handshake(t, get("Sec-WebSocket-Protocol", "chat, superchat"))
			wantStatus(t, resp, 101)
			if v := resp.Header.Get("Sec-WebSocket-Protocol"); v != "" {
				t.Errorf("server selected subprotocol %q although the handler accepted with none", v)
			}
		}},
		{id: "hs.19", name: "frames_pipelined_behind_the_request", run: func(t *testing.T) {
			early := encodeAll(txt("early"), ping("early ping"), bin([]byte{9, 9}))
			c := dialWith(t, "/echo", early)
			c.expectText("early")
			c.expectPong("early ping")
			c.expectBinary([]byte{9, 9})
			c.closeNormally()
		}},
		{id: "hs.20", name: "bad_frame_pipelined_behind_the_request", run: func(t *testing.T) {
			c := dialWith(t, "/echo", append(txt("ok").encode(), fr(true, 3, nil).encode()...))
			c.expectText("ok")
			c.expectFail(1002)
		}},
	}
	return g
}
