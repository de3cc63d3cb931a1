const isNode = typeof process !== "undefined" && !!(process.versions && process.versions.node);
const utf8 = new TextEncoder();

// session reads BASE_URL (default: the recorded origin) and the variables
// the calls need, and stops at once when some are missing.
async function session(defaultBase, names) {
  const env = isNode ? process.env : globalThis.APITAPE_ENV || {};
  const s = {
    base: (env.BASE_URL || defaultBase).replace(/\/+$/, ""),
    env: {},
    secrets: [],
    sent: 0,
    differ: [],
    out: isNode ? env.APITAPE_RESPONSES || "" : "",
    fs: null,
  };
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) {
    fail("set these environment variables first: " + missing.join(" "));
  }
  for (const n of names) {
    s.env[n] = env[n];
    addSecret(s, env[n]);
  }
  if (s.out) {
    s.fs = await import("node:fs");
    s.fs.mkdirSync(s.out, { recursive: true, mode: 0o700 });
    s.fs.chmodSync(s.out, 0o700); // an existing folder too: answers hold live tokens
  }
  if (typeof fetch !== "function") {
    fail("this module needs a global fetch: Node 18 or later, or a browser");
  }
  if (isNode) {
    // Loads undici, Node's fetch, whose dispatcher sends the calls.
    await fetch("data:,");
  }
  s.v = (name) => s.env[name];
  s.line = (name) => latin1(utf8.encode(s.env[name]));
  s.uri = (name) => encodeURIComponent(s.env[name]).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  s.bin = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  s.body = (...pieces) => {
    const parts = pieces.map((p) => (typeof p === "string" ? utf8.encode(p) : p));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  s.send = (...args) => send(s, ...args);
  s.take = (...args) => take(s, ...args);
  s.inURL = (...args) => inURL(s, ...args);
  s.done = () => console.log(s.differ.length === 0 ? s.sent + (s.sent === 1 ? " call" : " calls") + " sent, every status as recorded" : s.sent + (s.sent === 1 ? " call" : " calls") + " sent, " + s.differ.length + " with another status than recorded: " + s.differ.join("; "));
  return s;
}

// latin1 is a string with one character per byte, what undici writes as
// it is in a request line and header lines.
function latin1(bytes) {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

function fail(message) {
  if (isNode) {
    process.stderr.write("apitape: " + message + "\n");
    process.exit(1);
  }
  throw new Error("apitape: " + message);
}

// addSecret masks a value in what is printed, and the token or the cookie
// values it holds ("Bearer TOKEN", "a=VALUE; b=VALUE").
function addSecret(s, value) {
  const parts = [value, value.split(" ").pop(), ...value.split(";").map((kv) => kv.split("=").slice(1).join("="))];
  for (let p of parts) {
    p = p.trim();
    if (p.length >= 6 && !s.secrets.includes(p)) s.secrets.push(p);
  }
  s.secrets.sort((a, b) => b.length - a.length);
}

// send sends one call as recorded and returns its answer ({status,
// headers, data}); it stops the run, naming the call, when the call fails.
async function send(s, index, label, method, origin, target, lines, body, recorded) {
  const init = { redirect: "manual" };
  let url = origin + target;
  if (isNode) {
    url = origin + "/";
    // A path in origin (a BASE_URL with a prefix) comes first.
    const path = new URL(origin).pathname.replace(/\/+$/, "") + target;
    init.method = body ? "POST" : "GET";
    init.dispatcher = {
      dispatch(opts, handler) {
        const base = globalThis[Symbol.for("undici.globalDispatcher.1")];
        return base.dispatch({ ...opts, method, path, headers: lines.flat(), body }, handler);
      },
    };
  } else {
    // A browser: its rules for the URL and the headers apply.
    url = origin + new TextDecoder().decode(Uint8Array.from(target, (c) => c.charCodeAt(0)));
    init.method = method;
    init.headers = lines;
    init.credentials = "include";
    if (body) init.body = body;
  }
  let res, data;
  try {
    res = await fetch(url, init);
    data = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    fail("call " + index + " (" + label + ") failed: no answer from the server (" + ((e.cause && e.cause.code) || e.name) + ")");
  }
  const r = { index, label, status: res.status, headers: res.headers, data };
  const where = keep(s, r);
  s.sent++;
  if (r.status >= 400 && Math.floor(r.status / 100) !== Math.floor(recorded / 100)) {
    let message = "call " + index + " (" + label + ") failed: HTTP " + r.status + " (recorded " + recorded + ")\n";
    let text = new TextDecoder().decode(data.subarray(0, 4096));
    for (const secret of s.secrets) text = text.split(secret).join("***");
    text = latin1(utf8.encode(text)).slice(0, 2048);
    text = new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0)));
    message += "apitape: the answer (" + data.length + " bytes" + (data.length > 2048 ? ", the first 2 KiB" : "") + "; secrets masked):\n" + text.replace(/\n$/, "");
    if (where) message += "\napitape: the whole answer is in " + where;
    fail(message);
  }
  if (recorded && r.status !== recorded) s.differ.push("call " + index + " (" + label + ") " + r.status + ", recorded " + recorded);
  return r;
}

