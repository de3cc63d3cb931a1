package browser

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/atomicfile"
)

// sortBySendTime rewrites a finished recording with its entries in the
// order the requests were sent. Entries are appended as they complete, so
// that a killed recording keeps them, but one whose body or extra-info
// arrived late lands after calls the page made later: a node template
// created before the node pool that references it. convert, replay and the
// correlation analysis read a HAR in order, so a clean stop puts it right.
func sortBySendTime(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	r := har.NewReader(bytes.NewReader(data), path)
	type item struct {
		start time.Time
		raw   []byte
	}
	var items []item
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		start, _ := time.Parse(time.RFC3339Nano, e.StartedDateTime)
		items = append(items, item{start, bytes.Clone(r.Raw())})
	}
	if sort.SliceIsSorted(items, func(i, j int) bool { return items[i].start.Before(items[j].start) }) {
		return nil
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].start.Before(items[j].start) })
	log, err := r.Log()
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(path, 0o600)
	if err != nil {
		return err
	}
	defer f.Abort()
	w, err := har.NewWriter(f, log)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := w.WriteRaw(it.raw); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
