// Package ca is the certificate authority of apitape's capture proxy: one
// ECDSA key and a self-signed CA certificate kept in a directory of the
// user's configuration, created on first use. The proxy signs a certificate
// for every HTTPS host with it, so a client that trusts ca.pem lets the proxy
// read its traffic.
//
// The private key never leaves its file: this package reads it, checks that
// nobody else can, and hands it out only as a [crypto.Signer].
package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/apitape/apitape/internal/atomicfile"
)

// File names inside a CA directory.
const (
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"
)

// Validity is how long a new CA certificate is valid.
const Validity = 10 * 365 * 24 * time.Hour

// ErrNotExist is returned (wrapped) by [Load] when the directory holds no CA.
var ErrNotExist = errors.New("no certificate authority")

// CA is a loaded certificate authority.
type CA struct {
	Dir  string
	Cert *x509.Certificate
	key  crypto.Signer
}

// DefaultDir is where apitape keeps its CA: apitape/ca in the user's
// configuration directory (~/.config/apitape/ca on Linux).
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the user's configuration directory: %w", err)
	}
	return filepath.Join(base, "apitape", "ca"), nil
}

// CertPath is the file of the CA certificate (public; give it to clients).
func (c *CA) CertPath() string { return filepath.Join(c.Dir, CertFile) }

// KeyPath is the file of the private key (mode 0600).
func (c *CA) KeyPath() string { return filepath.Join(c.Dir, KeyFile) }

// Signer signs leaf certificates. It is the CA's private key: never print or
// store it anywhere else.
func (c *CA) Signer() crypto.Signer { return c.key }

// CertPEM is the CA certificate in PEM form.
func (c *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// SPKIHash is the base64 SHA-256 of the certificate's public key, the form
// Chromium's --ignore-certificate-errors-spki-list takes.
func (c *CA) SPKIHash() string {
	sum := sha256.Sum256(c.Cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Load reads the CA in dir. A directory without one gives an error wrapping
// [ErrNotExist].
func Load(dir string) (*CA, error) {
	dir = absolute(dir)
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		if _, kerr := os.Stat(keyPath); kerr == nil {
			return nil, fmt.Errorf("%s: missing, but %s exists; remove the directory and create a new CA", certPath, KeyFile)
		}
		return nil, fmt.Errorf("%s: %w", dir, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, unwrapPath(err))
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	fi, err := os.Stat(keyPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, unwrapPath(err))
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// Like ssh: a key others can read is a key others may have copied.
		return nil, fmt.Errorf("%s: readable by other users (mode %04o); run: chmod 600 %s", keyPath, fi.Mode().Perm(), keyPath)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, unwrapPath(err))
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		// Never echo the key file's content: it is a secret.
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("%s does not match %s; remove the directory and create a new CA", keyPath, certPath)
	}
	return &CA{Dir: dir, Cert: cert, key: key}, nil
}

// LoadOrCreate loads the CA in dir, creating it first if there is none.
func LoadOrCreate(dir string) (c *CA, created bool, err error) {
	c, err = Load(dir)
	if errors.Is(err, ErrNotExist) {
		c, err = Create(dir)
		return c, err == nil, err
	}
	return c, false, err
}

// Create makes a new CA in dir (created with mode 0700 if missing). It
// refuses to replace an existing one.
func Create(dir string) (*CA, error) {
	dir = absolute(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, unwrapPath(err))
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s: already exists", p)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := selfSign(key, time.Now())
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	// Key first: a certificate without its key is useless, and Load reports
	// a key without a certificate clearly.
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFile(certPath, certPEM, 0o644); err != nil {
		os.Remove(keyPath)
		return nil, err
	}
	return &CA{Dir: dir, Cert: cert, key: key}, nil
}

func selfSign(key *ecdsa.PrivateKey, now time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	name := "apitape capture proxy CA"
	if host != "" {
		name += " (" + host + ")"
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         name,
			Organization:       []string{"apitape"},
			OrganizationalUnit: []string{"created " + now.UTC().Format("2006-01-02")},
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

func writeFile(path string, data []byte, perm os.FileMode) error {
	if err := atomicfile.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	return nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("invalid certificate: %v", err)
	}
	if !cert.IsCA {
		return nil, errors.New("not a CA certificate")
	}
	return cert, nil
}

// parseKey never includes the key's bytes in its errors.
func parseKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, errors.New("invalid private key")
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("unsupported private key type")
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// absolute makes dir absolute, so that the paths a CA reports work from
// any directory.
func absolute(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
