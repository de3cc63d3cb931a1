import http.client
import json
import os
import re
import sys
import urllib.parse

try:
    import requests
    import requests.adapters
    import urllib3
    import urllib3.connectionpool
    import urllib3.util
except ImportError:
    sys.stderr.write("apitape: %s has no requests module (Debian: python3-requests; or pip install requests)\n" % sys.executable)
    sys.exit(1)

# urllib3 re-encodes a request target (upper-case %xx, {} and non-ASCII
# escaped) and http.client wants it ASCII: with these two lines they send
# the recorded bytes.
urllib3.connectionpool._encode_target = lambda target: target
http.client.HTTPConnection._encode_request = lambda self, request: request.encode("utf-8", "surrogateescape")


class Lines(dict):
    """Header lines as recorded: in order, repeated names kept, each name in
    its case. http.client writes items() as they are."""

    def __init__(self, lines):
        super().__init__()
        self.lines = list(lines)
        for name, value in self.lines:
            dict.__setitem__(self, name.lower(), value)

    def __contains__(self, name):
        return dict.__contains__(self, name.lower())

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower())

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __setitem__(self, name, value):
        self.lines.append((name, value))
        dict.__setitem__(self, name.lower(), value)

    def items(self):
        return list(self.lines)

    def copy(self):
        return Lines(self.lines)


class ExactAdapter(requests.adapters.HTTPAdapter):
    """Sends the call set in .next as recorded: its method, request target
    and header lines, and nothing that requests, urllib3 or http.client
    would add (no User-Agent, Accept, Accept-Encoding or Connection)."""

    next = None

    def request_url(self, request, proxies):
        url = super().request_url(request, proxies)
        method, origin, target, lines = self.next
        return target if url.startswith("/") else origin + target

    def send(self, request, **kwargs):
        method, origin, target, lines = self.next
        names = {name.lower() for name, _ in lines}
        lines = list(lines)
        if request.body is not None:
            lines.append(("Content-Length", str(len(request.body)).encode()))
        elif method.upper() in ("POST", "PUT", "PATCH"):
            lines.append(("Content-Length", b"0"))
        for name in ("User-Agent", "Accept-Encoding"):
            if name.lower() not in names:
                lines.append((name, urllib3.util.SKIP_HEADER))
        request.method = method
        request.headers = Lines(lines)
        return super().send(request, **kwargs)


class Failed(Exception):
    """A call failed; the message names it."""


