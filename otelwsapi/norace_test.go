//go:build !race

package otelwsapi_test

const raceEnabled = false
