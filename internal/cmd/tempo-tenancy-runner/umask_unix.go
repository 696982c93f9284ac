//go:build unix

package main

import "syscall"

// restrictUmask keeps every file the runner and the CLI write (the module's
// copy, the CLI's data, the saved plan) readable by the runner's user only.
func restrictUmask() { syscall.Umask(0o077) }
