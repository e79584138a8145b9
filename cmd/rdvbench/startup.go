package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// benchStartup builds the real binary, starts it once to create its database, then
// again on that existing database, measuring the time from exec to the first 200 from
// /readyz, and the resident memory after it has idled.
func benchStartup(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "rdvbench-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "rendezvous")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/rendezvous")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build (run from the repository root): %w", err)
	}
	first, _, err := start(ctx, bin, dir)
	if err != nil {
		return err
	}
	stop(first)

	var best time.Duration
	var rss string
	for i := range 5 {
		cmd, ready, err := start(ctx, bin, dir)
		if err != nil {
			return err
		}
		if i == 0 || ready < best {
			best = ready
		}
		if i == 4 {
			time.Sleep(3 * time.Second) // let the process idle before reading its memory
			rss, err = vmRSS(cmd.Process.Pid)
			if err != nil {
				stop(cmd)
				return err
			}
		}
		stop(cmd)
	}
	fmt.Fprintf(out, "rdvbench -startup: %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(out, "time to ready on an existing SQLite database (best of 5): %.0f ms (target < 300 ms)\n", float64(best.Microseconds())/1000)
	fmt.Fprintf(out, "idle resident memory (VmRSS of rendezvous serve):        %s (target < 60 MB)\n", rss)
	return nil
}

// start runs the binary on a free port and returns once /readyz answers 200, with the
// time that took from exec.
func start(ctx context.Context, bin, dir string) (*exec.Cmd, time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	sb, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	sbAddr := sb.Addr().String()
	sb.Close()
	cmd := exec.CommandContext(ctx, bin, "serve", "-addr", addr, "-data", filepath.Join(dir, "data"), "-sandbox-addr", sbAddr, "-log-level", "warn")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	client := &http.Client{Timeout: time.Second}
	deadline := t0.Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, time.Since(t0), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	stop(cmd)
	return nil, 0, fmt.Errorf("rendezvous not ready within 20 s")
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
}

// vmRSS reads a process's resident set size from /proc.
func vmRSS(pid int) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", fmt.Errorf("read memory (Linux only): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return fmt.Sprintf("%.1f MB", float64(kb)/1024), nil
		}
	}
	return "", fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