// keep writes the answer to $APITAPE_RESPONSES (0600 files) when it is set.
function keep(s, r) {
  if (!s.fs) return "";
  const path = s.out + "/resp-" + r.index;
  let head = "HTTP/1.1 " + r.status + "\r\n";
  for (const [k, v] of r.headers) {
    if (k !== "set-cookie") head += k + ": " + v + "\r\n";
  }
  for (const c of r.headers.getSetCookie ? r.headers.getSetCookie() : []) head += "set-cookie: " + c + "\r\n";
  s.fs.writeFileSync(path + ".headers", head, { mode: 0o600 });
  s.fs.writeFileSync(path + ".body", r.data, { mode: 0o600 });
  return path + ".body";
}

// take keeps the value name that the answer r holds at source, for later
// calls. It stops the run naming the call when there is none, or when
// later calls cannot send it as recorded: a control character, or
// (inJSON: it goes inside a JSON string) a quote or a backslash. It never
// prints the value.
function take(s, r, name, source, inJSON, secret, value) {
  const at = "call " + r.index + " (" + r.label + ")";
  if (value === undefined || value === null || value === "") {
    fail(at + " produced no " + source + " for " + name);
  }
  if (/[\x00-\x1f\x7f]/.test(value)) {
    fail(at + ": the " + source + " for " + name + " holds a control character, which later calls cannot send");
  }
  if (inJSON && /["\\]/.test(value)) {
    fail(at + ": the " + source + " for " + name + " holds a quote or a backslash, which the JSON body of a later call cannot carry as recorded");
  }
  s.env[name] = value;
  if (secret) addSecret(s, value);
}

// inURL stops the run naming the call r when the value name it took from
// source, which a later call sends as it is in its URL, holds a space or
// a #.
function inURL(s, r, name, source) {
  if (/[ #]/.test(s.env[name])) {
    fail("call " + r.index + " (" + r.label + "): the " + source + " for " + name + " holds a space or a #, which the URL of a later call cannot carry as recorded");
  }
}

// fromJSON returns the string or number at path (member names and array
// indexes, negative from the end) in r's JSON answer, or undefined;
// lastSegment keeps a string's last path segment.
function fromJSON(r, lastSegment, ...path) {
  let v;
  try {
    v = JSON.parse(new TextDecoder().decode(r.data));
  } catch {
    return undefined;
  }
  for (const step of path) {
    if (typeof step === "string" && v !== null && typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v, step)) {
      v = v[step];
    } else if (typeof step === "number" && Array.isArray(v) && step >= -v.length && step < v.length) {
      v = v[step < 0 ? step + v.length : step];
    } else {
      return undefined;
    }
  }
  if (typeof v === "number") return lastSegment ? undefined : String(v);
  if (typeof v === "string") return lastSegment ? lastPathSegment(v) : v;
  return undefined;
}

// fromHeader returns a header of r's answer.
function fromHeader(r, lastSegment, name) {
  const v = r.headers.get(name);
  return v !== null && lastSegment ? lastPathSegment(v) : v;
}

// fromCookie returns the value of the cookie the answer to r sets last
// under name.
function fromCookie(r, name) {
  let value;
  for (const sc of r.headers.getSetCookie ? r.headers.getSetCookie() : []) {
    const pair = sc.split(";")[0];
    const eq = pair.indexOf("=");
    if (eq >= 0 && pair.slice(0, eq).trim() === name) value = pair.slice(eq + 1).trim();
  }
  return value;
}

// lastPathSegment is the last segment of a URL's path: a Location's id.
function lastPathSegment(u) {
  u = u.split(/[?#]/)[0].replace(/\/+$/, "");
  return u.slice(u.lastIndexOf("/") + 1);
}
