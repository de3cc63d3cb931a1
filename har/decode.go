package har

// One parse function per HAR object. Unknown members go to Extra in the
// order read.

func (p *parser) harObject(h *HAR) error {
	return p.object(func(k string) error {
		if k == "log" {
			if p.isNull() {
				return nil
			}
			h.Log = new(Log)
			return p.log(h.Log)
		}
		return p.extra(&h.Extra, k)
	})
}

func (p *parser) log(l *Log) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "version":
			l.Version, err = p.str()
		case "creator":
			err = p.creator(&l.Creator)
		case "browser":
			if p.isNull() {
				return nil
			}
			l.Browser = new(Creator)
			err = p.creator(l.Browser)
		case "pages":
			l.Pages = l.Pages[:0]
			err = p.array(func(int) error {
				pg := new(Page)
				l.Pages = append(l.Pages, pg)
				return p.page(pg)
			})
		case "entries":
			l.Entries = l.Entries[:0]
			err = p.array(func(int) error {
				e := new(Entry)
				l.Entries = append(l.Entries, e)
				return p.entry(e)
			})
		case "comment":
			l.Comment, err = p.str()
		default:
			err = p.extra(&l.Extra, k)
		}
		return err
	})
}

func (p *parser) creator(c *Creator) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "name":
			c.Name, err = p.str()
		case "version":
			c.Version, err = p.str()
		case "comment":
			c.Comment, err = p.str()
		default:
			err = p.extra(&c.Extra, k)
		}
		return err
	})
}

func (p *parser) page(pg *Page) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "startedDateTime":
			pg.StartedDateTime, err = p.str()
		case "id":
			pg.ID, err = p.str()
		case "title":
			pg.Title, err = p.str()
		case "pageTimings":
			pg.PageTimings, err = p.optionalRaw()
		case "comment":
			pg.Comment, err = p.str()
		default:
			err = p.extra(&pg.Extra, k)
		}
		return err
	})
}

func (p *parser) entry(e *Entry) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "pageref":
			e.Pageref, err = p.str()
		case "startedDateTime":
			e.StartedDateTime, err = p.str()
		case "time":
			e.Time, err = p.float()
		case "request":
			err = p.request(&e.Request)
		case "response":
			err = p.response(&e.Response)
		case "cache":
			e.Cache, err = p.optionalRaw()
		case "timings":
			err = p.timings(&e.Timings)
		case "serverIPAddress":
			e.ServerIPAddress, err = p.str()
		case "connection":
			e.Connection, err = p.str()
		case "comment":
			e.Comment, err = p.str()
		default:
			err = p.extra(&e.Extra, k)
		}
		return err
	})
}

func (p *parser) request(r *Request) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "method":
			r.Method, err = p.str()
		case "url":
			r.URL, err = p.str()
		case "httpVersion":
			r.HTTPVersion, err = p.str()
		case "cookies":
			r.Cookies, err = p.cookies()
		case "headers":
			r.Headers, err = p.nameValues()
		case "queryString":
			r.QueryString, err = p.nameValues()
		case "postData":
			if p.isNull() {
				return nil
			}
			r.PostData = new(PostData)
			err = p.postData(r.PostData)
		case "headersSize":
			r.HeadersSize, err = p.int()
		case "bodySize":
			r.BodySize, err = p.int()
		case "comment":
			r.Comment, err = p.str()
		default:
			err = p.extra(&r.Extra, k)
		}
		return err
	})
}

func (p *parser) response(r *Response) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "status":
			var n int64
			n, err = p.int()
			r.Status = int(n)
		case "statusText":
			r.StatusText, err = p.str()
		case "httpVersion":
			r.HTTPVersion, err = p.str()
		case "cookies":
			r.Cookies, err = p.cookies()
		case "headers":
			r.Headers, err = p.nameValues()
		case "content":
			err = p.content(&r.Content)
		case "redirectURL":
			r.RedirectURL, err = p.str()
		case "headersSize":
			r.HeadersSize, err = p.int()
		case "bodySize":
			r.BodySize, err = p.int()
		case "comment":
			r.Comment, err = p.str()
		default:
			err = p.extra(&r.Extra, k)
		}
		return err
	})
}

func (p *parser) cookies() ([]*Cookie, error) {
	return slabList(p, &p.cks, p.cookie)
}

