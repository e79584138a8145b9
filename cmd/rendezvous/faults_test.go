package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"rendezvous/cmd/internal/wiring"
	"rendezvous/genesys/sandbox"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// The fault tests run the real service (run, as main does) in a child process of the test
// binary, so that it can be killed with SIGKILL or stopped with a real SIGTERM in the
// middle of a burst of bookings, and started again on the same database. They check what
// the issue asks: nothing lost or doubled, every message out soon after the fault ends,
// and no request answered with an error for work that was committed.

// TestMain runs the service instead of the tests when the test binary is started as a
// fault test's child (RENDEZVOUS_TEST_CHILD=serve).
func TestMain(m *testing.M) {
	if os.Getenv("RENDEZVOUS_TEST_CHILD") == "serve" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, os.Getenv, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// faultEnv is one database (SQLite in a folder, or a PostgreSQL schema) and an API key,
// shared by the children started on it.
type faultEnv struct {
	t     *testing.T
	dir   string
	dbURL string // what the children get; "" means SQLite in dir
	env   []string
	key   string
	st    *store.Store // the test's own view of the database
	// booked numbers the bookings across bursts: each has its own time, phone and key.
	booked int
	// created counts the bookings answered 201 across bursts.
	created int
}

func newFaultEnv(t *testing.T, dialect string) *faultEnv {
	t.Helper()
	if dialect == store.SQLite {
		return newFaultEnvIn(t, t.TempDir())
	}
	return newFaultEnvAt(t, dialect, t.TempDir())
}

// newFaultEnvIn is a SQLite fault env with its data folder in dir.
func newFaultEnvIn(t *testing.T, dir string) *faultEnv {
	return newFaultEnvAt(t, store.SQLite, dir)
}

func newFaultEnvAt(t *testing.T, dialect, dir string) *faultEnv {
	t.Helper()
	f := &faultEnv{t: t, dir: dir}
	vars := map[string]string{
		"RENDEZVOUS_DATA":         f.dir,
		"RENDEZVOUS_SANDBOX_ADDR": "127.0.0.1:0",
		"RENDEZVOUS_LOG_LEVEL":    "info",
		"RENDEZVOUS_LOG_FORMAT":   "text",
		"RENDEZVOUS_RATE_LIMIT":   "0",
		// The same name across restarts, as a fixed port would give: the restarted
		// instance takes back its jobs at once.
		"RENDEZVOUS_INSTANCE_ID": "fault-test",
	}
	if dialect == store.Postgres {
		u, err := url.Parse(storetest.URL(t, store.Postgres))
		if err != nil {
			t.Fatal(err)
		}
		// application_name tells this test's connections apart from every other test's
		// on the same server, for pg_terminate_backend.
		q := u.Query()
		q.Set("application_name", "rdv_"+q.Get("search_path"))
		u.RawQuery = q.Encode()
		f.dbURL = u.String()
		vars["RENDEZVOUS_DATABASE_URL"] = f.dbURL
	}
	getenv := func(k string) string { return vars[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"apikey", "create", "-name", "faults"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	f.key = lines[len(lines)-1]
	for k, v := range vars {
		f.env = append(f.env, k+"="+v)
	}
	u := f.dbURL
	if u == "" {
		u = "sqlite://" + f.dir + "/rendezvous.db"
	}
	st, err := store.Open(context.Background(), u, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	// Each booking's confirmation goes at once, not after the window in which quick
	// changes join it (notify.Settings.CoalesceSeconds): these tests count the sends.
	if err := st.PutNotifySettings(context.Background(), wiring.DefaultOrgID, []byte(`{"coalesceSeconds": 0}`)); err != nil {
		t.Fatal(err)
	}
	return f
}

// child is one run of the service in its own process.
type child struct {
	cmd  *exec.Cmd
	logs *lineWatcher
	base string
	done chan struct{} // closed when the process has exited; err is then its outcome
	err  error
}

// start starts the service and waits until it listens.
func (f *faultEnv) start() *child {
	f.t.Helper()
	c := &child{logs: &lineWatcher{found: make(chan string, 1)}, done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0])
	c.cmd.Env = append(os.Environ(), append([]string{"RENDEZVOUS_TEST_CHILD=serve"}, f.env...)...)
	c.cmd.Stderr = c.logs
	c.cmd.Stdout = io.Discard
	if err := c.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	f.t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
	})
	select {
	case c.base = <-c.logs.found:
	case <-c.done:
		f.t.Fatalf("child exited before listening: %v\n%s", c.err, c.logs)
	case <-time.After(30 * time.Second):
		f.t.Fatalf("child not listening within 30 s:\n%s", c.logs)
	}
	return c
}

// outcome is what one booking request got.
type outcome struct {
	status     int // 0: no answer (connection refused or cut)
	retryAfter string
	err        error
}

// burst books n appointments (each with a phone and an email, so two "created" messages)
// from clients goroutines, calling fault once after `after` answers. Each request has its
// own Idempotency-Key.
func (f *faultEnv) burst(base string, n, clients, after int, fault func()) []outcome {
	f.t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	out := make([]outcome, n)
	first := f.booked
	f.booked += n
	var next, answered atomic.Int64
	var once sync.Once
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	agents := sandbox.Demo.Agents
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				i := first + k
				body := fmt.Sprintf(`{"start": %q, "durationMinutes": 30, "timeZone": "Europe/Athens", "title": "Fault %d",
					"agentUserId": %q, "customers": [{"name": "C %d", "phone": "+30691%07d", "email": "c%d@example.com"}]}`,
					start.Add(time.Duration(i/len(agents))*time.Hour).Format(time.RFC3339), i, agents[i%len(agents)].ID, i, i, i)
				req, _ := http.NewRequest("POST", base+"/api/v1/appointments", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+f.key)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("fault-%d", i))
				resp, err := client.Do(req)
				if err != nil {
					out[k] = outcome{err: err}
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					out[k] = outcome{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
				}
				if answered.Add(1) == int64(after) && fault != nil {
					once.Do(fault)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// count runs a COUNT query on the test's view of the database.
func (f *faultEnv) count(q string, args ...any) int {
	f.t.Helper()
	rows, err := f.st.Read(context.Background(), q, args...)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var c sql.NullInt64
		if err := rows.Scan(&c); err != nil {
			f.t.Fatal(err)
		}
		n += int(c.Int64)
	}
	return n
}

// waitAllSent waits up to within for every appointment's two "created" messages to be
// sent, and then checks that none was sent twice and no job failed.
func (f *faultEnv) waitAllSent(within time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(within)
	for {
		appts := f.count("SELECT COUNT(*) FROM appointments")
		sent := f.count("SELECT COUNT(*) FROM notify_deliveries WHERE event = 'created' AND outcome = 'sent'")
		if sent == 2*appts {
			break
		}
		if time.Now().After(deadline) {
			rows, _ := f.st.Read(context.Background(), "SELECT outcome, error FROM notify_deliveries WHERE event = 'created' AND outcome <> 'sent'")
			var left []string
			for rows != nil && rows.Next() {
				var o, e string
				rows.Scan(&o, &e)
				left = append(left, o+": "+e)
			}
			if rows != nil {
				rows.Close()
			}
			f.t.Fatalf("within %s only %d of %d messages were sent; not sent: %v", within, sent, 2*appts, left)
		}
		time.Sleep(50 * time.Millisecond) // polling another process's progress, not waiting for the future
	}
	if n := f.count("SELECT COUNT(*) FROM (SELECT delivery_id FROM notify_attempts WHERE outcome = 'sent' GROUP BY delivery_id HAVING COUNT(*) > 1) AS d"); n > 0 {
		f.t.Errorf("%d messages were sent twice", n)
	}
	if n := f.count("SELECT COUNT(*) FROM (SELECT appointment_id FROM notify_deliveries WHERE event = 'created' GROUP BY appointment_id, channel, customer_index HAVING COUNT(*) > 1) AS d"); n > 0 {
		f.t.Errorf("%d messages were planned twice", n)
	}
	if n := f.count("SELECT COUNT(*) FROM jobs WHERE state = 'failed'"); n > 0 {
		f.t.Errorf("%d jobs failed", n)
	}
}

// checkAnswers checks that no request was answered with an error for committed work:
// every committed booking was answered 201, every refusal is a 503 with Retry-After.
func (f *faultEnv) checkAnswers(out []outcome, allowLost bool) {
	f.t.Helper()
	created := 0
	for i, o := range out {
		switch {
		case o.status == http.StatusCreated:
			created++
		case o.status == http.StatusServiceUnavailable:
			if o.retryAfter == "" {
				f.t.Errorf("request %d: 503 without Retry-After", i)
			}
		case o.status == 0 && o.err != nil && strings.Contains(o.err.Error(), "connection refused"):
			// The port was closed: the request never reached the service.
		case o.status == 0 && o.err != nil && strings.Contains(o.err.Error(), "connection reset by peer"):
			// The connection was still in the kernel's accept queue when the listener
			// closed, so the kernel reset it: the request never reached the service
			// either. The count of appointments below proves nothing it sent was
			// committed.
		case o.status == 0 && allowLost:
		default:
			f.t.Errorf("request %d: status %d (%v)", i, o.status, o.err)
		}
	}
	f.created += created
	if appts := f.count("SELECT COUNT(*) FROM appointments"); appts != f.created && !allowLost {
		f.t.Errorf("%d appointments committed, %d answered 201", appts, f.created)
	}
	if created == 0 {
		f.t.Error("no booking succeeded before the fault")
	}
}

// TestSIGTERMMidBurstLosesNothing stops the service with SIGTERM in the middle of a burst
// of bookings: requests it had accepted finish, later ones get 503 with Retry-After (or
// find the port closed), no committed booking is answered with an error, and after a
// restart every message of every booking goes out, once.
func TestSIGTERMMidBurstLosesNothing(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			f := newFaultEnv(t, d)
			c := f.start()
			out := f.burst(c.base, 40, 8, 15, func() { c.cmd.Process.Signal(syscall.SIGTERM) })
			select {
			case <-c.done:
				if c.err != nil {
					t.Fatalf("the service did not stop cleanly: %v\n%s", c.err, c.logs)
				}
			case <-time.After(40 * time.Second):
				t.Fatalf("the service did not stop within 40 s of SIGTERM:\n%s", c.logs)
			}
			// Requests after the port closed find it refused; none is cut.
			f.checkAnswers(out, false)
			f.start()
			f.waitAllSent(30 * time.Second)
		})
	}
}

