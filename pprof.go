package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync/atomic"
)

// envPprofDir names a directory where each provider process writes a CPU
// profile for its whole life and a heap profile when it exits, as
// <pid>.cpu.pprof and <pid>.heap.pprof, and the largest live heap it had,
// in bytes, as <pid>.live-peak; a CLI starts several provider processes
// per run. Unset (the default), nothing is profiled.
//
// Profiles hold stack samples, allocation sites and sizes, never memory
// contents: no token, secret or configuration value can end up in them.
const envPprofDir = "TEMPO_PROVIDER_PPROF_DIR"

// startProfiling starts the CPU profile when envPprofDir is set; the
// returned function stops it and writes the heap profile.
func startProfiling() (stop func()) {
	dir := os.Getenv(envPprofDir)
	if dir == "" {
		return func() {}
	}
	prefix := filepath.Join(dir, fmt.Sprint(os.Getpid()))
	cpu, err := os.Create(prefix + ".cpu.pprof")
	if err != nil {
		log.Printf("[WARN] %s: %v", envPprofDir, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		log.Printf("[WARN] %s: %v", envPprofDir, err)
		_ = cpu.Close()
		return func() {}
	}
	var peak atomic.Uint64
	watchLiveHeap(&peak)
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		heap, err := os.Create(prefix + ".heap.pprof")
		if err != nil {
			log.Printf("[WARN] %s: %v", envPprofDir, err)
			return
		}
		defer func() { _ = heap.Close() }()
		// A heap profile shows the heap as of the last collection but one:
		// two collections make its in-use figures those of now.
		runtime.GC()
		runtime.GC()
		if err := pprof.WriteHeapProfile(heap); err != nil {
			log.Printf("[WARN] %s: %v", envPprofDir, err)
		}
		if err := os.WriteFile(prefix+".live-peak", []byte(fmt.Sprintln(peak.Load())), 0o600); err != nil {
			log.Printf("[WARN] %s: %v", envPprofDir, err)
		}
	}
}

// watchLiveHeap keeps in peak the largest heap found live by a collection,
// reading it at the end of every collection: the heap in use at any other
// moment counts garbage too, and the heap at exit only what a process
// still holds once its server is gone.
func watchLiveHeap(peak *atomic.Uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		// A cleanup runs once a collection found its object unreachable.
		runtime.AddCleanup(new(gcTick), func(struct{}) {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			arm()
		}, struct{}{})
	}
	arm()
}

// gcTick is an object whose only use is to be collected; it holds a
// pointer so that the allocator gives it a block of its own.
type gcTick struct{ _ *byte }
