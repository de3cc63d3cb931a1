package replaytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apitape/apitape/har"
)

// FakeOptions change the fake server's behaviour.
type FakeOptions struct {
	// Nonce adds a field "nonce" with a random value to every JSON answer:
	// noise that no built-in rule knows.
	Nonce bool
	// RenameVersion answers kubernetesVersion as k8sVersion.
	RenameVersion bool
	// CreateStatus replaces 201 on cluster creation.
	CreateStatus int
}

// Fake is a tiny Rancher-like /v3 API: login, create/edit/get/list
// clusters. Ids, uuids, timestamps and tokens are random; links are
// absolute with the request's host.
type Fake struct {
	opts     FakeOptions
	mu       sync.Mutex
	tokens   map[string]bool
	clusters map[string]map[string]any
}

// NewFake returns a fresh server state.
func NewFake(opts FakeOptions) *Fake {
	return &Fake{opts: opts, tokens: map[string]bool{}, clusters: map[string]map[string]any{}}
}

const alphabet = "bcdfghjklmnpqrstvwxz2456789"

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Expires", "Wed 24 Feb 1982 18:42:00 GMT")
	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	w.Header().Set("X-Api-Schemas", base+"/v3/schemas")
	path := r.URL.Path
	if path == "/v3-public/localProviders/local" && r.Method == "POST" && r.URL.Query().Get("action") == "login" {
		f.login(w, r)
		return
	}
	if !f.authorized(r) {
		f.json(w, r, 401, map[string]any{"type": "error", "status": "401", "message": "must authenticate"})
		return
	}
	switch {
	case (path == "/v3/cluster" || path == "/v3/clusters") && r.Method == "POST":
		f.create(w, r, base)
	case path == "/v3/clusters" && r.Method == "GET":
		f.list(w, r, base)
	case strings.HasPrefix(path, "/v3/clusters/"):
		id := strings.TrimPrefix(path, "/v3/clusters/")
		f.mu.Lock()
		c, ok := f.clusters[id]
		f.mu.Unlock()
		if !ok {
			f.json(w, r, 404, map[string]any{"baseType": "error", "code": "NotFound", "message": fmt.Sprintf("clusters.management.cattle.io %q not found", id), "status": 404, "type": "error"})
			return
		}
		switch r.Method {
		case "GET":
			f.json(w, r, 200, f.view(c, base, r))
		case "PUT":
			var in map[string]any
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				f.json(w, r, 422, map[string]any{"type": "error", "code": "InvalidBodyContent", "status": 422})
				return
			}
			f.mu.Lock()
			for k, v := range in {
				if k != "id" && k != "type" && k != "links" && k != "actions" && k != "actionLinks" {
					c[k] = v
				}
			}
			f.mu.Unlock()
			f.json(w, r, 200, f.view(c, base, r))
		default:
			f.json(w, r, 405, map[string]any{"type": "error", "code": "MethodNotAllow", "status": 405})
		}
	default:
		f.json(w, r, 404, map[string]any{"type": "error", "code": "NotFound", "status": 404})
	}
}

func (f *Fake) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username, Password, ResponseType string
	}
	json.NewDecoder(r.Body).Decode(&in)
	if in.Username != "admin" || in.Password != "admin-password" {
		f.json(w, r, 401, map[string]any{"type": "error", "status": "401", "message": "must authenticate"})
		return
	}
	name := "token-" + randomID(5)
	tok := name + ":" + randomID(54)
	f.mu.Lock()
	f.tokens[tok] = true
	f.mu.Unlock()
	if in.ResponseType == "cookie" {
		http.SetCookie(w, &http.Cookie{Name: "R_SESS", Value: tok, Path: "/", HttpOnly: true})
		w.WriteHeader(200)
		return
	}
	now := time.Now().UTC()
	f.json(w, r, 201, map[string]any{"baseType": "token", "type": "token", "id": name, "name": name, "token": tok,
		"created": now.Format(time.RFC3339), "createdTS": now.UnixMilli(), "uuid": uuid(), "userId": "user-admin1"})
}

