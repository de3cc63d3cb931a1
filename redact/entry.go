package redact

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The HAR layer: which analysis each field of an entry gets. Fields the
// model knows are analysed by their meaning (a header by its name, a body
// by its media type); every other string, custom "_" fields included, by
// its key.

// members visits an object's members: special handles those it knows
// and reports so; every other member is analysed by its key.
func (a *analyzer) members(doc string, n *jnode, es *editSet, special func(k *jnode, key string) bool) {
	kids := n.kids()
	for i := range kids {
		k := &kids[i]
		key := a.enterMember(doc, k, es)
		if !special(k, key) {
			if k.kind == '"' {
				a.keyLeaf(doc, k, es, key, false)
			} else {
				a.walk(doc, k, es, false)
			}
		}
		a.pop()
	}
}

// harEntry redacts one entry's JSON object.
func (a *analyzer) harEntry(doc string, root *jnode, es *editSet) {
	a.members(doc, root, es, func(k *jnode, key string) bool {
		switch {
		case key == "request" && k.kind == '{':
			a.message(doc, k, es)
		case key == "response" && k.kind == '{':
			a.message(doc, k, es)
		case key == "_webSocketMessages" && k.kind == '[':
			a.frames(doc, k, es)
		default:
			return false
		}
		return true
	})
}

// message redacts a request or a response.
func (a *analyzer) message(doc string, n *jnode, es *editSet) {
	var ctype, cenc string
	authish := false
	if h := n.member(doc, "headers"); h != nil {
		ctype = headerValue(doc, h, "content-type")
		cenc = headerValue(doc, h, "content-encoding")
	}
	if u, ok := n.memberString(doc, "url"); ok {
		authish = authishPath(strings.SplitN(u, "?", 2)[0])
	}
	a.members(doc, n, es, func(k *jnode, key string) bool {
		switch {
		case (key == "url" || key == "redirectURL") && k.kind == '"':
			a.leaf(doc, k, es, a.url)
		case key == "headers" && k.kind == '[':
			a.nameValues(doc, k, es, func(name string) func(string, *editSet) {
				a.pushQN("header", name)
				return a.headerFn(name)
			})
		case key == "queryString" && k.kind == '[':
			a.nameValues(doc, k, es, func(name string) func(string, *editSet) {
				a.pushQN("query", name)
				return a.decodedFn(a.paramFn(name, authish, false), false)
			})
		case key == "cookies" && k.kind == '[':
			a.nameValues(doc, k, es, func(name string) func(string, *editSet) {
				a.pushQN("cookie", name)
				return a.decodedFn(a.cookieFn(name), false)
			})
		case key == "postData" && k.kind == '{':
			a.postData(doc, k, ctype, es)
		case key == "content" && k.kind == '{':
			a.content(doc, k, cenc, es)
		default:
			return false
		}
		return true
	})
	resizeBody(doc, n, es)
}

// resizeBody keeps content.size and bodySize consistent with a body text
// the edits changed: content.size moves by the change in decoded length,
// and bodySize too when it was the length of that same text (a compressed
// response's bodySize counts wire bytes that are not in the HAR, and stays).
func resizeBody(doc string, msg *jnode, es *editSet) {
	body := msg.member(doc, "bodySize")
	var text, size *jnode
	b64 := false
	if c := msg.member(doc, "content"); c != nil && c.kind == '{' {
		text, size = c.member(doc, "text"), c.member(doc, "size")
		enc, _ := c.memberString(doc, "encoding")
		b64 = strings.EqualFold(enc, "base64")
	} else if p := msg.member(doc, "postData"); p != nil && p.kind == '{' {
		text = p.member(doc, "text")
	}
	if text == nil || text.kind != '"' {
		return
	}
	old, now, ok := textLengths(doc, text, es, b64)
	if !ok || old == now {
		return
	}
	if v, ok := intValue(doc, size); ok && v > 0 {
		es.add(edit{start: int(size.start), end: int(size.end), text: strconv.Itoa(v + now - old)})
	}
	if v, ok := intValue(doc, body); ok && v == old {
		es.add(edit{start: int(body.start), end: int(body.end), text: strconv.Itoa(now)})
	}
}

