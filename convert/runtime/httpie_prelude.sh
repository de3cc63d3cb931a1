if [ -n "${APITAPE_RESPONSES:-}" ]; then
  out=$APITAPE_RESPONSES
  (umask 077 && mkdir -p "$out")
  chmod 700 "$out"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/apitape.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi
# The answers hold live tokens: files only the user can read.
umask 077
# No configuration of the user's: its default options would change what
# is sent.
export HTTPIE_CONFIG_DIR="$out/.httpie"
sent=0
differ=()

# call N LABEL RECORDED_STATUS BODY_FILE HTTP_ARGS... sends entry N (its body
# read from BODY_FILE unless that is empty, or given with --raw), keeps the answer in
# $out/resp-N.body and $out/resp-N.headers, and stops the script when the
# call fails: no answer, or an HTTP error the recording did not have.
call() {
  local n=$1 label=$2 want=$3 body=$4 code
  shift 4
  local raw="$out/resp-$n.raw"
  local opts=(--print=hb --pretty=none --path-as-is --ignore-netrc)
  if [ -n "$body" ]; then
    http "${opts[@]}" "$@" <"$body" >"$raw" || code=fail
  else
    http --ignore-stdin "${opts[@]}" "$@" >"$raw" || code=fail
  fi
  if [ "${code:-}" = fail ]; then
    echo "apitape: call $n ($label) failed: no answer from the server" >&2
    exit 1
  fi
  split_answer "$raw" "$out/resp-$n.headers" "$out/resp-$n.body"
  rm -f "$raw"
  code=$(head -n 1 "$out/resp-$n.headers" | cut -d ' ' -f 2)
  sent=$((sent + 1))
  if [ "$code" -ge 400 ] && [ "${code:0:1}" != "${want:0:1}" ]; then
    echo "apitape: call $n ($label) failed: HTTP $code (recorded $want)" >&2
    show_answer "$out/resp-$n.body"
    exit 1
  fi
  if [ "$want" != 0 ] && [ "$code" != "$want" ]; then
    differ+=("call $n ($label) $code, recorded $want")
  fi
}

# split_answer RAW HEADERS BODY cuts what http --print=hb wrote into the
# status line and headers, and the body byte for byte.
split_answer() {
  local LC_ALL=C line size=0
  : >"$2"
  while IFS= read -r line; do
    size=$((size + ${#line} + 1))
    line=${line%$'\r'}
    if [ -z "$line" ]; then break; fi
    printf '%s\r\n' "$line" >>"$2"
  done <"$1"
  tail -c +$((size + 1)) "$1" >"$3"
}

# show_answer FILE prints the first 2 KiB of an answer, every secret the
# script knows masked.
show_answer() {
  local text v val size
  size=$(wc -c <"$1")
  text=$(head -c 8192 "$1" | tr -d '\000')
  for v in "${secret_vars[@]}"; do
    val=${!v:-}
    for val in "$val" "${val##* }"; do
      if [ "${#val}" -ge 6 ]; then text=${text//"$val"/***}; fi
    done
  done
  if [ "$size" -gt 2048 ]; then size="$size bytes, the first 2 KiB"; else size="$size bytes"; fi
  echo "apitape: the answer ($size; secrets masked):" >&2
  printf '%s\n' "${text:0:2048}" >&2
  if [ -n "${APITAPE_RESPONSES:-}" ]; then echo "apitape: the whole answer is in $1" >&2; fi
}
