// Command tempo-tenancy-runner is the entrypoint of the chart's Jobs: see
// package runner.
//
//	tempo-tenancy-runner [apply|reconcile|plan|destroy|write-secret]
//
// It exits 0 on success, 3 on a refusal (what the values ask for is not
// allowed; a retry would refuse again), 4 when plan finds changes (drift),
// 2 on a usage error and 1 on any other failure.
//
// It runs as PID 1 of its container. SIGTERM and SIGINT (the Job's
// deadline, Helm replacing a running hook) reach the CLI as an interrupt,
// so that it stops cleanly and releases the state lock instead of being
// killed with it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/runner"
)

func main() { os.Exit(run()) }

func run() int {
	restrictUmask()
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "tempo-tenancy-runner: %v\n", err)
		var refusal *runner.Refusal
		if errors.As(err, &refusal) {
			return 3
		}
		var drift *runner.Drift
		if errors.As(err, &drift) {
			return 4
		}
		return 1
	}
	mode := runner.ModeApply
	if len(os.Args) > 1 {
		m, err := runner.ParseMode(os.Args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "usage: tempo-tenancy-runner [apply|reconcile|plan|destroy|write-secret]: %v\n", err)
			return 2
		}
		mode = m
	}
	cfg, err := runner.ConfigFromEnv(os.Getenv)
	if err != nil {
		return fail(err)
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-signals
		name := "TERM"
		if s == syscall.SIGINT {
			name = "INT"
		}
		cancel(fmt.Errorf("stopped by SIG%s", name))
	}()

	kube, err := runner.InClusterClient()
	if err != nil {
		return fail(err)
	}
	self, err := os.Executable()
	if err != nil {
		return fail(fmt.Errorf("cannot find the runner's own executable: %w", err))
	}
	r := &runner.Runner{Cfg: cfg, Kube: kube, Out: os.Stdout, Err: os.Stderr, Self: self, Now: time.Now}
	if mode == runner.ModeWriteSecret {
		// The module's local-exec passes the token's name as the command.
		tokenName := ""
		if len(os.Args) > 2 {
			tokenName = os.Args[2]
		}
		err = r.WriteSecret(ctx, os.Getenv, tokenName)
	} else {
		err = r.Run(ctx, mode)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}
