// Real browsers from Debian for the page tests: Chromium (/usr/bin/chromium, over the DevTools
// protocol) and Firefox ESR (/usr/bin/firefox-esr, over WebDriver BiDi), both driven by
// puppeteer-core, which never downloads a browser. .ci/run installs the two when missing.
// Headless, each on a fresh profile, with the background connections (updates, sync, safe
// browsing, telemetry, captive-portal checks) turned off, and every non-loopback request sent to
// a dead proxy on 127.0.0.1:9, so nothing can leave the machine even if a browser tries.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser as PuppeteerBrowser, type LaunchOptions } from 'puppeteer-core';

export type BrowserName = 'chromium' | 'firefox';

export const BROWSER_PATHS: Readonly<Record<BrowserName, string>> = {
  chromium: process.env['DISTKIT_CHROMIUM'] ?? '/usr/bin/chromium',
  firefox: process.env['DISTKIT_FIREFOX'] ?? '/usr/bin/firefox-esr',
};

const DEAD_PROXY = '127.0.0.1:9';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--proxy-server=http://${DEAD_PROXY}`,
];

// Firefox's own connections, off (puppeteer sets many of these too; these are the ones that matter here).
const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.trr.mode': 5,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'extensions.update.enabled': false,
  'services.settings.server': `http://${DEAD_PROXY}`,
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
};

export interface Browser {
  readonly name: BrowserName;
  readonly browser: PuppeteerBrowser;
  close(): Promise<void>;
}

export async function launchBrowser(name: BrowserName): Promise<Browser> {
  const executablePath = BROWSER_PATHS[name];
  if (!existsSync(executablePath)) {
    throw new Error(`no ${name} at ${executablePath}: apt-get install ${name === 'chromium' ? 'chromium' : 'firefox-esr'} (.ci/run does), or set DISTKIT_${name.toUpperCase()}`);
  }
  const userDataDir = await mkdtemp(join(tmpdir(), `distkit-${name}-`));
  const common = { executablePath, userDataDir, headless: true, defaultViewport: { width: 1280, height: 860 }, timeout: 60_000 } satisfies LaunchOptions;
  const browser = await puppeteer.launch(
    name === 'chromium' ? { ...common, browser: 'chrome', args: CHROMIUM_FLAGS } : { ...common, browser: 'firefox', extraPrefsFirefox: { ...FIREFOX_PREFS } },
  );
  return {
    name,
    browser,
    async close() {
      await browser.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