func (f *Fake) authorized(r *http.Request) bool {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		if c, err := r.Cookie("R_SESS"); err == nil {
			tok = c.Value
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens[tok]
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request, base string) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.json(w, r, 422, map[string]any{"type": "error", "code": "InvalidBodyContent", "status": 422})
		return
	}
	id := "c-" + randomID(5)
	now := time.Now().UTC()
	c := map[string]any{}
	for k, v := range in {
		c[k] = v
	}
	c["id"], c["type"], c["baseType"] = id, "cluster", "cluster"
	c["uuid"], c["created"], c["createdTS"] = uuid(), now.Format(time.RFC3339), now.UnixMilli()
	c["creatorId"], c["state"] = "user-admin1", "provisioning"
	f.mu.Lock()
	f.clusters[id] = c
	f.mu.Unlock()
	status := 201
	if f.opts.CreateStatus != 0 {
		status = f.opts.CreateStatus
	}
	w.Header().Set("Location", base+"/v3/clusters/"+id)
	f.json(w, r, status, f.view(c, base, r))
}

func (f *Fake) view(c map[string]any, base string, r *http.Request) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := maps.Clone(c)
	self := base + "/v3/clusters/" + c["id"].(string)
	out["links"] = map[string]any{"self": self, "update": self, "remove": self, "nodes": self + "/nodes"}
	actions := map[string]any{"generateKubeconfig": self + "?action=generateKubeconfig"}
	if r.Header.Get("X-Api-Action-Links") != "" {
		out["actionLinks"] = actions
	} else {
		out["actions"] = actions
	}
	if f.opts.RenameVersion {
		if rke, ok := out["rancherKubernetesEngineConfig"].(map[string]any); ok {
			cp := maps.Clone(rke)
			if v, ok := cp["kubernetesVersion"]; ok {
				delete(cp, "kubernetesVersion")
				cp["k8sVersion"] = v
			}
			out["rancherKubernetesEngineConfig"] = cp
		}
	}
	return out
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request, base string) {
	f.mu.Lock()
	ids := slices.Sorted(maps.Keys(f.clusters)) // by random id, as norman does
	f.mu.Unlock()
	data := []any{}
	for _, id := range ids {
		f.mu.Lock()
		c := f.clusters[id]
		f.mu.Unlock()
		data = append(data, f.view(c, base, r))
	}
	f.json(w, r, 200, map[string]any{"type": "collection", "resourceType": "cluster",
		"links": map[string]any{"self": base + "/v3/clusters"}, "pagination": map[string]any{"limit": 1000, "total": len(data)},
		"data": data})
}

func (f *Fake) json(w http.ResponseWriter, r *http.Request, status int, v map[string]any) {
	if f.opts.Nonce {
		v["nonce"] = randomID(12)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(v)
	w.Write(append(b, '\n'))
}

// RecordSession records the standard session against a server at base:
// log in (token), create a cluster, edit it, get it, list clusters. Later
// calls carry the token as Bearer and the created id in their URLs, as a
// UI would.
func RecordSession(base string) ([]*har.Entry, error) {
	rec := NewRecorder(base)
	rec.Header.Set("Accept", "application/json")
	rec.Header.Set("X-Api-Action-Links", "actionLinks")
	login, err := rec.Do("POST", "/v3-public/localProviders/local?action=login", `{"username":"admin","password":"admin-password","responseType":"token"}`)
	if err != nil {
		return nil, err
	}
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(*login.Response.Content.Text), &tok); err != nil || tok.Token == "" {
		return nil, fmt.Errorf("login: no token (status %d)", login.Response.Status)
	}
	rec.Header.Set("Authorization", "Bearer "+tok.Token)
	created, err := rec.Do("POST", "/v3/cluster?_replace=true", `{"type":"cluster","name":"lab","rancherKubernetesEngineConfig":{"kubernetesVersion":"v1.17.4-rancher1-3"}}`)
	if err != nil {
		return nil, err
	}
	var c struct{ ID string }
	if err := json.Unmarshal([]byte(*created.Response.Content.Text), &c); err != nil || c.ID == "" {
		return nil, fmt.Errorf("create: no id (status %d)", created.Response.Status)
	}
	steps := [][3]string{
		{"PUT", "/v3/clusters/" + c.ID + "?_replace=true", `{"type":"cluster","name":"lab","description":"edited","rancherKubernetesEngineConfig":{"kubernetesVersion":"v1.17.4-rancher1-3"}}`},
		{"GET", "/v3/clusters/" + c.ID, ""},
		{"GET", "/v3/clusters", ""},
	}
	for _, s := range steps {
		if _, err := rec.Do(s[0], s[1], s[2]); err != nil {
			return nil, err
		}
	}
	return rec.Entries, nil
}
