package journey_test

// Benchmarks of the customer journey (see BENCHMARKS.md, "Customer journey"):
//
//	go test ./journey -run '^$' -bench 'Waiting|PresenceJoin' -benchtime=1x -timeout 10m
//
// BenchmarkTenThousandWaiting holds 10,000 customers in the waiting room of one instance
// (10,000 appointments starting at the same instant, one open event stream each) and
// reports the memory each waiting customer costs the server and the time until the last
// of them is told the appointment started. The customers' browsers are a second process
// (this test binary re-run in client mode): one process cannot hold both ends of 10,000
// connections within the machine's open-file limit, and the client's memory must not be
// counted as the server's.
//
// BenchmarkPresenceJoin measures the time from the customer's GET of the link at the
// start to the presence join reaching the sandbox, beside the sandbox's own round trip
// (dial, configure the session, join) made directly with the Genesys client.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"rendezvous"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/journey"
	"rendezvous/store"
)

const benchClientEnv = "JOURNEY_BENCH_CLIENT"

// TestMain turns the test binary into the benchmark's client process when asked to.
func TestMain(m *testing.M) {
	if os.Getenv(benchClientEnv) != "" {
		if err := benchClient(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench client:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchClient reads a base URL and then one link token per line, opens one event stream
// per token, prints "ready" once every stream delivered its waiting-room state, and
// "done <unix nanos>" when the last stream delivered the live state.
func benchClient(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Scan()
	base := sc.Text()
	var tokens []string
	for sc.Scan() {
		if sc.Text() == "" {
			break
		}
		tokens = append(tokens, sc.Text())
	}
	// Raw connections, one goroutine each, so the client process stays light and the time
	// measured is the server's, not an HTTP client library's.
	host := strings.TrimPrefix(base, "http://")
	var ready, done sync.WaitGroup
	var last atomic.Int64
	var failed atomic.Int32
	sem := make(chan struct{}, 64) // open connections at a steady pace, not all in one burst
	for _, tok := range tokens {
		ready.Add(1)
		done.Add(1)
		sem <- struct{}{}
		go func() {
			defer done.Done()
			n := 0
			defer func() {
				if n == 0 {
					ready.Done()
				}
			}()
			conn, err := net.DialTimeout("tcp", host, 30*time.Second)
			<-sem
			if err != nil {
				failed.Add(1)
				return
			}
			// Connections stay open until the process exits: closing them here would put
			// the client's own system calls in the middle of the measurement.
			fmt.Fprintf(conn, "GET /a/%s/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", tok, host)
			r := bufio.NewReaderSize(conn, 512)
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					failed.Add(1)
					return
				}
				if !bytes.HasPrefix(line, []byte("data: ")) {
					continue
				}
				n++
				if n == 1 {
					ready.Done()
					continue
				}
				if bytes.Contains(line, []byte(`"phase":"live"`)) {
					now := time.Now().UnixNano()
					for {
						old := last.Load()
						if now <= old || last.CompareAndSwap(old, now) {
							break
						}
					}
					return
				}
			}
		}()
	}
	ready.Wait()
	fmt.Fprintf(out, "ready %d\n", failed.Load())
	done.Wait()
	fmt.Fprintf(out, "done %d %d\n", last.Load(), failed.Load())
	return nil
}

func heapAndStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if p := os.Getenv("JOURNEY_BENCH_DEBUG"); p != "" {
		fmt.Fprintf(os.Stderr, "heap %d stack %d goroutines %d\n", ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine())
		if f, err := os.Create(p); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	return ms.HeapInuse + ms.StackInuse
}

// rssKiB is the process's resident memory after returning freed memory to the system,
// so that it counts what is live, not what the collector has yet to give back.
func rssKiB() int64 {
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func BenchmarkTenThousandWaiting(b *testing.B) {
	n := 10_000
	if s := os.Getenv("JOURNEY_BENCH_WAITING"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for range b.N {
		benchWaiting(b, n)
	}
}

func benchWaiting(b *testing.B, n int) {
	w := newWorld(b, store.SQLite)
	ctx := context.Background()
	start := w.clk.Now().Add(time.Hour)
	tokens := make([]string, 0, n)
	for i := range n {
		a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{
			Start: start, DurationMinutes: 30, TimeZone: "Europe/Berlin", AgentUserID: "agent-" + strconv.Itoa(i),
			Customers: []rendezvous.Customer{{Name: "C", Email: "c@example.com"}},
		}, w.clk.Now())
		if err != nil {
			b.Fatal(err)
		}
		saved, _, err := w.st.CreateAppointment(ctx, a, store.Idempotency{})
		if err != nil {
			b.Fatal(err)
		}
		tokens = append(tokens, saved.LinkToken)
	}
	w.clk.Set(start.Add(-10 * time.Minute))

	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), benchClientEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	before, rssBefore := heapAndStacks(), rssKiB()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Process.Kill()
	go func() {
		fmt.Fprintln(stdin, w.srv.URL)
		for _, tok := range tokens {
			fmt.Fprintln(stdin, tok)
		}
		fmt.Fprintln(stdin)
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "ready") {
		b.Fatalf("client: %q", lines.Text())
	}
	if f := strings.TrimPrefix(lines.Text(), "ready "); f != "0" {
		b.Fatalf("%s streams failed to open", f)
	}
	after, rssAfter := heapAndStacks(), rssKiB()
	perWaiter := float64(after-before) / float64(n)
	rssPer := float64(rssAfter-rssBefore) * 1024 / float64(n)

	t0 := time.Now()
	w.clk.Set(start)
	if !lines.Scan() {
		b.Fatal("client ended early")
	}
	var lastNanos int64
	var failed int
	fmt.Sscanf(lines.Text(), "done %d %d", &lastNanos, &failed)
	if failed != 0 {
		b.Fatalf("%d streams failed", failed)
	}
	allTold := time.Duration(lastNanos - t0.UnixNano())
	written := journey.LastFanOut(w.j)
	cmd.Wait()
	b.ReportMetric(perWaiter, "heap+stack-B/waiter")
	b.ReportMetric(rssPer, "rss-B/waiter")
	b.ReportMetric(float64(allTold.Microseconds())/1000, "ms-until-all-told")
	b.ReportMetric(float64(written.Microseconds())/1000, "ms-server-writes")
	b.Logf("%d waiting customers: %.0f B heap+stacks each (%.1f KiB), %.0f B RSS each; all told %s after the start (server done writing after %s)",
		n, perWaiter, perWaiter/1024, rssPer, allTold, written)
}

func BenchmarkPresenceJoin(b *testing.B) {
	const rounds = 200
	w := newWorld(b, store.SQLite)
	ctx := context.Background()
	demo := sandbox.Demo
	// The wait's condition runs on every change the sandbox makes and takes the sandbox's
	// lock: a count, not a copy of every conversation, so the wait does not slow the join.
	count := func() int { return w.sb.ConversationCount("message") }
	waitCount := func(want int) {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := w.sb.WaitFor(c, func() bool { return count() >= want }); err != nil {
			b.Fatalf("waiting for conversation %d: %v", want, err)
		}
	}
	var ours, direct []time.Duration
	wsURL := w.wsURL
	for range rounds {
		// Ours: the customer's GET at the start → presence join at the sandbox.
		start := w.clk.Now().Add(time.Hour)
		a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{
			Start: start, DurationMinutes: 30, TimeZone: "Europe/Berlin", AgentUserID: demo.Agents[0].ID,
			Customers: []rendezvous.Customer{{Name: "C", Email: "c@example.com"}},
		}, w.clk.Now())
		if err != nil {
			b.Fatal(err)
		}
		saved, _, err := w.st.CreateAppointment(ctx, a, store.Idempotency{})
		if err != nil {
			b.Fatal(err)
		}
		w.clk.Set(start)
		have := count()
		t0 := time.Now()
		resp, err := http.Get(w.srv.URL + "/a/" + saved.LinkToken)
		if err != nil {
			b.Fatal(err)
		}
		// Read the page to the end so the next open reuses the connection, as the page's
		// own script does when it asks for the interaction at the start.
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		waitCount(have + 1)
		ours = append(ours, time.Since(t0))

		// The sandbox's own round trip: dial, configure, join, straight from the client.
		have = count()
		t0 = time.Now()
		s, err := genesys.DialGuest(ctx, genesys.GuestConfig{URL: wsURL, DeploymentID: demo.AgentDeploymentID,
			Token: uuid.NewString(), Origin: w.srv.URL})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Join(ctx, map[string]string{demo.AgentAttribute: demo.Agents[0].ID}); err != nil {
			b.Fatal(err)
		}
		waitCount(have + 1)
		direct = append(direct, time.Since(t0))
		s.Close()
		// Keep agents free so conversations pile up in queue only.
		w.clk.Set(start.Add(2 * time.Hour))
	}
	med := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	p90 := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)*9/10]
	}
	mo, md := med(ours), med(direct)
	overhead := mo - md
	b.ReportMetric(float64(mo.Microseconds())/1000, "ms-open-to-join-p50")
	b.ReportMetric(float64(md.Microseconds())/1000, "ms-sandbox-roundtrip-p50")
	b.ReportMetric(float64(overhead.Microseconds())/1000, "ms-our-part-p50")
	b.ReportMetric(float64(overhead)/float64(md), "our/sandbox")
	b.Logf("open→join p50 %s p90 %s; sandbox round trip p50 %s p90 %s; our part p50 %s (%.2f× the sandbox's)",
		mo, p90(ours), md, p90(direct), overhead, float64(overhead)/float64(md))
}