class Calls:
    """What the script and the locustfile share: the variables, the exact
    transport, the checks, and masking secrets in what is printed."""

    def __init__(self, base, env, http, adapter=None):
        self.base = base.rstrip("/")
        self.env = env
        self.secrets = []
        for value in env.values():
            self.add_secret(value)
        self.http = http
        self.adapter = adapter
        if adapter is None:
            self.adapter = ExactAdapter()
            http.mount("http://", self.adapter)
            http.mount("https://", self.adapter)
        self.sent = 0
        self.differ = []

    def next(self, method, origin, target, lines):
        """Sets the call the adapter sends next; a path in origin (a
        BASE_URL with a prefix) comes before the recorded target."""
        prefix = urllib.parse.urlsplit(origin).path.rstrip("/").encode()
        self.adapter.next = (method, origin, (prefix + target).decode("utf-8", "surrogateescape"), lines)

    def var(self, name):
        return self.env[name]

    def uri(self, name):
        return urllib.parse.quote(self.env[name], safe="-_.~").encode()

    def add_secret(self, value):
        """Masks value in what is printed, and the token or the cookie
        values it holds ("Bearer TOKEN", "a=VALUE; b=VALUE")."""
        parts = [value, value.split(b" ")[-1]]
        parts += [kv.partition(b"=")[2] for kv in value.split(b";")]
        for part in parts:
            part = part.strip()
            if len(part) >= 6 and part not in self.secrets:
                self.secrets.append(part)
        self.secrets.sort(key=len, reverse=True)

    def mask(self, data):
        for secret in self.secrets:
            data = data.replace(secret, b"***")
        return data

    def check(self, index, label, recorded, r, data):
        self.sent += 1
        status = r.status_code
        if status >= 400 and status // 100 != recorded // 100:
            raise Failed("call %d (%s) failed: HTTP %d (recorded %d)" % (index, label, status, recorded))
        if recorded and status != recorded:
            self.differ.append("call %d (%s) %d, recorded %d" % (index, label, status, recorded))

    def take(self, r, name, source, in_json, secret, value):
        """Keeps the value name that the answer to r holds at source, for
        later calls; raises Failed when there is none, or one that later
        calls cannot send as recorded. It never prints the value."""
        index, label = r.apitape_call
        if value is None or value == "":
            raise Failed("call %d (%s) produced no %s for %s" % (index, label, source, name))
        problem = ""
        if any(c < " " or c == "\x7f" for c in value):
            problem = "a control character, which later calls cannot send"
        elif in_json and ('"' in value or "\\" in value):
            problem = "a quote or a backslash, which the JSON body of a later call cannot carry as recorded"
        if problem:
            raise Failed("call %d (%s): the %s for %s holds %s" % (index, label, source, name, problem))
        self.env[name] = value.encode("utf-8", "surrogateescape")
        if secret:
            self.add_secret(self.env[name])

    def in_url(self, r, name, source):
        """Raises Failed when the value name taken from source, which a
        later call sends as it is in its URL, holds a space or a #."""
        index, label = r.apitape_call
        value = self.env[name]
        if b" " in value or b"#" in value:
            raise Failed("call %d (%s): the %s for %s holds a space or a #, which the URL of a later call cannot carry as recorded" % (index, label, source, name))

    def summary(self):
        calls = "call" if self.sent == 1 else "calls"
        if not self.differ:
            return "%d %s sent, every status as recorded" % (self.sent, calls)
        return "%d %s sent, %d with another status than recorded: %s" % (self.sent, calls, len(self.differ), "; ".join(self.differ))


class Number(str):
    """A JSON number as its text, as jq -r prints it."""


def from_json(r, last_segment, *path):
    """The string or number at path (member names and array indexes,
    negative from the end) in r's JSON answer, or None; last_segment keeps
    a string's last path segment."""
    try:
        v = json.loads(r.content, parse_int=Number, parse_float=Number, parse_constant=Number)
    except ValueError:
        return None
    for step in path:
        if isinstance(v, dict) and isinstance(step, str):
            v = v.get(step)
        elif isinstance(v, list) and isinstance(step, int) and -len(v) <= step < len(v):
            v = v[step]
        else:
            return None
    if isinstance(v, Number):
        return None if last_segment else str(v)
    if isinstance(v, str):
        return last_path_segment(v) if last_segment else v
    return None


def from_header(r, last_segment, name):
    """The first value of a header of r's answer."""
    values = r.raw.headers.getlist(name) if r.raw is not None else []
    v = values[0] if values else r.headers.get(name)
    if v is not None and last_segment:
        return last_path_segment(v)
    return v


def from_cookie(r, name):
    """The value of the cookie the answer to r sets last under name."""
    value = None
    for sc in r.raw.headers.getlist("Set-Cookie") if r.raw is not None else []:
        k, eq, v = sc.split(";", 1)[0].partition("=")
        if eq and k.strip() == name:
            value = v.strip()
    return value


def last_path_segment(u):
    """The last segment of a URL's path: a Location's id."""
    u = re.split("[?#]", u, 1)[0].rstrip("/")
    return u[u.rfind("/") + 1:]


def environment(names):
    """The variables the calls need, as bytes; exits naming the missing ones."""
    env, missing = {}, []
    for name in names:
        env[name] = os.environ.get(name, "").encode("utf-8", "surrogateescape")
        if not env[name]:
            missing.append(name)
    if missing:
        sys.stderr.write("apitape: set these environment variables first: %s\n" % " ".join(missing))
        sys.exit(1)
    return env
