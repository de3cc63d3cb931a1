# What requests cannot send as recorded (everything else is sent byte for byte,
# through the ExactAdapter below):
#   - Content-Length is computed (Content-Length: 0 on a bodiless POST, PUT or PATCH);
#   - with no recorded Host header, http.client sends the Host of BASE_URL.
