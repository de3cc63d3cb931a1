package demo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// idAlphabet is wrangler's randomtoken alphabet: lowercase, no vowels (so no
// words) and no 0/1/3. Using it makes generated ids and tokens look exactly
// like Rancher's, which is what the redactor's token patterns are tested on.
const idAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// randomString returns n characters of idAlphabet from crypto/rand.
func randomString(n int) string {
	const limit = 256 - 256%len(idAlphabet) // reject bytes that would bias the modulo
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	for len(out) < n {
		rand.Read(buf) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, idAlphabet[int(b)%len(idAlphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

// newName returns prefix plus five random characters: "c-q7x2m", "user-b8n4k".
func newName(prefix string) string { return prefix + randomString(5) }

// tokenSecretLen is the length of the part of a token after the colon.
const tokenSecretLen = 54

func newTokenSecret() string { return randomString(tokenSecretLen) }

// newUUID returns a random (version 4) UUID, the shape of a Kubernetes uid.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newCSRF returns the value of a CSRF cookie: 16 random bytes as 32 hex
// characters, like norman since mid-2022.
func newCSRF() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
