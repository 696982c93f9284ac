package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// envPprofDir names a directory where each provider process writes a CPU
// profile for its whole life and a heap profile when it exits, as
// <pid>.cpu.pprof and <pid>.heap.pprof, and the bytes of heap still in use
// then, after a collection, as <pid>.live; a CLI starts several provider
// processes per run. Unset (the default), nothing is profiled.
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
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if err := os.WriteFile(prefix+".live", []byte(fmt.Sprintln(m.HeapAlloc)), 0o644); err != nil {
			log.Printf("[WARN] %s: %v", envPprofDir, err)
		}
	}
}
