/**
 * Escaping for the Markdown tooltips: network names, labels, options, image names and aliases
 * come from whoever created the object, so none of it may become links, images, HTML or
 * formatting in a tooltip.
 */

/** Text shown as is: every Markdown/HTML metacharacter backslash-escaped, line breaks flattened. */
export function mdText(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/[\\`*_{}[\]()#+\-.!|<>&~"'=:]/g, (c) => `\\${c}`);
}

/**
 * Inline code holding `s` verbatim: the fence is one backtick longer than the longest run inside
 * (CommonMark), with a space of padding when `s` starts or ends with a backtick.
 */
export function mdCode(s: string): string {
  const flat = s.replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || flat === '' ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}