// TestKillMidBurstLosesNothing kills the service (SIGKILL) in the middle of a burst and
// starts it again under the same instance name: it takes back the jobs it was running at
// once, and every message of every committed booking goes out within 30 s, once.
func TestKillMidBurstLosesNothing(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			f := newFaultEnv(t, d)
			c := f.start()
			out := f.burst(c.base, 40, 8, 15, func() { c.cmd.Process.Kill() })
			<-c.done
			// Requests in flight at the kill have no answer and may or may not have
			// committed (their Idempotency-Key makes a retry safe); the rest must be right.
			f.checkAnswers(out, true)
			f.start()
			f.waitAllSent(30 * time.Second)
		})
	}
}

// sandboxURL is the child's built-in Genesys sandbox, from its log.
func (c *child) sandboxURL(t *testing.T) string {
	t.Helper()
	var u string
	waitFor(t, func() bool { u = c.logs.value("url="); return u != "" })
	return u
}

// TestRateLimitedGenesysLosesNothing makes the sandbox answer every send with 429 for a
// while (until it has met twenty, a few seconds, standing for the 15 s), during a burst: the sends wait in the
// queue (deferred, no attempt spent), every message goes out within 30 s of the 429s
// ending, once, and the delivery log shows the 429s.
func TestRateLimitedGenesysLosesNothing(t *testing.T) {
	t.Parallel()
	f := newFaultEnv(t, store.SQLite)
	c := f.start()
	sb := c.sandboxURL(t)
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, sb+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	post("POST", "/sandbox/faults", `{"pathPrefix": "/api/v2/conversations/", "method": "POST", "status": 429, "count": -1, "retryAfterSeconds": 1}`)
	out := f.burst(c.base, 30, 8, 0, nil)
	f.checkAnswers(out, false)
	// The 429s last until the service has met twenty of them (a few seconds).
	deadline := time.Now().Add(20 * time.Second)
	for f.count("SELECT COUNT(*) FROM notify_attempts WHERE status = 429") < 20 {
		if time.Now().After(deadline) {
			t.Fatal("the service met fewer than twenty 429 answers in 20 s")
		}
		time.Sleep(50 * time.Millisecond) // polling another process's progress
	}
	post("DELETE", "/sandbox/faults", "")
	f.waitAllSent(30 * time.Second)
	if n := f.count("SELECT COUNT(*) FROM notify_attempts WHERE status = 429"); n == 0 {
		t.Error("the delivery log shows none of the 429 answers")
	}
}

