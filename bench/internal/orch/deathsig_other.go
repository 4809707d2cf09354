//go:build !linux

package orch

import "os/exec"

// setDeathSignal does nothing off Linux: children still quit when their
// stdin closes, and are killed by PID on exit.
func setDeathSignal(cmd *exec.Cmd) {}
