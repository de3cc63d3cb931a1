// The functions the steps of a steps file call in the page (run.go's
// jsCall, which passes the arguments JSON-encoded).

// clear empties a field through the native setter (frameworks such as
// React replace the property) and says so with an input event.
function clear(sel) {
  const el = document.querySelector(sel);
  if (!el) return;
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  const setter = Object.getOwnPropertyDescriptor(proto, 'value');
  if (setter && setter.set && (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement)) {
    setter.set.call(el, '');
  } else if (el.isContentEditable) {
    el.textContent = '';
  }
  el.dispatchEvent(new Event('input', {bubbles: true}));
}

// changed says that the edit of a field is done.
function changed(sel) {
  const el = document.querySelector(sel);
  if (el) el.dispatchEvent(new Event('change', {bubbles: true}));
}

// select picks the option of a <select> by value, or else by label; it
// returns what went wrong, or "".
function select(sel, value) {
  const el = document.querySelector(sel);
  if (!el) return 'no element matches';
  if (!(el instanceof HTMLSelectElement)) return 'not a <select> element';
  const opt = Array.from(el.options).find(o => o.value === value) || Array.from(el.options).find(o => o.text.trim() === value);
  if (!opt) return 'no option with that value or label';
  el.value = opt.value;
  el.dispatchEvent(new Event('input', {bubbles: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
  return '';
}

// hasText reports whether the element shows text.
function hasText(sel, text) {
  const el = document.querySelector(sel);
  return !!el && (el.innerText || el.textContent || '').includes(text);
}
