package main

import (
	"os/exec"
	"syscall"
)

// setPdeathsig has the kernel kill the child if the test process dies
// before its cleanup could.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
