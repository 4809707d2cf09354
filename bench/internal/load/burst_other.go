//go:build !linux

package load

import "errors"

// Burst needs epoll.
func Burst(cfg Config) (map[string]float64, error) {
	return nil, errors.New("the burst scenario needs Linux")
}
