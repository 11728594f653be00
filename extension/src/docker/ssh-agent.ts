/**
 * ssh:// Docker endpoints the way the docker CLI reaches them: each connection is the user's own
 * `ssh [-l user] [-p port] host -- docker system dial-stdio` (their ~/.ssh/config, keys and
 * agent apply), whose stdin/stdout carry the engine's HTTP API. An http.Agent, so dockerode talks
 * plain HTTP over it.
 */
import { spawn } from 'child_process';
import { Duplex } from 'stream';
import * as http from 'http';
import type { Socket } from 'net';

export interface DialStdioTarget {
  host: string;
  port?: number;
  username?: string;
}

/** The ssh command line for a target (also what the log shows). */
export function sshArgs(t: DialStdioTarget): string[] {
  if (!/^[A-Za-z0-9._:[\]-]+$/.test(t.host)) throw new Error(`ssh host "${t.host}" has characters ssh would not take as a host name`);
  const args = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'];
  if (t.username) args.push('-l', t.username);
  if (t.port) args.push('-p', String(t.port));
  args.push('--', t.host, 'docker', 'system', 'dial-stdio');
  return args;
}

export class DialStdioAgent extends http.Agent {
  /** `command` is `ssh` (tests substitute a local stand-in speaking the same stdio protocol). */
  constructor(private readonly argv: string[], private readonly command = 'ssh') {
    super({ keepAlive: false });
  }

  /** Node's Agent uses the returned socket (calling back as well would hand it over twice). */
  override createConnection(): Socket {
    const child = spawn(this.command, this.argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-2000);
    });
    const duplex = new Duplex({
      write(chunk: Buffer, _enc, done) {
        child.stdin.write(chunk, done);
      },
      final(done) {
        child.stdin.end();
        done();
      },
      read() {
        child.stdout.resume();
      },
      destroy(err, done) {
        if (child.exitCode === null) child.kill();
        done(err);
      },
    });
    child.stdout.on('data', (b: Buffer) => {
      if (!duplex.push(b)) child.stdout.pause();
    });
    child.on('error', (e) => duplex.destroy(new Error(`could not run ${this.command}: ${e.message}`)));
    // The end of the stream is decided when the process is gone (its stdio closed): a failing ssh
    // is an error naming it and what it said, not a bare "socket hang up".
    child.on('close', (code) => {
      if (code) duplex.destroy(new Error(`${this.command} ${this.argv.join(' ')} exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`));
      else duplex.push(null);
    });
    // http.ClientRequest expects a net.Socket; these are the members it uses beyond a Duplex.
    const socket = Object.assign(duplex, { setTimeout: () => socket, setNoDelay: () => socket, setKeepAlive: () => socket, ref: () => socket, unref: () => socket }) as unknown as Socket;
    return socket;
  }
}
