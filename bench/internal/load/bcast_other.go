//go:build !linux

package load

import "errors"

// Broadcast needs epoll.
func Broadcast(cfg Config) (map[string]float64, error) {
	return nil, errors.New("the broadcast scenario needs Linux")
}
