package ca

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCreateLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "ca")
	if _, err := Load(dir); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Load of an empty dir: got %v, want ErrNotExist", err)
	}
	c, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: created=%v err=%v", created, err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, c.KeyPath(): 0o600, c.CertPath(): 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}
	again, created, err := LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate: created=%v err=%v", created, err)
	}
	if !again.Cert.Equal(c.Cert) || again.SPKIHash() != c.SPKIHash() {
		t.Fatal("reloaded CA differs from the created one")
	}
	if _, err := Create(dir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Create over an existing CA: %v", err)
	}
	if !c.Cert.IsCA || !c.Cert.MaxPathLenZero || c.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("certificate is not a usable CA: IsCA=%v usage=%v", c.Cert.IsCA, c.Cert.KeyUsage)
	}
	if c.Cert.NotAfter.Before(time.Now().Add(5 * 365 * 24 * time.Hour)) {
		t.Errorf("CA expires too soon: %v", c.Cert.NotAfter)
	}
}

// A leaf signed with Signer must verify against the certificate alone: this
// is what clients do when they trust ca.pem.
func TestSignedLeafVerifies(t *testing.T) {
	c, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	leafKey := c.Signer() // any key works for the leaf; the CA's is at hand
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "api.example"},
		DNSNames:     []string{"api.example"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.Cert, leafKey.Public(), c.Signer())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.CertPEM()) {
		t.Fatal("CertPEM is not a PEM certificate")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "api.example", Roots: roots}); err != nil {
		t.Fatalf("leaf does not verify against the CA: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	good := t.TempDir()
	c, err := Create(good)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := os.ReadFile(c.KeyPath())
	const secretish = "MIGHT-BE-A-SECRET"

	tests := []struct {
		name   string
		setup  func(dir string)
		want   string
		reason string
	}{
		{"key readable by others", func(dir string) {
			copyCA(t, c, dir)
			os.Chmod(filepath.Join(dir, KeyFile), 0o644)
		}, "readable by other users", "a key others can read may have been copied"},
		{"key without certificate", func(dir string) {
			os.WriteFile(filepath.Join(dir, KeyFile), keyPEM, 0o600)
		}, "missing, but ca-key.pem exists", "half a CA must not be mistaken for none"},
		{"certificate of another key", func(dir string) {
			copyCA(t, c, dir)
			os.WriteFile(filepath.Join(dir, CertFile), other.CertPEM(), 0o644)
		}, "does not match", "a mismatched pair would sign certificates clients reject"},
		{"garbage key", func(dir string) {
			copyCA(t, c, dir)
			os.WriteFile(filepath.Join(dir, KeyFile), []byte("-----BEGIN PRIVATE KEY-----\n"+secretish+"\n-----END PRIVATE KEY-----\n"), 0o600)
		}, "", "the key file's content never appears in the error"},
		{"garbage certificate", func(dir string) {
			copyCA(t, c, dir)
			os.WriteFile(filepath.Join(dir, CertFile), []byte("hello"), 0o644)
		}, "not a PEM certificate", "a clear message, not a crash"},
		{"missing key", func(dir string) {
			copyCA(t, c, dir)
			os.Remove(filepath.Join(dir, KeyFile))
		}, "no such file", "the certificate alone cannot sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(dir)
			_, err := Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded; want an error (%s)", tt.reason)
			}
			if errors.Is(err, ErrNotExist) {
				t.Fatalf("got ErrNotExist, want a specific error: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q (%s)", err, tt.want, tt.reason)
			}
			if strings.Contains(err.Error(), secretish) || strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("error echoes file content: %q", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func copyCA(t *testing.T, c *CA, dir string) {
	t.Helper()
	key, err := os.ReadFile(c.KeyPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), c.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzParse: the PEM parsers never panic and never put input bytes in an
// error message (the input may be a private key).
func FuzzParse(f *testing.F) {
	c, err := Create(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	key, _ := os.ReadFile(c.KeyPath())
	f.Add(key)
	f.Add(c.CertPEM())
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nzzzz\n-----END RSA PRIVATE KEY-----\n"))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("Zsecret-bytesZ")}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) error{
			func(b []byte) error { _, err := parseKey(b); return err },
			func(b []byte) error { _, err := parseCert(b); return err },
		} {
			err := parse(data)
			if err == nil {
				continue
			}
			msg := err.Error()
			if block, _ := pem.Decode(data); block != nil && len(block.Bytes) >= 8 && strings.Contains(msg, string(block.Bytes)) {
				t.Fatalf("error echoes the decoded input: %q", msg)
			}
		}
	})
}
