// The page's files, built into the package by `npm run build` (tsup writes dist/ui/: index.html,
// app.js, app.css, icon.svg from apps/daemon/ui/). Read once at start, kept gzipped in memory; nothing is
// fetched at run time and no file outside that folder is ever served.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface UiAsset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}

export type UiAssetName = 'index.html' | 'app.js' | 'app.css' | 'icon.svg';

export const UI_ASSET_NAMES: readonly UiAssetName[] = ['index.html', 'app.js', 'app.css', 'icon.svg'];

const TYPES: Readonly<Record<UiAssetName, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

/** Where the built page is: beside the bundle (dist/ui), or dist/ui seen from src/ui when run from source. */
export function uiAssetDir(): string | null {
  for (const relative of ['./ui/', '../../dist/ui/']) {
    try {
      const dir = fileURLToPath(new URL(relative, import.meta.url));
      if (existsSync(`${dir}index.html`)) return dir;
    } catch {
      // No import.meta.url (the CommonJS build): no page.
    }
  }
  return null;
}

/** The page's files, or null when the package was not built (the daemon then serves no page). */
export function loadUiAssets(dir: string | null = uiAssetDir()): ReadonlyMap<UiAssetName, UiAsset> | null {
  if (dir === null) return null;
  const assets = new Map<UiAssetName, UiAsset>();
  try {
    for (const name of UI_ASSET_NAMES) {
      const body = readFileSync(`${dir}${name}`);
      assets.set(name, { type: TYPES[name], body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
    }
  } catch {
    return null;
  }
  return assets;
}

/** Bytes on the wire for the page (HTML + JS + CSS, gzip as served; the icon aside): the README's page weight. */
export function pageWeight(assets: ReadonlyMap<UiAssetName, UiAsset>): { raw: number; gzip: number } {
  let raw = 0;
  let gzip = 0;
  for (const name of ['index.html', 'app.js', 'app.css'] as const) {
    const a = assets.get(name) as UiAsset;
    raw += a.body.length;
    gzip += a.gzip.length;
  }
  return { raw, gzip };
}
