//go:build !linux

package servers

import "errors"

func startEpoll() (*Instance, error) {
	return nil, errors.New("the raw-epoll server needs Linux")
}
