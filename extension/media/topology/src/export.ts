/** The picture as a standalone SVG (theme colours resolved) and as a PNG drawn from it. */
import { SVG_DEFS } from './render';
import { SVG_CSS, SVG_VARS } from './svg-style';

export function standaloneSvg(markup: string, width: number, height: number): string {
  const style = getComputedStyle(document.documentElement);
  const vars = new Map<string, string>(SVG_VARS.map((v) => [v, style.getPropertyValue(v).trim()]));
  const css = SVG_CSS.replace(/var\((--tt-[a-z-]+)\)/g, (_m, v: string) => vars.get(v) || 'currentColor');
  const bg = vars.get('--tt-bg') || '#ffffff';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<style>${css}</style>${SVG_DEFS}<rect width="${width}" height="${height}" fill="${bg}"/>${markup}</svg>`
  );
}

/** Canvases have a size limit (about 16k px a side in Chromium): big pictures are scaled down. */
export async function svgToPngBase64(svg: string, width: number, height: number): Promise<string> {
  const scale = Math.min(2, 16000 / Math.max(width, height, 1));
  const img = new Image();
  img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}
