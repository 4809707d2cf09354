//go:build race

package otelwsapi_test

// raceEnabled: the race detector's instrumentation allocates, so the
// allocation checks skip under it.
const raceEnabled = true