// textLengths returns the decoded length of a string node before and after
// the edits inside it, without decoding the whole text (bodies are large,
// edits few).
func textLengths(doc string, text *jnode, es *editSet, b64 bool) (old, now int, ok bool) {
	start, end := int(text.start), int(text.end)
	lit := doc[start+1 : end-1]
	var inner editSet
	for _, e := range es.e {
		if e.start > start && e.end < end {
			e.start -= start + 1
			e.end -= start + 1
			inner.e = append(inner.e, e)
		}
	}
	if inner.empty() {
		return 0, 0, false
	}
	if b64 {
		before := decodeJSONString(lit).s
		after := decodeJSONString(inner.apply(lit)).s
		b, err1 := base64.StdEncoding.DecodeString(strings.TrimSpace(before))
		c, err2 := base64.StdEncoding.DecodeString(strings.TrimSpace(after))
		return len(b), len(c), err1 == nil && err2 == nil
	}
	old = jsonDecodedLen(lit)
	now = old
	for _, e := range inner.e {
		now += jsonDecodedLen(e.text) - jsonDecodedLen(lit[e.start:e.end])
	}
	return old, now, true
}

// jsonDecodedLen is len(decodeJSONString(raw).s) without building it.
func jsonDecodedLen(raw string) int {
	var u [utf8.UTFMax]byte
	n := 0
	for i := 0; i < len(raw); {
		j := strings.IndexByte(raw[i:], '\\')
		if j < 0 {
			return n + len(raw) - i
		}
		n += j
		i += j
		if i+1 >= len(raw) {
			return n + 1
		}
		out, l := unescapeOne(raw[i:], u[:0])
		n += len(out)
		i += l
	}
	return n
}

// intValue returns a JSON integer node's value.
func intValue(doc string, n *jnode) (int, bool) {
	if n == nil || n.kind != 'n' {
		return 0, false
	}
	v, err := strconv.Atoi(doc[n.start:n.end])
	return v, err == nil
}

// decodedFn applies fn to a value percent-decoded (nil stays nil).
func (a *analyzer) decodedFn(fn func(string, *editSet), plus bool) func(string, *editSet) {
	if fn == nil {
		return nil
	}
	return func(s string, in *editSet) { a.encoded(s, 0, len(s), plus, in, fn) }
}

// headerValue returns the first value of a header in a HAR headers array.
func headerValue(doc string, arr *jnode, name string) string {
	kids := arr.kids()
	for i := range kids {
		h := &kids[i]
		if n, _ := h.memberString(doc, "name"); strings.EqualFold(n, name) {
			v, _ := h.memberString(doc, "value")
			return v
		}
	}
	return ""
}

// nameValues redacts an array of {name, value} objects (headers, query,
// cookies, params); fnFor gives the analysis for a name and pushes a
// qualifier that nameValues pops. A value may be an array of strings
// (Polly.JS writes repeated headers so).
func (a *analyzer) nameValues(doc string, arr *jnode, es *editSet, fnFor func(name string) func(string, *editSet)) {
	a.objects(doc, arr, es, func(nv *jnode) {
		name, _ := nv.memberString(doc, "name")
		a.members(doc, nv, es, func(k *jnode, key string) bool {
			if key != "value" || k.kind != '"' && k.kind != '[' {
				return false
			}
			fn := fnFor(name)
			if k.kind == '"' {
				a.leaf(doc, k, es, fn)
			}
			elems := k.kids()
			for x := range elems {
				a.pushIdx(x)
				a.leaf(doc, &elems[x], es, fn)
				a.pop()
			}
			a.pop()
			return true
		})
	})
}

// objects visits an array of objects (anything else in it is analysed
// as it is).
func (a *analyzer) objects(doc string, arr *jnode, es *editSet, fn func(obj *jnode)) {
	kids := arr.kids()
	for i := range kids {
		o := &kids[i]
		a.pushIdx(i)
		if o.kind == '{' {
			fn(o)
		} else {
			a.walk(doc, o, es, false)
		}
		a.pop()
	}
}

