package demo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// generateKubeconfig is the cluster action generateKubeconfig. Like Rancher
// before per-call kubeconfig tokens, the token is named after the user
// ("kubeconfig-user-b8n4k") and reused while it is valid, so two calls give
// the same token. The client key pair is new each time: it is there so that
// redaction has a private key to find, not for any real TLS.
func (s *Server) generateKubeconfig(ar *apiRequest, clusterID string) {
	s.mu.Lock()
	o := s.st.Objects["cluster"][clusterID]
	if o == nil {
		s.mu.Unlock()
		s.writeError(ar, notFound(schemas["cluster"], clusterID))
		return
	}
	name, _ := o.Fields["name"].(string)
	tokName := "kubeconfig-" + ar.user.ID
	t := s.st.Tokens[tokName]
	if t == nil || t.expired(time.Now()) {
		t = &token{Name: tokName, Secret: newTokenSecret(), UserID: ar.user.ID, Kind: kindKubeconfig,
			Description: "Kubeconfig token", Created: time.Now().UTC(), UUID: newUUID()}
		s.st.Tokens[tokName] = t
		s.saveLocked()
	}
	value := t.value()
	s.mu.Unlock()

	certPEM, keyPEM, err := clientKeyPair(tokName)
	if err != nil {
		s.writeError(ar, newError(http.StatusInternalServerError, "ServerError", "cannot generate a client key"))
		return
	}
	q := strconv.Quote
	config := "apiVersion: v1\nkind: Config\nclusters:\n" +
		"- name: " + q(name) + "\n  cluster:\n    server: " + q(ar.base+"/k8s/clusters/"+clusterID) + "\n" +
		"users:\n- name: " + q(name) + "\n  user:\n    token: " + q(value) + "\n" +
		"    client-certificate-data: " + q(base64.StdEncoding.EncodeToString(certPEM)) + "\n" +
		"    client-key-data: " + q(base64.StdEncoding.EncodeToString(keyPEM)) + "\n" +
		"contexts:\n- name: " + q(name) + "\n  context:\n    user: " + q(name) + "\n    cluster: " + q(name) + "\n" +
		"current-context: " + q(name) + "\n"
	s.write(ar, http.StatusOK, map[string]any{
		"type": "generateKubeConfigOutput", "baseType": "generateKubeConfigOutput", "config": config,
	})
}

// clientKeyPair returns a fresh self-signed client certificate and its
// P-256 private key, both PEM-encoded.
func clientKeyPair(cn string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"apitape demo"}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// exportYaml is the cluster action exportYaml: the cluster's writable
// fields as YAML, without secrets, ids or status.
func (s *Server) exportYaml(ar *apiRequest, clusterID string) {
	d := schemas["cluster"]
	s.mu.Lock()
	o := s.st.Objects["cluster"][clusterID]
	var fields map[string]any
	if o != nil {
		fields = deepCopyMap(o.Fields)
	}
	s.mu.Unlock()
	if o == nil {
		s.writeError(ar, notFound(d, clusterID))
		return
	}
	prepareOutput(d, fields)
	stripTypes(fields)
	for k, v := range fields {
		if v == nil {
			delete(fields, k)
		}
	}
	out, err := yaml.Marshal(fields)
	if err != nil {
		s.writeError(ar, newError(http.StatusInternalServerError, "ServerError", fmt.Sprintf("export: %v", err)))
		return
	}
	s.write(ar, http.StatusOK, map[string]any{"type": "exportOutput", "baseType": "exportOutput", "yamlOutput": string(out)})
}

// stripTypes removes the nested "type" keys prepareOutput adds; an export
// is meant to be re-imported, not to describe the API.
func stripTypes(m map[string]any) {
	for _, v := range m {
		if sub, ok := v.(map[string]any); ok {
			delete(sub, "type")
			stripTypes(sub)
		}
	}
}
