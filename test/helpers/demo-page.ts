/** Debian's headless Chromium (never a downloaded browser) with the demo page open in it, its console errors collected. */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = { executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] };

export interface DemoPage {
  browser: Browser;
  page: Page;
  /** Console errors and uncaught page errors, as they happen. */
  consoleErrors: string[];
}

/** Launches Chromium and opens the demo page of the server at `baseUrl`, waiting until it is ready. */
export async function openDemoPage(baseUrl: string, width = 1000): Promise<DemoPage> {
  const browser = await chromium.launch(CHROMIUM);
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`${baseUrl}/`);
  await page.waitForSelector('body[data-ready=true]');
  return { browser, page, consoleErrors };
}
