// Command rusage measures a provider process for `make bench-scale`. A CLI
// runs a provider from a development override as its own child, so the
// benchmark cannot wait for it; this wrapper, installed in the override
// directory under the provider's name, runs the real provider
// (real/<its own name>, beside it) as its child instead, with the same
// arguments, environment and standard streams (the plugin handshake goes
// straight through). When the provider exits, the wrapper appends one line
//
//	<pid> <peak RSS in KiB> <user CPU seconds> <system CPU seconds>
//
// from the kernel's account of the child (wait4's rusage) to the file named
// by TEMPO_BENCH_RUSAGE_FILE, and exits with the provider's status.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
)

// EnvFile names the file that receives one line per provider process.
const EnvFile = "TEMPO_BENCH_RUSAGE_FILE"

func main() {
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	cmd := exec.Command(filepath.Join(filepath.Dir(self), "real", filepath.Base(self)), os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The provider dies with the wrapper, should the CLI kill it: the
	// signal is tied to the thread that starts the child, so keep it.
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	waitErr := cmd.Wait()
	if cmd.ProcessState == nil {
		fail(waitErr)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && os.Getenv(EnvFile) != "" {
		line := fmt.Sprintf("%d %d %.3f %.3f\n", cmd.ProcessState.Pid(), ru.Maxrss,
			seconds(ru.Utime), seconds(ru.Stime))
		if f, err := os.OpenFile(os.Getenv(EnvFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			_, _ = f.WriteString(line)
			_ = f.Close()
		}
	}
	os.Exit(cmd.ProcessState.ExitCode())
}

func seconds(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rusage:", err)
	os.Exit(1)
}
