package convert

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
)

// reservedNames are names the outputs use themselves; correlated values
// are named around them, and a --var may not take one. The lower-case ones
// are the bash and HTTPie scripts' own variables, their functions' locals
// too (TestVarNotScriptVariable reads them from the runtime sources).
var reservedNames = []string{
	EnvCookie, EnvAuthorization, EnvCSRF, EnvRancherToken, EnvBaseURL,
	"out", "required", "missing", "v", "secrets", "secret_vars", "finished", "sent", "differ", "calls",
	"text", "value", "val", "n", "label", "want", "code", "body", "raw", "opts", "line", "size",
}

// taken is a correlated value a call's answer produces for later calls.
type taken struct {
	v *correlate.Var
	// inJSON: some later call sends it inside a JSON string, where a
	// quote or a backslash would need escaping that the recording did
	// not have; such values are refused at run time. inURL: some later
	// call sends it as it is in its URL, which cannot carry a space or a
	// # (curl refuses the URL, others cut it at the #).
	inJSON, inURL bool
}

// correlation is the result of the first pass: the model, the values the
// output really sends (a value used only in a header that the output drops
// or replaces with an environment variable is not taken from any answer),
// and the spooled entries for the second pass.
type correlation struct {
	model   *correlate.Model
	live    map[*correlate.Var]bool
	inJSON  map[*correlate.Var]bool
	inURL   map[*correlate.Var]bool
	chained []taken
	// The calls the first pass built are held in memory up to heldMemory
	// bytes and written as they are: the parts correlate gives while the
	// analysis runs are final, only the names come later. Past that
	// bound all the entries go to sp, encoded, and are built again.
	// Encoding, decoding and building every entry twice cost half of a
	// conversion that fits in memory anyway.
	held     []item
	heldSize int
	spilled  bool
	// Spilled, the entries (every one cor.order lists, in its order) are
	// in sp as a HAR file written by hw, and the entries that are not
	// converted, with why, in skipped.
	sp      *spool
	hw      *har.Writer
	skipped []item

	// used lists, by entry, the variables each call's fields hold, and
	// order the entries in recorded order with whether each is an extra
	// (a call the selection left out, sent only if it produces a value
	// the others need: needed).
	used   map[int][]*correlate.Var
	order  []orderItem
	needed map[int]bool
	extras map[int]string // each extra's "METHOD path", for inspect
}

type orderItem struct {
	index int
	extra bool
}

// heldMemory bounds the entries the first pass keeps in memory; a
// variable so that tests can make every input spill.
var heldMemory = 48 << 20

