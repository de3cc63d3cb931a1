# from_json N LABEL NAME SOURCE CHECK FILTER prints the value NAME that the
# answer to call N holds at SOURCE (jq -er FILTER); from_header and
# from_cookie take it from the answer's headers (HEADER [last-segment] and
# COOKIE instead of FILTER). Each stops the script when the answer has no
# such value, or one that later calls cannot send as recorded: a control
# character, or with CHECK json (it goes inside a JSON string) a quote or
# a backslash. No value is ever printed on the terminal.
from_json() {
  produced "$1" "$2" "$3" "$4" "$5" "$(jq -er "$6" <"$out/resp-$1.body" 2>/dev/null)"
}

from_header() {
  local value
  value=$(tr -d '\r' <"$out/resp-$1.headers" | awk -v name="$6" '
    /^HTTP\// { value = ""; found = 0; next }
    !found && index(tolower($0), tolower(name) ":") == 1 {
      value = substr($0, length(name) + 2); sub(/^[ \t]+/, "", value); sub(/[ \t]+$/, "", value); found = 1
    }
    END { print value }')
  if [ "${7:-}" = last-segment ]; then
    value=${value%%[?#]*}
    while [ "${value%/}" != "$value" ]; do value=${value%/}; done
    value=${value##*/}
  fi
  produced "$1" "$2" "$3" "$4" "$5" "$value"
}

from_cookie() {
  local value
  value=$(tr -d '\r' <"$out/resp-$1.headers" | awk -v name="$6" -v part="${7:-}" '
    function shape(s) { gsub(/[0-9]+/, "#", s); return s }
    /^HTTP\// { value = ""; exact = 0 }
    index(tolower($0), "set-cookie:") == 1 {
      pair = substr($0, 12); sub(/;.*/, "", pair); eq = index(pair, "=")
      if (eq == 0) next
      k = substr(pair, 1, eq - 1); v = substr(pair, eq + 1)
      gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
      if (part != "pair") { if (k == name) value = v; next }
      # name=value of the cookie of this name, or else of one whose name
      # differs only in its digits (a port).
      if (k == name) { value = k "=" v; exact = 1 }
      else if (!exact && v != "" && shape(k) == shape(name)) value = k "=" v
    }
    END { print value }')
  produced "$1" "$2" "$3" "$4" "$5" "$value"
}

# in_url N LABEL NAME SOURCE VALUE stops the script when VALUE, which a
# later call sends as it is in its URL, holds a space or a #: curl refuses
# such a URL, and HTTPie cuts it at the #.
in_url() {
  case $5 in
  *[\ \#]*)
    echo "apitape: call $1 ($2): the $4 for $3 holds a space or a #, which the URL of a later call cannot carry as recorded" >&2
    exit 1
    ;;
  esac
}

produced() {
  if [ -z "$6" ]; then
    echo "apitape: call $1 ($2) produced no $4 for $3" >&2
    show_answer "$1"
    exit 1
  fi
  case $6 in
  *[[:cntrl:]]*)
    echo "apitape: call $1 ($2): the $4 for $3 holds a control character, which later calls cannot send" >&2
    exit 1
    ;;
  *[\"\\]*)
    if [ "$5" = json ]; then
      echo "apitape: call $1 ($2): the $4 for $3 holds a quote or a backslash, which the JSON body of a later call cannot carry as recorded" >&2
      exit 1
    fi
    ;;
  esac
  printf '%s\n' "$6"
}
