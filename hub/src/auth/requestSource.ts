/**
 * Where a browser says a request comes from. Users' servers share the hub's origin unless
 * ORRERY_USER_ORIGIN is set, so "same origin" is not enough: a state change with the hub's
 * cookie must come from a hub page (a path under /hub/), never from a page of a server under
 * /user/ nor from another site. Browsers send Sec-Fetch-Site, Origin and Referer on their own;
 * a script cannot forge them to another origin, and the hub's pages always send a Referer
 * (their Referrer-Policy is same-origin). Clients that are not browsers send none of these and
 * are not refused here (they are not tricked into anything: the XSRF token still applies).
 */

export interface RequestSource {
  /** The Host header the request was sent to. */
  host: string | undefined;
  secFetchSite: string | undefined;
  origin: string | undefined;
  referer: string | undefined;
}

const HUB_PAGES = /^\/hub(\/|$)/;

/** Why a state-changing request must be refused, or undefined when it may come from a hub page. */
export function refusedSource(source: RequestSource): string | undefined {
  const { host, secFetchSite, origin, referer } = source;
  if (secFetchSite !== undefined && secFetchSite !== 'same-origin')
    return `it came from another site (Sec-Fetch-Site: ${secFetchSite})`;
  if (origin !== undefined && hostOf(origin) !== host)
    return 'it came from another origin (Origin header)';
  if (referer === undefined) {
    // A browser that says where requests come from, but sends no Referer: the page hid it.
    return secFetchSite === undefined ? undefined : 'it came from a page that hid its address';
  }
  let page: URL;
  try {
    page = new URL(referer);
  } catch {
    return 'its Referer is not a URL';
  }
  if (page.host !== host) return 'it came from another origin (Referer header)';
  if (!HUB_PAGES.test(page.pathname)) return "it came from a page that is not the hub's";
  return undefined;
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    // 'null' (sandboxed frames, some redirects) and anything unparsable.
    return undefined;
  }
}
