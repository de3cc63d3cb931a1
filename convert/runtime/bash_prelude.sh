umask 077
finished=0
sent=0
differ=()
if [ -n "${APITAPE_RESPONSES:-}" ]; then
  out=$APITAPE_RESPONSES
  mkdir -p "$out"
  chmod 700 "$out"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/apitape.XXXXXX")
  # Kept when a call failed: its answer is what the user needs to read.
  trap 'if [ "$finished" = 1 ]; then rm -rf "$out"; fi' EXIT
fi

# masked prints its input with the value of every variable in secrets
# replaced by ***.
masked() {
  local text v value
  text=$(tr -d '\000')
  # (An empty array under set -u stops bash before 4.4: hence the +.)
  for v in ${secrets[@]+"${secrets[@]}"}; do
    value=${!v:-}
    if [ "${#value}" -ge 4 ]; then
      text=${text//"$value"/***}
    fi
  done
  printf '%s\n' "$text"
}

# show_answer N prints the start of the answer to call N, secrets masked,
# and where the whole answer is.
show_answer() {
  echo "apitape: the answer (first 2 KiB, secrets masked):" >&2
  head -c 2048 "$out/resp-$1.body" | masked >&2
  echo "apitape: the whole answer is in $out/resp-$1.body (headers: $out/resp-$1.headers)" >&2
}

# call N LABEL RECORDED_STATUS CURL_ARGS... sends entry N, keeps the answer in
# $out/resp-N.body and $out/resp-N.headers, and stops the script when the
# call fails: no answer, or an HTTP error the recording did not have.
call() {
  local n=$1 label=$2 want=$3 code
  shift 3
  : >"$out/resp-$n.body"
  if ! code=$(curl --silent --show-error --path-as-is --globoff \
    --output "$out/resp-$n.body" --dump-header "$out/resp-$n.headers" \
    --write-out '%{http_code}' "$@"); then
    echo "apitape: call $n ($label) failed: no answer from the server" >&2
    exit 1
  fi
  sent=$((sent + 1))
  if [ "$code" -ge 400 ] && [ "${code:0:1}" != "${want:0:1}" ]; then
    echo "apitape: call $n ($label) failed: HTTP $code (recorded $want)" >&2
    show_answer "$n"
    exit 1
  fi
  if [ "$code" != "$want" ]; then
    differ+=("$n ($label): $code, recorded $want")
  fi
}
