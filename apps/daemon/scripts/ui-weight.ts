// `npm run ui:weight -w @distkit/daemon`: the cluster page's weight as the daemon serves it (the
// built dist/ui files, gzip level 9 as the server compresses them). The README's figure comes
// from here, and src/ui/page-server.test.ts fails when the two drift apart.
import { loadUiAssets, pageWeight, uiAssetDir, UI_ASSET_NAMES } from '../src/ui/assets.ts';

const assets = loadUiAssets(uiAssetDir());
if (!assets) {
  console.error('the page is not built: run `npm run build` first');
  process.exit(1);
}
for (const name of UI_ASSET_NAMES) {
  const a = assets.get(name);
  if (a) console.log(`${name.padEnd(11)} ${String(a.body.length).padStart(7)} B  ${String(a.gzip.length).padStart(6)} B gzip`);
}
const { raw, gzip } = pageWeight(assets);
console.log(`page weight: ${(gzip / 1000).toFixed(1)} kB gzip (HTML + JS + CSS; ${(raw / 1000).toFixed(1)} kB uncompressed)`);
