class Session(Calls):
    """One run of the recorded calls; the answers are kept in
    $APITAPE_RESPONSES when it is set (a 0700 folder, 0600 files)."""

    def __init__(self, default_base, names):
        super().__init__(os.environ.get("BASE_URL") or default_base, environment(names), requests.Session())
        self.out = os.environ.get("APITAPE_RESPONSES", "")
        if self.out:
            os.makedirs(self.out, mode=0o700, exist_ok=True)
            os.chmod(self.out, 0o700)  # an existing folder too: answers hold live tokens

    def send(self, index, label, method, origin, target, lines, body, recorded):
        self.next(method, origin, target, lines)
        try:
            r = self.http.request(method, origin + "/", data=body, allow_redirects=False, timeout=300)
            data = r.content
        except requests.RequestException as e:
            self.fail("call %d (%s) failed: no answer from the server (%s)" % (index, label, type(e).__name__))
        r.apitape_call = (index, label)
        where = self.keep(index, r, data)
        try:
            self.check(index, label, recorded, r, data)
        except Failed as e:
            self.fail(str(e), data, where)
        return r

    def take(self, r, *args):
        try:
            super().take(r, *args)
        except Failed as e:
            self.fail(str(e))

    def in_url(self, r, *args):
        try:
            super().in_url(r, *args)
        except Failed as e:
            self.fail(str(e))

    def keep(self, index, r, data):
        if not self.out:
            return ""
        path = os.path.join(self.out, "resp-%d" % index)
        head = "HTTP/1.1 %d %s\r\n" % (r.status_code, r.reason or "")
        head += "".join("%s: %s\r\n" % kv for kv in r.raw.headers.items())
        for suffix, content in ((".headers", head.encode("utf-8", "surrogateescape")), (".body", data)):
            fd = os.open(path + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
        return path + ".body"

    def fail(self, message, answer=None, where=""):
        sys.stderr.write("apitape: %s\n" % message)
        if answer is not None:
            sys.stderr.write("apitape: the answer (%d bytes%s; secrets masked):\n" % (len(answer), ", the first 2 KiB" if len(answer) > 2048 else ""))
            sys.stderr.flush()
            text = self.mask(answer)[:2048]
            sys.stderr.buffer.write(text if text.endswith(b"\n") else text + b"\n")
            if where:
                sys.stderr.write("apitape: the whole answer is in %s\n" % where)
        sys.exit(1)

    def done(self):
        print(self.summary())
