if [ "$sent" -eq 1 ]; then calls=call; else calls=calls; fi
if [ "${#differ[@]}" -eq 0 ]; then
  echo "$sent $calls sent, every status as recorded"
else
  echo "$sent $calls sent, ${#differ[@]} with another status than recorded: $(IFS=';'; echo "${differ[*]}")"
fi
