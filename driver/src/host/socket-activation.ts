/** systemd socket activation (sd_listen_fds), without libsystemd. */

/**
 * The plugin socket systemd opened for us (socket activation: LISTEN_PID is this process and
 * LISTEN_FDS counts the sockets from fd 3), so dockerd can connect before the driver is up.
 */
export function activatedSocketFd(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | undefined {
  if (env.LISTEN_PID !== String(pid) || !env.LISTEN_FDS) return undefined;
  const n = Number(env.LISTEN_FDS);
  if (!Number.isInteger(n) || n < 1) return undefined;
  if (n > 1) throw new Error(`socket activation passed ${n} sockets; tsnet takes one, the plugin socket (ListenStream= once in tsnet.socket)`);
  return 3;
}
