/**
 * The container forms (connect with a static address and aliases, run a container in another's
 * namespace): validators return undefined when the text is acceptable, or the message shown
 * under the input. Pure, no vscode import.
 */
import { ipFamily, normalizeIP, parseCidr } from '@tsnet/shared';
import type { NetworkModel } from '../docker/model-types';
import { hostAddressError, NAME_PATTERN } from './form-rules';

/** Static address for connect: optional; must lie inside one of the network's subnets. */
export function validateStaticIp(text: string, network: Pick<NetworkModel, 'name' | 'subnets'>): string | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  const fam = ipFamily(s);
  if (!fam) return `"${s}" is not an IP address.`;
  const subnets = network.subnets.filter((x) => x.family === fam);
  if (subnets.length === 0) return `Network "${network.name}" has no IPv${fam} subnet.`;
  let last: string | undefined;
  for (const sub of subnets) {
    const c = parseCidr(sub.subnet);
    if (!c) continue;
    last = hostAddressError('Address', s, c);
    if (!last) {
      if (sub.gateway && normalizeIP(sub.gateway) === normalizeIP(s)) return `${s} is the gateway of "${network.name}".`;
      return undefined;
    }
  }
  return last;
}

const ALIAS_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;

export function parseAliases(text: string): { aliases: string[]; error?: string } {
  const aliases = text.split(/[\s,]+/).filter((a) => a !== '');
  const bad = aliases.find((a) => !ALIAS_PATTERN.test(a));
  return bad ? { aliases, error: `"${bad}" is not a valid alias: letters, digits, "_", "." and "-".` } : { aliases };
}

/** Splits a command line like a POSIX shell would for words and quotes (no expansions). */
export function splitCommand(text: string): { argv: string[]; error?: string } {
  const argv: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) return { argv, error: `Unclosed ${quote} quote.` };
  if (inWord) argv.push(cur);
  return { argv };
}

export function validateImage(text: string): string | undefined {
  const s = text.trim();
  if (s === '') return 'Enter an image, e.g. busybox:latest.';
  if (/\s/.test(s)) return 'An image reference has no spaces.';
  return /^[a-z0-9]([a-z0-9._/:@-]*)$/i.test(s) ? undefined : `"${s}" is not an image reference.`;
}

export function validateContainerName(text: string): string | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  return NAME_PATTERN.test(s) ? undefined : `"${s}" is not a valid container name: letters, digits, "_", "." or "-", starting with a letter or digit.`;
}
