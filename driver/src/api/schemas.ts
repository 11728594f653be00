/**
 * Shape checks of every remote-API request body (zod). Only structure is checked here; meaning
 * (subnets, options, addresses) is the core's. Unknown extra fields are allowed: newer dockerd
 * versions add some.
 */
import { z } from 'zod';

/**
 * Any such ID works, also names of Object.prototype members ("__proto__", "toString"): the core
 * keeps records in prototype-less containers and looks them up as own properties only.
 */
const dockerId = z
  .string()
  .regex(/^[0-9a-zA-Z_.-]{1,128}$/, 'must be a Docker ID (letters, digits, "_", ".", "-")')
  .refine((id) => !id.startsWith('.'), 'is not a Docker ID (it starts with ".")');

const ipamData = z.object({
  AddressSpace: z.string().optional(),
  Pool: z.string(),
  Gateway: z.string().optional(),
  AuxAddresses: z.record(z.string(), z.string()).nullish(),
});

export const createNetwork = z.object({
  NetworkID: dockerId,
  Options: z.record(z.string(), z.unknown()).nullish(),
  IPv4Data: z.array(ipamData).nullish(),
  IPv6Data: z.array(ipamData).nullish(),
});

export const networkOnly = z.object({ NetworkID: dockerId });

export const endpointRef = z.object({ NetworkID: dockerId, EndpointID: dockerId });

const endpointOptions = z.record(z.string(), z.unknown()).nullish();

export const createEndpoint = endpointRef.extend({
  Interface: z
    .object({
      Address: z.string().optional(),
      AddressIPv6: z.string().optional(),
      MacAddress: z.string().optional(),
    })
    .nullish(),
  Options: endpointOptions,
});

export const join = endpointRef.extend({
  SandboxKey: z.string().min(1).max(4096),
  Options: endpointOptions,
});

export const programExternalConnectivity = endpointRef.extend({ Options: endpointOptions });

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
