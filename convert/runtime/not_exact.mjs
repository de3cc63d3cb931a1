// What fetch cannot send as recorded (everything else is sent byte for byte):
//   - Node: undici writes "host:" and "content-length:" in lower case, computes
//     Content-Length, and always adds "connection: keep-alive" ("close" for a
//     HEAD); an Expect
//     header is not sent (undici refuses it).
//   - A browser: it sends its own Cookie, Host, User-Agent, Accept-Encoding,
//     Origin, Referer and Sec-* headers, writes header names in lower case,
//     joins repeated headers with ", ", normalises the URL, and refuses
//     TRACE, TRACK and CONNECT; CORS decides what may be sent at all.
