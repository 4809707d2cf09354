package frame

import "unicode/utf8"

// UTF8Stream validates UTF-8 text that arrives in pieces, such as the
// fragments of a message or the reads of one frame. It rejects a piece as
// soon as the bytes seen so far cannot begin valid UTF-8, so an invalid text
// message fails at its first bad byte rather than at its end.
type UTF8Stream struct {
	pend [utf8.UTFMax]byte // an incomplete sequence at the end of the last piece
	n    int
}

// Write validates p as the continuation of the text so far. It reports
// false as soon as the text can no longer be valid UTF-8.
func (u *UTF8Stream) Write(p []byte) bool {
	if u.n > 0 {
		want := seqLen(u.pend[0])
		take := min(want-u.n, len(p))
		u.n += copy(u.pend[u.n:], p[:take])
		p = p[take:]
		if u.n < want {
			return validPrefix(u.pend[:u.n])
		}
		if !utf8.Valid(u.pend[:u.n]) {
			return false
		}
		u.n = 0
	}
	// Set aside a trailing sequence that may be completed by the next piece.
	tail := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		if p[i]&0xC0 != 0x80 { // a leading byte
			if n := seqLen(p[i]); n > len(p)-i {
				tail = i
			}
			break
		}
	}
	if !utf8.Valid(p[:tail]) {
		return false
	}
	if tail < len(p) {
		if !validPrefix(p[tail:]) {
			return false
		}
		u.n = copy(u.pend[:], p[tail:])
	}
	return true
}

// Complete reports whether the text so far does not end inside a sequence.
func (u *UTF8Stream) Complete() bool { return u.n == 0 }

// seqLen returns the length of the sequence a leading byte starts, or 0 for
// a byte that cannot start one.
func seqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b >= 0xC2 && b <= 0xDF:
		return 2
	case b >= 0xE0 && b <= 0xEF:
		return 3
	case b >= 0xF0 && b <= 0xF4:
		return 4
	}
	return 0
}

// validPrefix reports whether p, shorter than the sequence its first byte
// starts, can still be completed into a valid one (RFC 3629, section 4).
func validPrefix(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	n := seqLen(p[0])
	if n < 2 || len(p) >= n {
		return false
	}
	for i := 1; i < len(p); i++ {
		lo, hi := byte(0x80), byte(0xBF)
		if i == 1 {
			switch p[0] {
			case 0xE0:
				lo = 0xA0
			case 0xED:
				hi = 0x9F
			case 0xF0:
				lo = 0x90
			case 0xF4:
				hi = 0x8F
			}
		}
		if p[i] < lo || p[i] > hi {
			return false
		}
	}
	return true
}
