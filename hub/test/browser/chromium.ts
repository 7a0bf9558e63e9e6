/**
 * The browser the hub's Chromium tests launch: Debian's chromium (scripts/provision-lab.sh),
 * never a downloaded one, with the flags this platform's browser tests use everywhere.
 */
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the tests leave screenshots and traces. */
export const ARTIFACTS = 'test-results/hub';
