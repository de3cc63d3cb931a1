package redact

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// minKeyBytes is the shortest key a key file may hold.
const minKeyBytes = 16

// LoadKey returns the placeholder key stored in path, creating the file
// (mode 0600, 32 random bytes as 64 hex digits) when it does not exist, so
// that the first run with --key-file sets the key that later runs share.
// The key is never printed, not even in errors.
func LoadKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) < minKeyBytes {
		return nil, fmt.Errorf("%s: not a key file: want at least %d hex digits on one line", path, 2*minKeyBytes)
	}
	return key, nil
}

func createKey(path string) ([]byte, error) {
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // created meanwhile by another run
		return LoadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	return key, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// UserKeyFile is where the key that makes placeholders stable for one user
// lives: in their configuration directory beside the proxy's CA, or
// $APITAPE_KEY_FILE. Scripts that convert writes then name the same
// variable for the same secret every time they are generated.
func UserKeyFile() (string, error) {
	if p := os.Getenv("APITAPE_KEY_FILE"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return dir + string(os.PathSeparator) + "apitape" + string(os.PathSeparator) + "redact.key", nil
}

// LoadUserKey loads (creating on first use) the user's key; callers fall
// back to a per-run key when it cannot be had (no home directory).
func LoadUserKey() ([]byte, error) {
	path, err := UserKeyFile()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(path[:strings.LastIndexByte(path, os.PathSeparator)], 0o700); err != nil {
		return nil, err
	}
	return LoadKey(path)
}
