// The URLs of a login method, built from the configured public URL (never a request's Host
// header): what campus IT registers at the IdP, and what modules put in their requests.
export interface MethodUrls {
  /** The method's start page: the login page's button links here. */
  start: string;
  /** OIDC and social redirect URI, CAS service URL. */
  callback: string;
  /** SAML SP metadata; its URL is also the SP entity id. */
  metadata: string;
  /** SAML assertion consumer service (HTTP-POST). */
  acs: string;
}

export function methodUrls(publicUrl: string, institutionCode: string, methodCode: string): MethodUrls {
  const base = `${publicUrl.replace(/\/+$/, '')}/auth/${encodeURIComponent(institutionCode)}`;
  const code = encodeURIComponent(methodCode);
  return {
    start: `${base}/login/${code}`,
    callback: `${base}/login/${code}/callback`,
    metadata: `${base}/saml/${code}/metadata`,
    acs: `${base}/saml/${code}/acs`,
  };
}
