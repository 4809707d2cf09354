package load

import "strconv"

// BurstMessage returns the k-th message of client i in the burst scenario:
// "c<i> m<k> " padded with dots to size bytes (longer when size is too
// small to hold the prefix).
func BurstMessage(i, k, size int) []byte {
	b := []byte("c" + strconv.Itoa(i) + " m" + strconv.Itoa(k) + " ")
	for len(b) < size {
		b = append(b, '.')
	}
	return b
}
