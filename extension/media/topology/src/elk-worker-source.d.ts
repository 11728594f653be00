/** ELK's worker script as text (scripts/bundle-webview.js embeds elkjs/lib/elk-worker.min.js). */
declare module 'elk-worker-source' {
  const source: string;
  export default source;
}