// analyze is the first pass: it reads every selected entry, feeds the
// analysis, builds each call (so that input errors stop the conversion
// before anything is written, and to learn which values the output sends)
// and spools the entries for the second pass.
func analyze(src source, b *builder, name string, opts Options) (*correlation, error) {
	x, err := correlate.NewAnalyzer(correlate.Options{Disabled: opts.NoCorrelate, Extra: opts.Vars, Reserved: append(opts.Auth.envNames(), reservedNames...), NoVar: opts.NoVar})
	if err != nil {
		return nil, &VarError{err}
	}
	cor := &correlation{live: map[*correlate.Var]bool{}, inJSON: map[*correlate.Var]bool{}, inURL: map[*correlate.Var]bool{},
		used: map[int][]*correlate.Var{}, needed: map[int]bool{}, extras: map[int]string{}}
	// spill writes an item past the bound: an entry, as what keep left
	// of it, to a HAR file that the second pass reads back; a reason
	// stays in memory, it is a short line.
	spill := func(it item) error {
		if it.entry == nil {
			cor.skipped = append(cor.skipped, item{index: it.index, reason: it.reason})
			return nil
		}
		return cor.hw.Write(it.entry)
	}
	hold := func(it item, size int) error {
		if !cor.spilled && cor.heldSize+size <= heldMemory {
			cor.held = append(cor.held, it)
			cor.heldSize += size
			return nil
		}
		if !cor.spilled {
			cor.spilled = true
			cor.sp = &spool{}
			var err error
			if cor.hw, err = har.NewWriter(cor.sp, nil); err != nil {
				return err
			}
			for i, h := range cor.held {
				if err := spill(h); err != nil {
					return err
				}
				cor.held[i] = item{} // freed as it goes
			}
			cor.held = nil
		}
		return spill(it)
	}
	fail := func(err error) (*correlation, error) {
		cor.close()
		return nil, err
	}
	for {
		it, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		if it.entry == nil {
			if it.extra {
				continue
			}
			if err := hold(it, 64+len(it.reason)); err != nil {
				return fail(err)
			}
			continue
		}
		if err := x.Add(it.index, it.entry); err != nil {
			return fail(&VarError{err})
		}
		var rw rewriter // nil: nothing to rewrite, each field is literal
		if x.HasUses(it.index) {
			rw = x.Rewrite
		}
		origin := b.origin
		c, err := b.build(it.index, it.entry, rw)
		if it.extra {
			b.origin = origin // the selected calls decide the session's origin
		}
		if err != nil {
			if it.extra {
				continue // an extra that cannot be sent cannot be needed
			}
			return fail(entryError(name, it.index, err))
		}
		cor.mark(c)
		cor.order = append(cor.order, orderItem{it.index, it.extra})
		if it.extra {
			_, path, _, _ := correlate.SplitURL(it.entry.Request.URL)
			cor.extras[it.index] = it.entry.Request.Method + " " + path
		}
		// Held: the call, and for a spill what the second pass needs of
		// the entry, never the answer's headers or body.
		kept := keep(it.entry)
		if err := hold(item{index: it.index, entry: kept, call: c, extra: it.extra}, heldCost(kept, it.size)); err != nil {
			return fail(err)
		}
	}
	if cor.hw != nil {
		if err := cor.hw.Close(); err != nil {
			return fail(err)
		}
	}
	m, err := x.Model()
	if err != nil {
		return fail(&VarError{err})
	}
	cor.model = m
	cor.settle()
	for _, v := range m.Vars {
		if cor.live[v] {
			cor.chained = append(cor.chained, taken{v, cor.inJSON[v], cor.inURL[v]})
		}
	}
	return cor, nil
}

// settle decides, once the model is known, which values the output takes
// from answers: those the selected calls send, and those the extras they
// need send, from the last call back to the first (a producer comes
// before its users). A variable --no-var left out of the model is sent
// as recorded: the calls built with it are built again.
func (cor *correlation) settle() {
	inModel := make(map[*correlate.Var]bool, len(cor.model.Vars))
	for _, v := range cor.model.Vars {
		inModel[v] = true
	}
	clear(cor.live)
	rebuild := false
	for i := len(cor.order) - 1; i >= 0; i-- {
		o := cor.order[i]
		if o.extra && !cor.needed[o.index] {
			continue
		}
		for _, v := range cor.used[o.index] {
			if !inModel[v] {
				rebuild = true
				continue
			}
			cor.live[v] = true
			if _, extra := cor.extras[v.Producer]; extra {
				cor.needed[v.Producer] = true
			}
		}
	}
	if rebuild {
		for i := range cor.held {
			cor.held[i].call = nil // built again with only the live values
		}
	}
}

// mark notes the correlated values a call sends.
func (cor *correlation) mark(c *call) {
	markValue := func(v value) {
		for _, p := range v {
			if p.Var != nil {
				if !slices.Contains(cor.used[c.index], p.Var) {
					cor.used[c.index] = append(cor.used[c.index], p.Var)
				}
				if p.InJSON {
					cor.inJSON[p.Var] = true
				}
			}
		}
	}
	c.values(markValue)
	for _, p := range c.target {
		if p.Var != nil && p.Enc == correlate.EncodedRaw {
			cor.inURL[p.Var] = true
		}
	}
}

// rewrite is the model's Rewrite without the values the output does not
// take from any answer (by construction they occur only in fields it does
// not send; this keeps it so).
func (cor *correlation) rewrite(entry int, where, text string) []correlate.Part {
	parts := cor.model.Rewrite(entry, where, text)
	for i := range parts {
		if parts[i].Var != nil && !cor.live[parts[i].Var] {
			parts[i].Var = nil
		}
	}
	return parts
}

// produced are the values the answer to entry index gives later calls.
func (cor *correlation) produced(index int) []taken {
	var out []taken
	for _, v := range cor.model.Produced(index) {
		if cor.live[v] {
			out = append(out, taken{v, cor.inJSON[v], cor.inURL[v]})
		}
	}
	return out
}

