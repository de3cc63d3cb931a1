# uri VALUE prints VALUE percent-encoded as the recording had it (jq's @uri).
uri() {
  printf '%s' "$1" | jq -Rrs @uri
}
