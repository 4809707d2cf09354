//go:build !linux

package load

import "errors"

const echoEpollAvailable = false

func echoEpoll(cfg Config, conns []*Conn, frame, want []byte, op byte) (map[string]float64, error) {
	return nil, errors.New("no epoll")
}
