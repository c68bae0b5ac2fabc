// Server-rendered pages without a template engine: a tagged template that escapes every
// interpolated value unless it is already Html. Pages work without JavaScript.

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

function render(v: unknown): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new Html(out);
}

export interface PageOptions {
  title: string;
  institutionName: string;
  body: Html;
  lang?: string;
}

// One small stylesheet inline: the pages must work behind any proxy with no asset routes.
const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem 2.25rem;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.35rem;margin:0 0 .25rem}p.inst{color:#555;margin:0 0 1.5rem}
label{display:block;font-weight:600;margin:1rem 0 .35rem}
input[type=text],input[type=password],input[type=email]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #8a8f98;border-radius:4px;font-size:1rem}
input:focus,button:focus,a:focus{outline:3px solid #2563eb;outline-offset:2px}
button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:4px;background:#1d4ed8;color:#fff;cursor:pointer}
.error{background:#fde8e8;border-left:4px solid #b91c1c;padding:.75rem;margin:1rem 0}
.notice{background:#e8f1fd;border-left:4px solid #1d4ed8;padding:.75rem;margin:1rem 0}
.links{margin-top:1.25rem;font-size:.95rem}.hint{color:#555;font-size:.9rem}
a.method{display:block;margin-top:1rem;padding:.7rem;text-align:center;border-radius:4px;background:#1d4ed8;color:#fff;text-decoration:none}
h2{font-size:1.05rem;margin:1.75rem 0 0;padding-top:1rem;border-top:1px solid #ddd}`;

export function page(o: PageOptions): string {
  return html`<!doctype html>
<html lang="${o.lang ?? 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${o.title} · ${o.institutionName}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<main>
<h1>${o.title}</h1>
<p class="inst">${o.institutionName}</p>
${o.body}
</main>
</body>
</html>`.value;
}

/** An error or notice placed where screen readers announce it. */
export function message(kind: 'error' | 'notice', text: string | undefined): Html {
  if (!text) return html``;
  return kind === 'error' ? html`<div class="error" role="alert">${text}</div>` : html`<div class="notice" role="status">${text}</div>`;
}
