// Example profiles (samples.json beside the page): realistic businesses to load with one click.

let loading = null;

/** {profiles: [{id, title, description, profile}], comparisons: [{id, title, description, baseline, proposed}]} */
export function samples() {
  if (!loading) {
    loading = fetch(new URL("samples.json", document.baseURI), { cache: "no-cache" })
      .then((r) => (r.ok ? r.json() : { profiles: [], comparisons: [] }))
      .catch(() => ({ profiles: [], comparisons: [] }));
  }
  return loading;
}

/** A profile as the officer sees it in the text area. */
export function asText(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}
