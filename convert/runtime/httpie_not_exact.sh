# What HTTPie cannot send as recorded (the rest is sent byte for byte):
#   - the URL is re-encoded by requests (upper-case %xx; {}, [], |, spaces and
#     non-ASCII characters percent-encoded); dot segments are kept (--path-as-is);
#   - the method is sent in upper case;
#   - a User-Agent (python-urllib3/…) and Accept-Encoding: identity when the
#     recording had none; HTTPie's own Accept, Connection and Content-Type are
#     removed;
#   - HTTPie's defaults (User-Agent, Accept-Encoding, Accept, Connection,
#     Content-Type) come first when the recording sets them, so the order of
#     header lines differs there; Content-Length is computed;
#   - a backslash before :, ;, = or @ in a header value is dropped (HTTPie's
#     escape character), and a header value taken from a variable must not start
#     with = or @.
