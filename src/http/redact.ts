// What of a request URL may be logged. Secrets travel as parameters (?apikey=, op=auth's
// ?password=), and a client may spell the name any way the parsers accept (%61pikey, APIKEY,
// apikey[], `+` for a space) or separate parameters with `;`. So names are decoded and normalized
// before they are compared, and the value of anything that looks like a secret is masked.

const SECRET_NAME = /api[-_ ]?key|passw|pwd|token|secret|credential|^pw$|^pin$|^key$|^auth(orization)?$/;

/** %XX decoded where it is valid, the rest left as it is: never throws, whatever the input. */
function lenientDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/** A parameter name as the parsers would read it, lower-cased, without brackets or spaces. */
function normalizeName(raw: string): string {
  let name = raw.replace(/\+/g, ' ');
  // Twice: %2561 is %61 after one decoding, and some frameworks decode again.
  for (let i = 0; i < 2; i++) name = lenientDecode(name);
  return name.toLowerCase().replace(/[\s[\]\u0000-\u001f]/g, '');
}

export function isSecretName(raw: string): boolean {
  return SECRET_NAME.test(normalizeName(raw));
}

/** Does this name=value piece, once decoded, hide a secret parameter (a=1%26apikey%3DKEY)? */
function hidesSecret(part: string): boolean {
  let text = part.replace(/\+/g, ' ');
  for (let i = 0; i < 2; i++) text = lenientDecode(text);
  return text.split(/[&;?]/).some((p) => p.includes('=') && isSecretName(p.slice(0, p.indexOf('='))));
}

function redactParams(params: string): string {
  return params
    .split(/([&;])/)
    .map((part) => {
      if (part === '&' || part === ';' || part === '') return part;
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      if (eq !== -1 && isSecretName(name)) return `${name}=[redacted]`;
      return hidesSecret(part) ? '[redacted]' : part;
    })
    .join('');
}

/** The URL with the value of every secret parameter masked, in the query and in ;matrix params. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  // A path segment may carry ;name=value parameters some servers read.
  const semi = path.indexOf(';');
  const safePath = semi === -1 ? path : path.slice(0, semi) + redactParams(path.slice(semi));
  return q === -1 ? safePath : `${safePath}?${redactParams(query)}`;
}
