package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// User is the admin's username; "admin" when empty.
	User string
	// Password is the admin's password. When empty a random one is
	// generated, unless the state file already has this user, whose
	// password is then kept.
	Password string
	// StatePath, when set, keeps the state in this JSON file across
	// restarts (written atomically, mode 0600: it holds tokens).
	StatePath string
	// Variant is one of the names of Variants, or "" for none.
	Variant string
	// Logf receives one line per request ("GET /v3/clusters 200 1.2ms":
	// never a query or a header, which may hold secrets) and errors the
	// server cannot return to a client, which start with "error: " (a
	// failed state-file write). Nil discards them.
	Logf func(format string, args ...any)
}

// Server is the demo Rancher API and its web UI; it implements
// http.Handler and is safe for concurrent use.
type Server struct {
	variant   string
	statePath string
	logf      func(string, ...any)
	ui        http.Handler

	mu       sync.Mutex // guards everything below
	st       *state
	adminID  string
	username string
	password string // "" when kept from the state file
	apiKey   string
}

// New builds a server: it loads the state file if there is one, makes sure
// the admin user exists with the given password, and creates (or, with a
// state file, reuses) an API key for the admin.
func New(opts Options) (*Server, error) {
	if err := checkVariant(opts.Variant); err != nil {
		return nil, err
	}
	s := &Server{
		variant:   opts.Variant,
		statePath: opts.StatePath,
		logf:      opts.Logf,
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	st := newState()
	if opts.StatePath != "" {
		var err error
		if st, err = loadState(opts.StatePath); err != nil {
			return nil, err
		}
	}
	s.st = st
	s.username = opts.User
	if s.username == "" {
		s.username = "admin"
	}
	s.ui = uiHandler(s.username)
	now := time.Now().UTC()
	u := st.userByName(s.username)
	switch {
	case u == nil:
		s.password = opts.Password
		if s.password == "" {
			s.password = randomString(20)
		}
		u = &user{ID: newName("user-"), Username: s.username, Name: "Default Admin", Enabled: true,
			PasswordHash: hashPassword(s.password), Created: now, UUID: newUUID()}
		st.Users[u.ID] = u
	case opts.Password != "":
		s.password = opts.Password
		u.PasswordHash = hashPassword(s.password)
		u.Enabled = true
	}
	s.adminID = u.ID
	for _, t := range st.Tokens {
		if t.Startup && t.UserID == u.ID && !t.expired(now) {
			s.apiKey = t.value()
		}
	}
	if s.apiKey == "" {
		t := &token{Name: newName("token-"), Secret: newTokenSecret(), UserID: u.ID, Kind: kindAPIKey,
			Description: "apitape demo serve", Created: now, UUID: newUUID(), Startup: true}
		st.Tokens[t.Name] = t
		s.apiKey = t.value()
	}
	if opts.StatePath != "" {
		if err := st.save(opts.StatePath); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	return s, nil
}

// APIKey returns the admin's API key, "token-xxxxx:<54 characters>", usable
// as a Bearer token.
func (s *Server) APIKey() string { return s.apiKey }

// User returns the admin's username.
func (s *Server) User() string { return s.username }

// Password returns the admin's password as given or generated, or "" when
// it was kept from the state file (only its hash is stored).
func (s *Server) Password() string { return s.password }

// ServeHTTP serves the API under /v3, /v3-public and /v1, and the web UI
// everywhere else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	lw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	switch {
	case underPrefix(r.URL.Path, "/v3-public"), underPrefix(r.URL.Path, "/v3"), underPrefix(r.URL.Path, "/v1"):
		s.serveAPI(lw, r)
	default:
		s.ui.ServeHTTP(lw, r)
	}
	s.logf("%s %s %d %s", r.Method, r.URL.Path, lw.status, time.Since(start).Round(time.Microsecond))
}

func underPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// saveLocked persists the state when a state file is configured. A failed
// write is logged, not returned: the change already happened in memory and
// the client should see it.
func (s *Server) saveLocked() {
	if s.statePath == "" {
		return
	}
	if err := s.st.save(s.statePath); err != nil {
		s.logf("error: %v", err)
	}
}

// Running is a server listening on a socket.
type Running struct {
	URL      string // "http://127.0.0.1:43127", no trailing slash
	User     string
	Password string // "" when kept from the state file
	APIKey   string
	Server   *Server

	hs        *http.Server
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// Start listens on addr (127.0.0.1:0 when empty) and serves until ctx is
// done or Close is called.
func Start(ctx context.Context, addr string, opts Options) (*Running, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	srv, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	r := &Running{
		URL:      "http://" + dialAddr(ln.Addr()),
		User:     srv.User(),
		Password: srv.Password(),
		APIKey:   srv.APIKey(),
		Server:   srv,
		hs:       &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		closed:   make(chan struct{}),
	}
	go func() {
		if err := r.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			srv.logf("error: serve: %v", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			r.Close()
		case <-r.closed:
		}
	}()
	return r, nil
}

// dialAddr turns a listener address into one a client can dial: a wildcard
// host (":0", "0.0.0.0", "::") becomes the loopback address.
func dialAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// Close stops the server, letting requests in flight finish for up to five
// seconds. It is safe to call more than once.
func (r *Running) Close() error {
	r.closeOnce.Do(func() {
		defer close(r.closed)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.closeErr = r.hs.Shutdown(ctx)
	})
	return r.closeErr
}
