/** An error's message with any `token=…` (Jupyter puts it in WebSocket URLs) blanked out. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/(token=)[^&\s'"]+/gi, '$1…').replace(/(token )[^\s'"]+/gi, '$1…');
}