func (p *parser) cookie(c *Cookie) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "name":
			c.Name, err = p.str()
		case "value":
			c.Value, err = p.str()
		case "path":
			c.Path, err = p.str()
		case "domain":
			c.Domain, err = p.str()
		case "expires":
			// Chrome DevTools writes null for every session cookie.
			if p.isNull() {
				c.Expires = ""
				return nil
			}
			if p.peek() != '"' {
				// Some exporters write a number or a boolean here; keep it.
				c.Extra.Delete("expires")
				return p.extra(&c.Extra, k)
			}
			c.Expires, err = p.str()
		case "httpOnly":
			c.HTTPOnly, err = p.boolPtr()
		case "secure":
			c.Secure, err = p.boolPtr()
		case "comment":
			c.Comment, err = p.str()
		default:
			err = p.extra(&c.Extra, k)
		}
		return err
	})
}

func (p *parser) nameValues() ([]*NameValue, error) {
	return slabList(p, &p.nvs, p.nameValue)
}

// slabList parses an array of objects into scratch, then allocates the
// list in two pieces, the objects and the pointers: a header list is a
// dozen small objects, and one allocation each was the reader's biggest
// cost. The list is never nil.
func slabList[T any](p *parser, scratch *[]T, parse func(*T) error) ([]*T, error) {
	s := (*scratch)[:0]
	err := p.array(func(int) error {
		var zero T
		s = append(s, zero)
		return parse(&s[len(s)-1])
	})
	*scratch = s[:0]
	list := make([]*T, len(s))
	if len(s) > 0 {
		slab := make([]T, len(s))
		copy(slab, s)
		clear(s)
		for i := range slab {
			list[i] = &slab[i]
		}
	}
	return list, err
}

func (p *parser) nameValue(nv *NameValue) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "name":
			nv.Name, err = p.str()
		case "value":
			if p.peek() == '[' {
				// Polly.JS writes repeated headers as an array of values.
				nv.Values = []string{}
				err = p.array(func(int) error {
					s, err := p.str()
					nv.Values = append(nv.Values, s)
					return err
				})
				nv.Value = joinValues(nv.Values)
				return err
			}
			nv.Value, err = p.str()
		case "comment":
			nv.Comment, err = p.str()
		default:
			err = p.extra(&nv.Extra, k)
		}
		return err
	})
}

func (p *parser) postData(pd *PostData) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "mimeType":
			pd.MimeType, err = p.str()
		case "params":
			pd.Params = []*Param{}
			err = p.array(func(int) error {
				pr := new(Param)
				pd.Params = append(pd.Params, pr)
				return p.param(pr)
			})
		case "text":
			pd.Text, err = p.strPtr()
		case "comment":
			pd.Comment, err = p.str()
		default:
			err = p.extra(&pd.Extra, k)
		}
		return err
	})
}

func (p *parser) param(pr *Param) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "name":
			pr.Name, err = p.str()
		case "value":
			pr.Value, err = p.strPtr()
		case "fileName":
			pr.FileName, err = p.str()
		case "contentType":
			pr.ContentType, err = p.str()
		case "comment":
			pr.Comment, err = p.str()
		default:
			err = p.extra(&pr.Extra, k)
		}
		return err
	})
}

func (p *parser) content(c *Content) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "size":
			c.Size, err = p.int()
		case "compression":
			if p.isNull() {
				return nil
			}
			var n int64
			n, err = p.int()
			c.Compression = &n
		case "mimeType":
			c.MimeType, err = p.str()
		case "text":
			c.Text, err = p.strPtr()
		case "encoding":
			c.Encoding, err = p.str()
		case "comment":
			c.Comment, err = p.str()
		default:
			err = p.extra(&c.Extra, k)
		}
		return err
	})
}

func (p *parser) timings(t *Timings) (err error) {
	return p.object(func(k string) error {
		switch k {
		case "blocked":
			t.Blocked, err = p.floatPtr()
		case "dns":
			t.DNS, err = p.floatPtr()
		case "connect":
			t.Connect, err = p.floatPtr()
		case "send":
			t.Send, err = p.float()
		case "wait":
			t.Wait, err = p.float()
		case "receive":
			t.Receive, err = p.float()
		case "ssl":
			t.SSL, err = p.floatPtr()
		case "comment":
			t.Comment, err = p.str()
		default:
			err = p.extra(&t.Extra, k)
		}
		return err
	})
}