// TestPostgresConnectionsCutLoseNothing cuts the service's PostgreSQL connections every
// 100 ms for 2 s (pg_terminate_backend, as a flapping network or a failover does) while
// its messages go out: every message still goes out within 30 s of the cuts ending, once,
// and no delivery is recorded as failed for a database error.
func TestPostgresConnectionsCutLoseNothing(t *testing.T) {
	t.Parallel()
	f := newFaultEnv(t, store.Postgres)
	c := f.start()
	out := f.burst(c.base, 40, 8, 0, nil)
	f.checkAnswers(out, false)
	u, _ := url.Parse(f.dbURL)
	app := u.Query().Get("application_name")
	q := u.Query()
	q.Del("application_name")
	u.RawQuery = q.Encode()
	killer, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	cut := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		var n int
		if err := killer.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		cut += n
		time.Sleep(100 * time.Millisecond) // the pace of the cuts, not a wait for the future
	}
	if cut == 0 {
		t.Fatal("no connection of the service was cut")
	}
	f.waitAllSent(30 * time.Second)
	if n := f.count("SELECT COUNT(*) FROM notify_deliveries WHERE outcome IN ('failed', 'unknown')"); n > 0 {
		t.Errorf("%d deliveries failed or unknown", n)
	}
	t.Logf("%d connections cut", cut)
}

