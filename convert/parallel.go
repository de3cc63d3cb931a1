package convert

import (
	"bufio"
	"bytes"
	"runtime"
	"sync"
)

// An outputWriter writes one output's calls, given in batches, on several
// goroutines: each emits a batch into a buffer of its own, and the
// buffers go to the output in batch order, so the output is the same as
// one goroutine would write. Emitters hold no state from call to call,
// which is what lets each goroutine have its own.
type outputWriter struct {
	name string // the input's, for errors
	body *bufio.Writer
	jobs chan writeJob
	last chan struct{} // closed when the latest batch has been written
	wg   sync.WaitGroup
	// err is the first error in call order. Only the goroutine whose
	// batch's turn it is touches it (the prev/done chain orders them).
	err error
}

type writeJob struct {
	items      []item
	prev, done chan struct{}
}

// writers is how many goroutines write each output; tests set
// fixedWriters.
func writers() int {
	if fixedWriters > 0 {
		return fixedWriters
	}
	return max(1, min(runtime.GOMAXPROCS(0), 4))
}

var fixedWriters int

func newOutputWriter(name string, body *bufio.Writer, newEmitter func() emitter) *outputWriter {
	n := writers()
	w := &outputWriter{name: name, body: body, jobs: make(chan writeJob, 2*n), last: make(chan struct{})}
	close(w.last)
	for range n {
		w.wg.Add(1)
		go w.run(newEmitter())
	}
	return w
}

func (w *outputWriter) run(em emitter) {
	defer w.wg.Done()
	var buf bytes.Buffer
	bw := bufio.NewWriterSize(&buf, 64<<10)
	for j := range w.jobs {
		buf.Reset()
		bw.Reset(&buf)
		var err error
		for _, it := range j.items {
			if it.call == nil {
				em.skip(bw, it.index, it.reason)
			} else if err = em.call(bw, it.call); err != nil {
				err = entryError(w.name, it.index, err)
				break
			}
		}
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		<-j.prev
		if w.err == nil {
			if err == nil {
				_, err = w.body.Write(buf.Bytes())
			}
			w.err = err
		}
		close(j.done)
	}
}

// write queues a batch; it blocks while the writers are busy, which
// bounds the batches in flight.
func (w *outputWriter) write(items []item) {
	done := make(chan struct{})
	w.jobs <- writeJob{items, w.last, done}
	w.last = done
}

// close waits until every batch is written and returns the first error.
func (w *outputWriter) close() error {
	close(w.jobs)
	w.wg.Wait()
	return w.err
}
