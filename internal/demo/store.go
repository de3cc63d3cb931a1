package demo

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apitape/apitape/internal/atomicfile"
)

// object is a stored norman resource of the generic types (clusters, node
// templates, node pools, cloud credentials). Fields holds what clients may
// write, write-only secrets included; everything else is computed when the
// object is rendered.
type object struct {
	ID        string         `json:"id"`
	Created   time.Time      `json:"created"`
	UUID      string         `json:"uuid"`
	CreatorID string         `json:"creatorId"`
	Driver    string         `json:"driver,omitempty"` // clusters made through /v1: "rke2" or "k3s"
	Owner     string         `json:"owner,omitempty"`  // their /v1 id, "fleet-default/lab2"
	Fields    map[string]any `json:"fields"`
}

type user struct {
	ID                 string    `json:"id"`
	Username           string    `json:"username"`
	Name               string    `json:"name"`
	Description        string    `json:"description"`
	PasswordHash       string    `json:"passwordHash"`
	Enabled            bool      `json:"enabled"`
	MustChangePassword bool      `json:"mustChangePassword"`
	Created            time.Time `json:"created"`
	UUID               string    `json:"uuid"`
}

// Token kinds.
const (
	kindSession    = "session"    // made by login
	kindAPIKey     = "apikey"     // made by POST /v3/tokens
	kindKubeconfig = "kubeconfig" // made by generateKubeconfig
)

type token struct {
	Name        string    `json:"name"`
	Secret      string    `json:"secret"`
	UserID      string    `json:"userId"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	ClusterID   string    `json:"clusterId,omitempty"`
	TTL         int64     `json:"ttl"` // milliseconds; 0 never expires
	Created     time.Time `json:"created"`
	UUID        string    `json:"uuid"`
	Startup     bool      `json:"startup,omitempty"` // the key New creates for the admin
}

func (t *token) value() string { return t.Name + ":" + t.Secret }

func (t *token) expiresAt() time.Time {
	if t.TTL <= 0 {
		return time.Time{}
	}
	return t.Created.Add(time.Duration(t.TTL) * time.Millisecond)
}

func (t *token) expired(now time.Time) bool {
	e := t.expiresAt()
	return !e.IsZero() && !now.Before(e)
}

// provCluster is a provisioning.cattle.io cluster created through /v1.
type provCluster struct {
	Namespace       string         `json:"namespace"`
	Name            string         `json:"name"`
	UID             string         `json:"uid"`
	Created         time.Time      `json:"created"`
	Generation      int64          `json:"generation"`
	ResourceVersion int64          `json:"resourceVersion"`
	Labels          map[string]any `json:"labels"`
	Annotations     map[string]any `json:"annotations"`
	Spec            map[string]any `json:"spec"`
	MgmtID          string         `json:"mgmtId"`
}

func (p *provCluster) id() string { return p.Namespace + "/" + p.Name }

// state is everything the server knows; it is what --state persists.
type state struct {
	Version      int                           `json:"version"`
	Users        map[string]*user              `json:"users"`
	Tokens       map[string]*token             `json:"tokens"`
	Objects      map[string]map[string]*object `json:"objects"`
	Provisioning map[string]*provCluster       `json:"provisioning"`
	Revision     int64                         `json:"revision"`
}

const stateVersion = 1

func newState() *state {
	st := &state{Version: stateVersion}
	st.init()
	return st
}

func (st *state) init() {
	if st.Users == nil {
		st.Users = map[string]*user{}
	}
	if st.Tokens == nil {
		st.Tokens = map[string]*token{}
	}
	if st.Objects == nil {
		st.Objects = map[string]map[string]*object{}
	}
	for _, t := range []string{"cluster", "nodeTemplate", "nodePool", "cloudCredential"} {
		if st.Objects[t] == nil {
			st.Objects[t] = map[string]*object{}
		}
	}
	if st.Provisioning == nil {
		st.Provisioning = map[string]*provCluster{}
	}
}

// loadState reads path; a missing or empty file (`--state "$(mktemp)"`) is
// an empty state.
func loadState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(bytes.TrimSpace(data)) == 0 {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("demo: read state: %w", err)
	}
	st := new(state)
	if err := json.Unmarshal(data, st); err != nil {
		// Don't quote the content: it holds tokens.
		return nil, fmt.Errorf("demo: state file %s is not valid JSON", path)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("demo: state file %s has version %d, want %d", path, st.Version, stateVersion)
	}
	st.init()
	return st, nil
}

// save writes the state atomically with mode 0600, because it holds live
// tokens.
func (st *state) save(path string) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		// The error names atomicfile's temporary file, which the user
		// never asked for: name the state file instead.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("write state: %s: %w", path, err)
	}
	return nil
}

func (st *state) userByName(name string) *user {
	for _, u := range st.Users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// Passwords are stored as salted PBKDF2 hashes so that the state file never
// holds a plaintext password. The iteration count is modest on purpose: this
// is a local demo, and tests log in many times.
const pbkdf2Iterations = 20000

func hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, 32)
	if err != nil {
		panic(err) // only for invalid parameters, which are constants here
	}
	return strings.Join([]string{"pbkdf2-sha256", strconv.Itoa(pbkdf2Iterations),
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)}, "$")
}

func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}
