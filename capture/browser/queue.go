package browser

import "sync"

// queue is an unbounded FIFO of work for the recorder's loop. push never
// blocks, so it is safe on chromedp's reader goroutine (which must never
// wait) and from timers.
type queue struct {
	mu     sync.Mutex
	items  []func()
	signal chan struct{}
}

func newQueue() *queue { return &queue{signal: make(chan struct{}, 1)} }

func (q *queue) push(f func()) {
	q.mu.Lock()
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns everything queued so far, oldest first.
func (q *queue) take() []func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
