/**
 * Turning a request body that does not fit its schema into a sentence for the user, and the
 * remote IPAM API's request schemas. The network driver's request schemas are in
 * shared/src/remote-api.ts, where the request types are inferred from.
 */
import { z } from 'zod';

/** Turns zod's issues into one sentence naming the field and what is expected. */
export function describeIssues(method: string, err: z.ZodError): string {
  const parts = err.issues.slice(0, 3).map((i) => {
    const where = i.path.length > 0 ? i.path.join('.') : 'body';
    return `${where}: ${i.message}`;
  });
  return `${method}: invalid request (${parts.join('; ')})`;
}

// ---- remote IPAM (libnetwork ipams/remote/api) ----

export const requestPool = z.object({
  AddressSpace: z.string().optional(),
  Pool: z.string().optional(),
  SubPool: z.string().optional(),
  Options: z.record(z.string(), z.string()).nullish(),
  V6: z.boolean().optional(),
});

export const releasePool = z.object({ PoolID: z.string().min(1) });

export const requestAddress = z.object({
  PoolID: z.string().min(1),
  Address: z.string().optional(),
  Options: z.record(z.string(), z.string()).nullish(),
});

export const releaseAddress = z.object({ PoolID: z.string().min(1), Address: z.string().min(1) });