// write prints the model for people, then the values convert does not
// take from any answer although the analysis found uses. Values only the
// calls the selection left out (and the output does not need) use are
// not shown: the analysis saw those calls only to know what the client
// sent and which answers set cookies.
func (cor *correlation) write(w io.Writer) error {
	shown := *cor.model
	shown.Vars = nil
	for _, v := range cor.model.Vars {
		if v.Manual || slices.ContainsFunc(v.Uses, func(u correlate.Use) bool {
			_, extra := cor.extras[u.Entry]
			return !extra || cor.needed[u.Entry]
		}) {
			shown.Vars = append(shown.Vars, v)
		}
	}
	if err := shown.Write(w); err != nil {
		return err
	}
	var added []string
	for _, o := range cor.order {
		if o.extra && cor.needed[o.index] {
			added = append(added, fmt.Sprintf("#%d %s", o.index, oneLineName(cor.extras[o.index])))
		}
	}
	if len(added) > 0 {
		if _, err := fmt.Fprintf(w, "\nsent too, although not API calls: their answers give the selected calls a value:\n  %s\n", strings.Join(added, "\n  ")); err != nil {
			return err
		}
	}
	var idle []string
	for _, v := range shown.Vars {
		if len(v.Uses) > 0 && !cor.live[v] {
			idle = append(idle, v.Name)
		}
	}
	if len(idle) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nnot taken from the answers by convert (used only in headers that the output drops\nor sends from an environment variable): %s\n", strings.Join(idle, ", "))
	return err
}

func (cor *correlation) close() {
	if cor.sp != nil {
		cor.sp.close()
	}
}

// source gives the entries back for the second pass.
func (cor *correlation) source(name string) source {
	if !cor.spilled {
		return &heldSource{items: cor.held}
	}
	r, err := cor.sp.reader()
	return &spoolSource{r: har.NewReader(r, name), order: cor.order, skipped: cor.skipped, err: err}
}

// spoolSource reads the spilled entries back in input order: those of
// order from the spool, the unconverted ones from skipped, merged by
// index.
type spoolSource struct {
	r       *har.Reader
	order   []orderItem
	skipped []item
	err     error
}

func (s *spoolSource) next() (item, error) {
	if s.err != nil {
		return item{}, s.err
	}
	if len(s.skipped) > 0 && (len(s.order) == 0 || s.skipped[0].index < s.order[0].index) {
		it := s.skipped[0]
		s.skipped = s.skipped[1:]
		return it, nil
	}
	if len(s.order) == 0 {
		return item{}, io.EOF
	}
	o := s.order[0]
	s.order = s.order[1:]
	e, err := s.r.Next()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		s.err = fmt.Errorf("reading the spooled entries back: %w", err)
		return item{}, s.err
	}
	return item{index: o.index, entry: e, extra: o.extra}, nil
}

type heldSource struct{ items []item }

func (s *heldSource) next() (item, error) {
	if len(s.items) == 0 {
		return item{}, io.EOF
	}
	it := s.items[0]
	s.items[0] = item{} // the second pass frees what it has written
	s.items = s.items[1:]
	return it, nil
}

// keep drops, in place, what the second pass does not need of an entry
// convert owns (see builder.build): the answer's headers and body above
// all, which are most of a session's bytes.
func keep(e *har.Entry) *har.Entry {
	req := e.Request
	*e = har.Entry{StartedDateTime: e.StartedDateTime, Time: e.Time, Response: har.Response{Status: e.Response.Status},
		Request: har.Request{Method: req.Method, URL: req.URL, Headers: req.Headers, Cookies: req.Cookies, PostData: req.PostData}}
	return e
}

// heldCost is what holding a built call counts against heldMemory,
// measured on browser sessions: its structures (about 1.3 KiB, and 128
// bytes a header or cookie), the entry's short strings, which the decoder
// may keep in chunks shared by the whole entry (about its size in the
// input, up to a bound), and a long request body.
func heldCost(e *har.Entry, rawSize int) int {
	n := 1280 + 128*(len(e.Request.Headers)+len(e.Request.Cookies)) + min(rawSize, 8<<10)
	if pd := e.Request.PostData; pd != nil && pd.Text != nil && len(*pd.Text) > 1<<10 {
		n += len(*pd.Text)
	}
	return n
}
