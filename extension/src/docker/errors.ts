/** Docker's own words from a failed dockerode call. */

/** The message of an error from dockerode (Docker's own words), without the HTTP wrapper. */
export function dockerErrorMessage(err: unknown): string {
  const e = err as { json?: { message?: string } | string; reason?: string; message?: string; statusCode?: number };
  if (e && typeof e.json === 'object' && e.json?.message) return e.json.message;
  if (e && typeof e.json === 'string' && e.json.trim()) {
    try {
      const parsed = JSON.parse(e.json) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return e.json.trim();
    }
  }
  const msg = e?.message ?? String(err);
  return msg.replace(/^\(HTTP code \d+\)\s*[a-z ]*-\s*/i, '').trim();
}