// postData redacts a request body: text by media type, params by name.
func (a *analyzer) postData(doc string, n *jnode, ctype string, es *editSet) {
	mime, ok := n.memberString(doc, "mimeType")
	if !ok || mime == "" {
		mime = ctype
	}
	form := !strings.Contains(lower(mime), "multipart")
	a.members(doc, n, es, func(k *jnode, key string) bool {
		switch {
		case key == "text" && k.kind == '"':
			a.leaf(doc, k, es, func(s string, in *editSet) { a.body(s, mime, in) })
		case key == "params" && k.kind == '[':
			a.nameValues(doc, k, es, func(name string) func(string, *editSet) {
				a.pushQN("form", name)
				fn := a.paramFn(name, false, true)
				if !form {
					return fn
				}
				return a.decodedFn(fn, true)
			})
		default:
			return false
		}
		return true
	})
}

// content redacts a response body, decoding base64 (and gzip) first.
func (a *analyzer) content(doc string, n *jnode, cenc string, es *editSet) {
	mime, _ := n.memberString(doc, "mimeType")
	enc, _ := n.memberString(doc, "encoding")
	a.members(doc, n, es, func(k *jnode, key string) bool {
		if key != "text" || k.kind != '"' {
			return false
		}
		if strings.EqualFold(enc, "base64") {
			a.leaf(doc, k, es, func(s string, in *editSet) { a.base64Body(s, mime, cenc, in) })
		} else {
			a.leaf(doc, k, es, func(s string, in *editSet) { a.body(s, mime, in) })
		}
		return true
	})
}

// frames redacts WebSocket messages: text frames as bodies, binary frames
// (opcode 2, base64) decoded first.
func (a *analyzer) frames(doc string, arr *jnode, es *editSet) {
	a.objects(doc, arr, es, func(f *jnode) {
		op := f.member(doc, "opcode")
		binary := op != nil && op.kind == 'n' && doc[op.start:op.end] == "2"
		a.members(doc, f, es, func(k *jnode, key string) bool {
			if key != "data" || k.kind != '"' {
				return false
			}
			if binary {
				a.leaf(doc, k, es, func(s string, in *editSet) { a.base64Body(s, "", "", in) })
			} else {
				a.leaf(doc, k, es, func(s string, in *editSet) { a.body(s, "", in) })
			}
			return true
		})
	})
}

// maxGunzip bounds a compressed body inflated for inspection.
const maxGunzip = 64 << 20

// base64Body decodes a base64 body (line breaks and spaces allowed),
// inflates it when it is compressed (HAR writers that keep the wire
// bytes: gzip, deflate, br, zstd, by Content-Encoding or magic bytes),
// redacts it and encodes it again the same way. A body that cannot be
// decoded or inflated is reported as not inspected, never passed as clean.
// dropBlanks removes the spaces, tabs and line ends that wrap base64; s
// itself when it has none, as most bodies (a loop over bytes: strings.Map
// decodes runes and calls a function a byte).
func dropBlanks(s string) string {
	i := 0
	for i < len(s) && !isBlank(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, i, len(s))
	copy(b, s[:i])
	for ; i < len(s); i++ {
		if !isBlank(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (a *analyzer) base64Body(s, mime, cenc string, es *editSet) {
	t := dropBlanks(s)
	raw, err := base64.StdEncoding.DecodeString(t)
	if err != nil {
		if dec, ok := decodeBase64(t); ok {
			raw, err = []byte(dec), nil
		}
	}
	if err != nil {
		a.warn("not inspected: content is not valid base64")
		a.tokens(s, es, "token")
		return
	}
	data := string(raw)
	codec := compression(raw, cenc)
	if codec != "" {
		plain, err := inflate(codec, raw)
		if err != nil {
			a.warn("not inspected: " + codec + " body is invalid or inflates past 64 MiB")
			return
		}
		data = string(plain)
		a.pushQN("base64", codec)
	} else {
		a.pushQ("base64")
	}
	inner := &editSet{}
	a.body(data, mime, inner)
	a.sweep(data, inner)
	a.pop()
	if inner.empty() {
		return
	}
	out := inner.apply(data)
	if codec != "" {
		b, err := deflate(codec, []byte(out))
		if err != nil {
			a.warn("not inspected: cannot compress the redacted " + codec + " body again")
			return
		}
		out = string(b)
	}
	es.add(edit{start: 0, end: len(s), text: base64.StdEncoding.EncodeToString([]byte(out)), recs: inner.recs()})
}
