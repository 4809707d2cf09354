//go:build !linux

package redisbroker_test

import "os/exec"

func setPdeathsig(cmd *exec.Cmd) {}
