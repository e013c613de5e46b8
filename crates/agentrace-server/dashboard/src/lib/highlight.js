// Where a search's words are in a text: the parts to show, the matches marked. Pure (tested
// with node --test); the words come from the server (`highlight` of a span asked with `q`),
// which parsed the query.

/**
 * `text` cut into parts, each occurrence of `words` (lower-cased) marked, whatever its case.
 * A text whose lower case is not as long as it (a few scripts) is left unmarked rather than
 * marked in the wrong place.
 * @param {string} text
 * @param {readonly string[]} words
 * @returns {{ text: string, match: boolean }[]}
 */
export function highlight(text, words) {
  const lower = text.toLowerCase();
  if (!words.length || lower.length !== text.length) return [{ text, match: false }];
  /** @type {[number, number][]} */
  const found = [];
  for (const word of words) {
    if (!word) continue;
    for (let at = lower.indexOf(word); at !== -1; at = lower.indexOf(word, at + word.length)) {
      found.push([at, at + word.length]);
    }
  }
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  /** @type {{ text: string, match: boolean }[]} */
  const parts = [];
  let last = 0;
  for (const [start, end] of found) {
    if (start < last) continue;
    if (start > last) parts.push({ text: text.slice(last, start), match: false });
    parts.push({ text: text.slice(start, end), match: true });
    last = end;
  }
  if (last < text.length || !parts.length) parts.push({ text: text.slice(last), match: false });
  return parts;
}