// TestDiskFullIsVisibleAndRecovers runs the service on SQLite in a small tmpfs, then fills
// the disk for real: /readyz turns 503 and says why, bookings are refused with 503 and
// Retry-After (never a 500, never an error for a committed booking); once space returns,
// the service recovers by itself: ready again, bookings accepted, every message sent and
// no delivery left "sending". (It mounts a tmpfs, so it needs root, as CI has.)
func TestDiskFullIsVisibleAndRecovers(t *testing.T) {
	t.Parallel()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs for the full disk (the test needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	f := newFaultEnvIn(t, mnt)
	c := f.start()
	client := &http.Client{Timeout: 10 * time.Second}
	ready := func() (int, string) {
		resp, err := client.Get(c.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := ready(); code != http.StatusOK {
		t.Fatalf("readyz before: %d %s", code, body)
	}
	f.checkAnswers(f.burst(c.base, 10, 4, 0, nil), false)

	// Fill the disk.
	filler, err := os.Create(mnt + "/filler")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()
	// Bookings are refused cleanly (some may still fit in pages SQLite has free).
	out := f.burst(c.base, 20, 4, 0, nil)
	refused := 0
	for i, o := range out {
		switch o.status {
		case http.StatusCreated:
			f.created++
		case http.StatusServiceUnavailable:
			refused++
			if o.retryAfter == "" {
				t.Errorf("request %d: 503 without Retry-After", i)
			}
		default:
			t.Errorf("request %d with the disk full: %d (%v)", i, o.status, o.err)
		}
	}
	if refused == 0 {
		t.Fatal("no booking was refused with the disk full")
	}
	code, body := ready()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no space") {
		t.Errorf("readyz with the disk full: %d %q, want 503 saying there is no space", code, body)
	}

	// Space returns: the service recovers by itself.
	if err := os.Remove(mnt + "/filler"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := ready(); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready 20 s after space returned")
		}
		time.Sleep(100 * time.Millisecond) // polling another process's state
	}
	f.checkAnswers(f.burst(c.base, 10, 4, 0, nil), false)
	f.waitAllSent(30 * time.Second)
	if n := f.count("SELECT COUNT(*) FROM notify_deliveries WHERE outcome = 'sending'"); n > 0 {
		t.Errorf("%d deliveries left sending", n)
	}
}

// TestPostgresDownAnswers503 puts a TCP proxy between the service and PostgreSQL and
// cuts it, as when the database server goes down: every booking is refused with 503 and
// Retry-After (never a 500), /readyz says the database cannot be reached, and once the
// database is back the service recovers by itself and every message goes out. (The proxy
// stands for the server: the PostgreSQL other tests use is not stopped.)
func TestPostgresDownAnswers503(t *testing.T) {
	t.Parallel()
	f := newFaultEnv(t, store.Postgres)
	u, err := url.Parse(f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := startTCPProxy(t, u.Host)
	u.Host = p.addr
	for i, kv := range f.env {
		if strings.HasPrefix(kv, "RENDEZVOUS_DATABASE_URL=") {
			f.env[i] = "RENDEZVOUS_DATABASE_URL=" + u.String()
		}
	}
	c := f.start()
	client := &http.Client{Timeout: 30 * time.Second}
	ready := func() (int, string, string) {
		resp, err := client.Get(c.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	f.checkAnswers(f.burst(c.base, 10, 4, 0, nil), false)

	p.cut()
	out := f.burst(c.base, 20, 4, 0, nil)
	for i, o := range out {
		if o.status != http.StatusServiceUnavailable || o.retryAfter == "" {
			t.Errorf("request %d with PostgreSQL down: %d, Retry-After %q (%v); want 503 with Retry-After", i, o.status, o.retryAfter, o.err)
		}
	}
	if code, _, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot be reached") {
		t.Errorf("readyz with PostgreSQL down: %d %q, want 503 saying the database cannot be reached", code, body)
	}

	p.restore()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _, _ := ready(); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready 20 s after PostgreSQL came back")
		}
		time.Sleep(100 * time.Millisecond) // polling another process's state
	}
	f.checkAnswers(f.burst(c.base, 10, 4, 0, nil), false)
	f.waitAllSent(30 * time.Second)
}

// tcpProxy forwards connections to a target until cut, which closes its listener and
// every connection through it, as a database server that goes down does; restore listens
// again on the same address.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			if !p.track(in, out) {
				continue
			}
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

// track remembers a forwarded pair, or closes it when the proxy was cut meanwhile.
func (p *tcpProxy) track(in, out net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		in.Close()
		out.Close()
		return false
	}
	p.conns[in], p.conns[out] = true, true
	return true
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) restore() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
