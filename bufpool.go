package wsapi

import (
	"sync"
)

// messageBufs pool message buffers for ReceiveFunc, by power-of-two size
// class from 4 KiB (class 0) to 16 MiB. Each holds *[]byte boxes, and
// boxes come back from boxes: putting a buffer back allocates nothing.
var (
	messageBufs [13]sync.Pool
	boxes       = sync.Pool{New: func() any { return new([]byte) }}
)

func messageClass(n int) int {
	c := 0
	for size := 4096; size < n; size <<= 1 {
		c++
	}
	return c
}

// getMessageBuf returns a buffer of at least n bytes, pooled when n fits a
// size class.
func getMessageBuf(n int) []byte {
	c := messageClass(n)
	if c >= len(messageBufs) {
		return make([]byte, n)
	}
	if p, ok := messageBufs[c].Get().(*[]byte); ok {
		b := (*p)[:n]
		*p = nil
		boxes.Put(p)
		return b
	}
	return make([]byte, n, 4096<<c)
}

// putMessageBuf returns a buffer made by getMessageBuf to its pool.
func putMessageBuf(b []byte) {
	c := messageClass(cap(b))
	if c < len(messageBufs) && cap(b) == 4096<<c {
		p := boxes.Get().(*[]byte)
		*p = b[:0]
		messageBufs[c].Put(p)
	}
}
