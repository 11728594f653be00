/**
 * Context for figure 4: what one crash-safe write costs on this disk right now (the same
 * pattern the driver's store uses: write a temporary file, fsync, rename, fsync the directory).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { median, nowMs } from './util';

export async function durableWriteMs(dir: string, bytes: number, count = 30): Promise<number> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'probe.json');
  const text = 'x'.repeat(bytes);
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = nowMs();
      const fh = await fs.promises.open(`${file}.tmp`, 'w', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.promises.rename(`${file}.tmp`, file);
      const dh = await fs.promises.open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
      times.push(nowMs() - started);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return median(times);
}
