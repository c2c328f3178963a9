//go:build !unix

package dynamotest

import "os/exec"

// setProcessGroup does nothing where process groups are not available.
func setProcessGroup(*exec.Cmd) {}

// terminate kills cmd's process; there is no gentler portable signal.
func terminate(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// kill kills cmd's process.
func kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
