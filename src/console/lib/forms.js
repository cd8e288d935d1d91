// Form helpers. Client numbers are checked before they go anywhere, so a name typed into the
// wrong box never reaches a URL.

export const clientNumberPattern = '[A-Za-z0-9\\-]{1,10}';
export const clientNumberHint = 'A client number is 1 to 10 letters, digits or dashes (no names).';

/** The named fields of a submitted form, as strings, trimmed. */
export function formValues(event) {
  event.preventDefault();
  const data = new FormData(event.currentTarget);
  return Object.fromEntries([...data.keys()].map((key) => {
    const values = data.getAll(key).map((value) => String(value).trim());
    return [key, values.length > 1 ? values : values[0]];
  }));
}
